/** pg-boss 10.4: `insert` to fill, `fetch` + `complete` loops to drain, as its serverless docs show. */
import PgBoss from 'pg-boss';
import { counted } from '../roundTrips.ts';
import { type DrainRun, expectAll, runTimeoutMs, withTimeout } from './types.ts';

const QUEUE = 'bench';
const CHUNK = 1000;
/** Maintenance and cron off: a drain invocation does neither (pg-boss's serverless advice). */
const STATELESS = { supervise: false, schedule: false } as const;

export async function fillPgBoss(url: string, n: number): Promise<void> {
  const boss = new PgBoss({ connectionString: url, max: 2, ...STATELESS });
  boss.on('error', () => {});
  await boss.start();
  try {
    await boss.createQueue(QUEUE);
    for (let i = 0; i < n; i += CHUNK) {
      await boss.insert(Array.from({ length: Math.min(CHUNK, n - i) }, (_, k) => ({ name: QUEUE, data: { i: i + k } })));
    }
    await boss.getDb().executeSql('VACUUM ANALYZE', []);
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

export interface PgBossOptions {
  batch: number;
  /** fetch+complete loops running at once. */
  concurrency: number;
}

export async function runPgBoss(url: string, queued: number, o: PgBossOptions): Promise<DrainRun> {
  const boss = new PgBoss({ connectionString: url, max: o.concurrency + 1, migrate: false, ...STATELESS });
  boss.on('error', () => {});
  await boss.start();
  try {
    const db = boss.getDb();
    await Promise.all(Array.from({ length: o.concurrency + 1 }, () => db.executeSql('SELECT 1', [])));
    const loop = async () => {
      let done = 0;
      for (let step = 0; step <= queued; step++) {
        const jobs = await boss.fetch(QUEUE, { batchSize: o.batch });
        if (jobs.length === 0) break;
        for (const _job of jobs) {
          // The no-op handler.
        }
        await boss.complete(QUEUE, jobs.map((j) => j.id));
        done += jobs.length;
      }
      return done;
    };
    const started = performance.now();
    const { value, roundTrips } = await counted(() =>
      withTimeout('pg-boss', Promise.all(Array.from({ length: o.concurrency }, loop)), runTimeoutMs(queued)),
    );
    const ms = performance.now() - started;
    const tasks = value.reduce((a, b) => a + b, 0);
    expectAll('pg-boss', tasks, queued);
    return { tasks, ms, roundTrips };
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}
