/** Enqueue cost: one row per call against bulk calls of 100 and 1,000, for us and the peers' bulk APIs. */
import { Logger, makeWorkerUtils, runMigrations } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { pgDb } from '../../src/db/pg.ts';
import { enqueue, enqueueMany } from '../../src/enqueue.ts';
import { migrate } from '../../src/migrate.ts';
import { createDb } from './databases.ts';
import { counted } from './roundTrips.ts';
import { sig } from './stats.ts';
import { NOOP_PATH } from './systems/ours.ts';

export interface EnqueueRow {
  system: 'ours' | 'graphile-worker' | 'pg-boss';
  /** The call measured: enqueue/enqueueMany, addJob/addJobs, send/insert. */
  api: string;
  perCall: number;
  rows: number;
  rowsPerS: number;
  roundTripsPerCall: number;
}

const SIZES = [1, 100, 1000];

interface Enqueuer {
  system: EnqueueRow['system'];
  api(size: number): string;
  /** Queues `size` rows whose payloads start at `from` (distinct, so nothing deduplicates). */
  add(size: number, from: number): Promise<void>;
  close(): Promise<void>;
}

async function oursEnqueuer(url: string): Promise<Enqueuer> {
  const db = pgDb({ connectionString: url, max: 1 });
  await migrate(db);
  const item = (i: number) => ({ taskPath: NOOP_PATH, args: [i] });
  return {
    system: 'ours',
    api: (size) => (size === 1 ? 'enqueue' : 'enqueueMany'),
    add: async (size, from) => {
      if (size === 1) await enqueue(db, item(from));
      else await enqueueMany(db, Array.from({ length: size }, (_, k) => item(from + k)));
    },
    close: () => db.close(),
  };
}

async function graphileEnqueuer(url: string): Promise<Enqueuer> {
  const logger = new Logger(() => () => {});
  await runMigrations({ connectionString: url, logger });
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  return {
    system: 'graphile-worker',
    api: (size) => (size === 1 ? 'addJob' : 'addJobs'),
    add: async (size, from) => {
      if (size === 1) await utils.addJob('noop', { i: from });
      else await utils.addJobs(Array.from({ length: size }, (_, k) => ({ identifier: 'noop', payload: { i: from + k } })));
    },
    close: async () => await utils.release(),
  };
}

async function pgBossEnqueuer(url: string): Promise<Enqueuer> {
  const boss = new PgBoss({ connectionString: url, max: 1, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('bench');
  return {
    system: 'pg-boss',
    api: (size) => (size === 1 ? 'send' : 'insert'),
    add: async (size, from) => {
      if (size === 1) await boss.send('bench', { i: from });
      else await boss.insert(Array.from({ length: size }, (_, k) => ({ name: 'bench', data: { i: from + k } })));
    },
    close: () => boss.stop({ graceful: false, wait: true }),
  };
}

/** `rows` per size (a quarter of it for single inserts, which cost a round trip each). */
export async function measureEnqueue(rows: number): Promise<EnqueueRow[]> {
  const out: EnqueueRow[] = [];
  for (const make of [oursEnqueuer, graphileEnqueuer, pgBossEnqueuer]) {
    const db = await createDb('enqueue');
    const e = await make(db.url);
    try {
      let next = 0;
      await e.add(1, next++); // first call pays connection and plan setup
      for (const size of SIZES) {
        const calls = Math.max(1, Math.round((size === 1 ? rows / 4 : rows) / size));
        const started = performance.now();
        const { roundTrips } = await counted(async () => {
          for (let i = 0; i < calls; i++, next += size) await e.add(size, next);
        });
        const ms = performance.now() - started;
        out.push({
          system: e.system,
          api: e.api(size),
          perCall: size,
          rows: calls * size,
          rowsPerS: sig(((calls * size) / ms) * 1000),
          roundTripsPerCall: sig(roundTrips / calls),
        });
      }
    } finally {
      await e.close();
      await db.drop();
    }
  }
  return out;
}
