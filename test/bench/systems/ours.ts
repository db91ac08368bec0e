/** This project: enqueueMany to fill, `drain()` invocations to empty the queue. */
import { pgDb } from '../../../src/db/pg.ts';
import { neonNodePoolDb } from '../../../src/db/neon-node.ts';
import type { Db } from '../../../src/db/types.ts';
import { drain } from '../../../src/drain.ts';
import { enqueueMany } from '../../../src/enqueue.ts';
import { silentLogger } from '../../../src/logger.ts';
import { type MigrateOptions, migrate } from '../../../src/migrate.ts';
import { TaskRegistry, defineTask } from '../../../src/tasks/registry.ts';
import { backendCpuMs, databaseOf } from '../cpu.ts';
import { counted } from '../roundTrips.ts';
import { type DrainRun, expectAll, withTimeout } from './types.ts';

export type OurDriver = 'pg' | 'neon-ws';

export const NOOP_PATH = 'bench.noop';
const registry = new TaskRegistry([defineTask({ path: NOOP_PATH, handler: () => undefined })]);
const ENQUEUE_CHUNK = 1000;

export function openOurs(url: string, driver: OurDriver, max: number, wsProxy?: string, preparedStatements?: boolean): Db {
  if (driver === 'pg') return pgDb({ connectionString: url, max, preparedStatements });
  if (!wsProxy) throw new Error('the neon-ws driver needs the local proxy');
  return neonNodePoolDb({ connectionString: url, max, wsProxy, preparedStatements });
}

/** Migrates the database and queues `n` no-op tasks with distinct arguments (so no dedup). */
export async function fillOurs(url: string, n: number, migrateOptions: MigrateOptions = {}): Promise<void> {
  const db = pgDb({ connectionString: url, max: 1 });
  try {
    await migrate(db, migrateOptions);
    for (let i = 0; i < n; i += ENQUEUE_CHUNK) {
      const inputs = Array.from({ length: Math.min(ENQUEUE_CHUNK, n - i) }, (_, k) => ({ taskPath: NOOP_PATH, args: [i + k] }));
      await enqueueMany(db, inputs);
    }
    await db.query('VACUUM ANALYZE task_runs');
  } finally {
    await db.close();
  }
}

/** Opens `count` pool connections before timing starts, as a warm invocation would have. */
export async function warm(db: Db, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, () => db.query('SELECT 1')));
}

export interface OursOptions {
  driver: OurDriver;
  batch: number;
  /** Drain invocations running at once, each on its own connection. */
  concurrency: number;
  wsProxy?: string;
  /** Named prepared statements; default the driver's (on, unless the URL says pgbouncer=true). */
  preparedStatements?: boolean;
}

/**
 * `concurrency` parallel drain() calls until the queue is empty: what a platform gives when it
 * invokes the drain function that many times at once. Inside each drain, handler concurrency is
 * the batch size, so a no-op batch never waits on a lane.
 */
export async function runOurs(url: string, queued: number, o: OursOptions): Promise<DrainRun> {
  const db = openOurs(url, o.driver, o.concurrency, o.wsProxy, o.preparedStatements);
  try {
    await warm(db, o.concurrency);
    const cpu0 = await backendCpuMs(databaseOf(url));
    const started = performance.now();
    const { value: summaries, roundTrips } = await counted(() =>
      withTimeout(
        'drain',
        Promise.all(
          Array.from({ length: o.concurrency }, () =>
            drain(
              { db, registry, logger: silentLogger },
              { batchSize: o.batch, concurrency: o.batch, budgetMs: 600_000, allowedTaskModules: ['*'] },
            ),
          ),
        ),
      ),
    );
    const ms = performance.now() - started;
    const cpu1 = await backendCpuMs(databaseOf(url));
    const errors = summaries.flatMap((s) => (s.error ? [s.error] : []));
    if (errors.length > 0) throw new Error(`drain failed: ${errors[0]}`);
    const tasks = summaries.reduce((sum, s) => sum + s.succeeded, 0);
    expectAll('drain', tasks, queued);
    return { tasks, ms, roundTrips, serverCpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
  } finally {
    await db.close();
  }
}
