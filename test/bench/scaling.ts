/**
 * Table growth: the same drain over task_runs already holding 10k / 100k / 1M SUCCESSFUL rows,
 * with the claim's plan (EXPLAIN ANALYZE) and the sizes and dead tuples that explain any change.
 */
import pg from 'pg';
import { pgDb } from '../../src/db/pg.ts';
import { migrate } from '../../src/migrate.ts';
import { stepSql } from '../../src/sql/step.ts';
import { createDb } from './databases.ts';
import { sig } from './stats.ts';
import { NOOP_PATH, fillOurs, runOurs } from './systems/ours.ts';

export interface ScalingRow {
  historyRows: number;
  queued: number;
  jobsPerS: number;
  roundTripsPerTask: number;
  /** How the claim reads task_runs, e.g. "Index Scan using idx_task_runs_claim_rank". */
  claimScan: string;
  claimExecMs: number;
  claimPlanningMs: number;
  tableMiB: number;
  indexesMiB: number;
  /** After the drain, before autovacuum catches up. */
  deadTuplesAfter: number;
}

const MiB = 1024 * 1024;

async function insertHistory(url: string, rows: number): Promise<void> {
  const db = pgDb({ connectionString: url, max: 1 });
  try {
    await migrate(db);
    await db.query(
      `INSERT INTO task_runs (queue_name, spec_json, spec_hash, task_path, status, enqueued_at, started_at,
         last_attempted_at, finished_at, attempts, worker_ids, return_json)
       SELECT 'default', jsonb_build_object('task_path', $2::text, 'args', jsonb_build_array(i), 'kwargs', '{}'::jsonb),
         md5(i::text) || md5((-i)::text), $2, 'SUCCESSFUL', t, t, t, t + interval '1 ms', 1, '["history"]', 'null'
       FROM generate_series(1, $1::int) i, LATERAL (SELECT now() - interval '1 day' + i * interval '1 ms' AS t) x`,
      [rows, NOOP_PATH],
    );
  } finally {
    await db.close();
  }
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function scansOfClaim(node: PlanNode, out: string[] = []): string[] {
  if (node['Relation Name'] === 'task_runs' && node.Alias === 'tr') {
    out.push(node['Index Name'] ? `${node['Node Type']} using ${node['Index Name']}` : node['Node Type']);
  }
  for (const child of node.Plans ?? []) scansOfClaim(child, out);
  return out;
}

/** EXPLAIN ANALYZE of the drain's first step (claim 100, nothing to complete), rolled back. */
export async function explainClaim(url: string, batch = 100): Promise<{ scan: string; execMs: number; planningMs: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const res = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${stepSql(60)}`,
      ['[]', 'explain/1', 'default', [NOOP_PATH], batch, 300, null, false],
    );
    const [plan] = res.rows[0]!['QUERY PLAN'];
    return { scan: scansOfClaim(plan.Plan).join(', ') || '?', execMs: sig(plan['Execution Time']), planningMs: sig(plan['Planning Time']) };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
  }
}

export async function measureScaling(historySizes: number[], queued: number): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  for (const historyRows of historySizes) {
    const db = await createDb(`scale_${historyRows}`);
    try {
      await insertHistory(db.url, historyRows);
      await fillOurs(db.url, queued); // queues the tasks and runs VACUUM ANALYZE
      const plan = await explainClaim(db.url);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const size = async () =>
        (
          await client.query<{ table: string; indexes: string; dead: string }>(
            `SELECT pg_table_size('task_runs') AS table, pg_indexes_size('task_runs') AS indexes,
               (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'task_runs') AS dead`,
          )
        ).rows[0]!;
      try {
        const before = await size();
        const run = await runOurs(db.url, queued, { driver: 'pg', batch: 100, concurrency: 16 });
        // Statistics are flushed asynchronously; a second's wait lets the drain's dead tuples show.
        await new Promise((r) => setTimeout(r, 1100));
        const after = await size();
        rows.push({
          historyRows,
          queued,
          jobsPerS: sig((run.tasks / run.ms) * 1000),
          roundTripsPerTask: sig(run.roundTrips / run.tasks, 4),
          claimScan: plan.scan,
          claimExecMs: plan.execMs,
          claimPlanningMs: plan.planningMs,
          tableMiB: sig(Number(before.table) / MiB),
          indexesMiB: sig(Number(before.indexes) / MiB),
          deadTuplesAfter: Number(after.dead),
        });
      } finally {
        await client.end();
      }
    } finally {
      await db.drop();
    }
  }
  return rows;
}
