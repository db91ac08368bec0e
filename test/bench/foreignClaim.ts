/**
 * Claims on a shared database. A drain that knows only its own task paths shares task_runs with a
 * Django/Go fleet: the same queue may hold a backlog of other paths' READY rows, or READY rows
 * not due yet, queued before ours. Each scenario drains the same 100 of our no-op tasks (batch
 * 100, one drain) from a fresh clone of its template, after a first drain of 100 that prepares the
 * statements and warms the cache; the claim latency is the drain's time per statement (every
 * statement claims, the last one finding nothing). Rounds alternate the order.
 */
import { pgDb } from '../../src/db/pg.ts';
import { drain } from '../../src/drain.ts';
import { enqueueMany } from '../../src/enqueue.ts';
import { silentLogger } from '../../src/logger.ts';
import { migrate } from '../../src/migrate.ts';
import { TaskRegistry, defineTask } from '../../src/tasks/registry.ts';
import { type BenchDb, createDb } from './databases.ts';
import { counted } from './roundTrips.ts';
import { median, sig } from './stats.ts';
import { NOOP_PATH } from './systems/ours.ts';
import { expectAll, withTimeout } from './systems/types.ts';

export type ClaimScenario = 'empty' | 'foreign_paths' | 'future_run_after';

export interface ForeignClaimRow {
  scenario: ClaimScenario;
  /** READY rows besides ours, all queued before ours in the same queue. */
  otherReady: number;
  ours: number;
  /** Median drain wall time per statement, and the runs it comes from. */
  msPerStatement: number;
  runs: number[];
  statements: number;
  /** msPerStatement ÷ the empty scenario's. */
  ratio: number;
}

const OURS = 100;
const OTHER_PATH = 'python.tasks.other';

/** The rows each scenario adds, older than ours: other task paths, or our path with run_after a day ahead. */
function otherRowsSql(scenario: ClaimScenario): string | null {
  if (scenario === 'empty') return null;
  const path = scenario === 'foreign_paths' ? OTHER_PATH : NOOP_PATH;
  const runAfter = scenario === 'future_run_after' ? "now() + interval '1 day'" : 'NULL';
  return `INSERT INTO task_runs (queue_name, spec_json, spec_hash, task_path, status, run_after, enqueued_at)
    SELECT 'default', jsonb_build_object('v', 1, 'task_path', '${path}', 'args', jsonb_build_array(i), 'kwargs', '{}'::jsonb),
      md5(i::text) || md5((-i)::text), '${path}', 'READY', ${runAfter}, now() - interval '1 hour' + i * interval '1 ms'
    FROM generate_series(1, $1::int) i`;
}

async function fillTemplate(scenario: ClaimScenario, otherReady: number): Promise<BenchDb> {
  const tpl = await createDb(`tpl_claim_${scenario}`);
  const db = pgDb({ connectionString: tpl.url, max: 1 });
  try {
    await migrate(db);
    const sql = otherRowsSql(scenario);
    if (sql) await db.query(sql, [otherReady]);
    await db.query('VACUUM ANALYZE task_runs');
  } finally {
    await db.close();
  }
  return tpl;
}

/** Drains 100 of ours twice and times the second: the first pays for preparing statements and a cold cache. */
async function drainOurs(url: string): Promise<{ ms: number; statements: number }> {
  const db = pgDb({ connectionString: url, max: 1 });
  const registry = new TaskRegistry([defineTask({ path: NOOP_PATH, handler: () => undefined })]);
  const once = async (from: number) => {
    await enqueueMany(db, Array.from({ length: OURS }, (_, i) => ({ taskPath: NOOP_PATH, args: [from + i] })));
    const started = performance.now();
    const { value, roundTrips } = await counted(() =>
      withTimeout(
        'claim drain',
        drain({ db, registry, logger: silentLogger }, { batchSize: OURS, concurrency: OURS, budgetMs: 600_000, allowedTaskModules: ['*'] }),
      ),
    );
    const ms = performance.now() - started;
    if (value.error) throw new Error(`drain failed: ${value.error}`);
    expectAll('claim drain', value.succeeded, OURS);
    return { ms, statements: roundTrips };
  };
  try {
    await once(0);
    return await once(OURS);
  } finally {
    await db.close();
  }
}

export async function measureForeignClaim(otherReady: number, rounds: number, log: (line: string) => void = () => {}): Promise<ForeignClaimRow[]> {
  const scenarios: ClaimScenario[] = ['empty', 'foreign_paths', 'future_run_after'];
  const templates = new Map<ClaimScenario, BenchDb>();
  const runs = new Map<ClaimScenario, { ms: number; statements: number }[]>(scenarios.map((s) => [s, []]));
  try {
    for (const s of scenarios) templates.set(s, await fillTemplate(s, otherReady));
    for (let round = 0; round < rounds; round++) {
      for (const s of round % 2 === 0 ? scenarios : [...scenarios].reverse()) {
        const db = await createDb('claim', templates.get(s)!.name);
        try {
          const run = await drainOurs(db.url);
          runs.get(s)!.push(run);
          log(`claim round ${round + 1}: ${s} ${sig(run.ms / run.statements)} ms per statement`);
        } finally {
          await db.drop();
        }
      }
    }
  } finally {
    for (const tpl of templates.values()) await tpl.drop();
  }
  const perStatement = (s: ClaimScenario) => runs.get(s)!.map((r) => sig(r.ms / r.statements));
  const base = median(perStatement('empty'));
  return scenarios.map((s) => ({
    scenario: s,
    otherReady: s === 'empty' ? 0 : otherReady,
    ours: OURS,
    msPerStatement: sig(median(perStatement(s))),
    runs: perStatement(s),
    statements: median(runs.get(s)!.map((r) => r.statements)),
    ratio: sig(median(perStatement(s)) / base),
  }));
}
