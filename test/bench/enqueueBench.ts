/**
 * Enqueue cost: one row per call against bulk calls of 100 and 1,000, for us and the peers' bulk
 * APIs, and the floor of the upstream schema: a bare INSERT of the same spec rows from a
 * prepared statement, with no client work (no validation, no canonical JSON, a made-up hash). Every round gives each system a fresh database, rounds alternate the order, and the
 * table has the medians. Besides rows/s (wall time, which a loaded machine inflates), each row
 * has the CPU time per enqueued row of this process and of the database backends, which load
 * disturbs much less.
 */
import { Logger, makeWorkerUtils, runMigrations } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { pgDb } from '../../src/db/pg.ts';
import { enqueue, enqueueMany } from '../../src/enqueue.ts';
import { migrate } from '../../src/migrate.ts';
import { backendCpuMs } from './cpu.ts';
import { type BenchDb, createDb } from './databases.ts';
import { counted } from './roundTrips.ts';
import { median, sig } from './stats.ts';
import { NOOP_PATH } from './systems/ours.ts';

export type EnqueueSystem = 'ours' | 'graphile-worker' | 'pg-boss' | 'floor';

export interface EnqueueRow {
  system: EnqueueSystem;
  /** The call measured: enqueue/enqueueMany, addJob/addJobs, send/insert. */
  api: string;
  perCall: number;
  /** Rows per round. */
  rows: number;
  /** Median over rounds. */
  rowsPerS: number;
  runs: number[];
  roundTripsPerCall: number;
  /** Median CPU µs per row: this process (the client library) and the server backends. */
  clientCpuUsPerRow: number;
  serverCpuUsPerRow: number | null;
}

export const ENQUEUE_SIZES = [1, 100, 1000];

interface Enqueuer {
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
    api: (size) => (size === 1 ? 'send' : 'insert'),
    add: async (size, from) => {
      if (size === 1) await boss.send('bench', { i: from });
      else await boss.insert(Array.from({ length: size }, (_, k) => ({ name: 'bench', data: { i: from + k } })));
    },
    close: () => boss.stop({ graceful: false, wait: true }),
  };
}

/** What any producer must write on task_runs: the spec and its hash; defaults, trigger and indexes do the rest. */
const FLOOR_INSERT = `
INSERT INTO task_runs (queue_name, spec_json, spec_hash, task_path)
SELECT 'default', s, h, s->>'task_path' FROM jsonb_to_recordset($1::jsonb) AS i(h char(64), s jsonb)`;

async function floorEnqueuer(url: string): Promise<Enqueuer> {
  const db = pgDb({ connectionString: url, max: 1 });
  await migrate(db);
  // The spec our enqueue writes for these rows, as a template.
  const row = (i: number) =>
    `{"h":"${i.toString(16).padStart(64, '0')}","s":{"args":[${i}],"concurrency_key":null,"concurrency_limit":0,"exec":{"max_attempts":3,"timeout_seconds":900},"kwargs":{},"lock_key":null,"priority":0,"provenance":{"code_ref":null,"pip_lock_hash":null},"queue_name":"default","run_after":null,"takes_context":false,"task_path":"${NOOP_PATH}","v":1}}`;
  return {
    api: () => 'INSERT',
    add: async (size, from) => {
      await db.query(FLOOR_INSERT, [`[${Array.from({ length: size }, (_, k) => row(from + k)).join(',')}]`], { name: 'bench_floor_insert' });
    },
    close: () => db.close(),
  };
}

const SYSTEMS: Record<EnqueueSystem, (url: string) => Promise<Enqueuer>> = {
  ours: oursEnqueuer,
  'graphile-worker': graphileEnqueuer,
  'pg-boss': pgBossEnqueuer,
  floor: floorEnqueuer,
};

interface Run {
  system: EnqueueSystem;
  api: string;
  perCall: number;
  rows: number;
  rowsPerS: number;
  roundTripsPerCall: number;
  clientCpuUsPerRow: number;
  serverCpuUsPerRow: number | null;
}

/** Calls per size: `rows` rows in bulk calls (at least 5 calls), a quarter of it one row per call. */
export function callsFor(size: number, rows: number): number {
  return size === 1 ? Math.max(20, Math.round(rows / 4)) : Math.max(5, Math.round(rows / size));
}

async function measureSystem(system: EnqueueSystem, db: BenchDb, rows: number): Promise<Run[]> {
  const e = await SYSTEMS[system](db.url);
  const out: Run[] = [];
  try {
    let next = 0;
    // The first calls pay connection and plan setup (and, for a named statement, its PREPARE).
    for (const size of ENQUEUE_SIZES) {
      await e.add(size, next);
      next += size;
    }
    for (const size of ENQUEUE_SIZES) {
      const calls = callsFor(size, rows);
      const server0 = await backendCpuMs(db.name);
      const client0 = process.cpuUsage();
      const started = performance.now();
      const { roundTrips } = await counted(async () => {
        for (let i = 0; i < calls; i++, next += size) await e.add(size, next);
      });
      const ms = performance.now() - started;
      const client = process.cpuUsage(client0);
      const server1 = await backendCpuMs(db.name);
      const n = calls * size;
      out.push({
        system,
        api: e.api(size),
        perCall: size,
        rows: n,
        rowsPerS: sig((n / ms) * 1000),
        roundTripsPerCall: sig(roundTrips / calls),
        clientCpuUsPerRow: sig((client.user + client.system) / n),
        serverCpuUsPerRow: server0 === null || server1 === null ? null : sig(((server1 - server0) * 1000) / n),
      });
    }
  } finally {
    await e.close();
  }
  return out;
}

export async function measureEnqueue(rows: number, rounds: number, log: (line: string) => void = () => {}): Promise<EnqueueRow[]> {
  const systems = Object.keys(SYSTEMS) as EnqueueSystem[];
  const runs: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const system of round % 2 === 0 ? systems : [...systems].reverse()) {
      const db = await createDb('enqueue');
      try {
        const got = await measureSystem(system, db, rows);
        runs.push(...got);
        log(`enqueue round ${round + 1}: ${system} ${got.map((r) => `${r.perCall}/call ${r.rowsPerS} rows/s`).join(', ')}`);
      } finally {
        await db.drop();
      }
    }
  }
  return systems.flatMap((system) =>
    ENQUEUE_SIZES.map((perCall) => {
      const mine = runs.filter((r) => r.system === system && r.perCall === perCall);
      const server = mine.map((r) => r.serverCpuUsPerRow).filter((x): x is number => x !== null);
      return {
        system,
        api: mine[0]!.api,
        perCall,
        rows: mine[0]!.rows,
        rowsPerS: sig(median(mine.map((r) => r.rowsPerS))),
        runs: mine.map((r) => r.rowsPerS),
        roundTripsPerCall: sig(median(mine.map((r) => r.roundTripsPerCall))),
        clientCpuUsPerRow: sig(median(mine.map((r) => r.clientCpuUsPerRow))),
        serverCpuUsPerRow: server.length > 0 ? sig(median(server)) : null,
      };
    }),
  );
}
