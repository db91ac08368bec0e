/**
 * The SQL floor: the least a SKIP LOCKED queue can do per batch — one claim and one complete
 * statement, sent bare over one connection per loop. On upstream's task_runs (same rows, same
 * indexes as our drain sees) it bounds what any drain on that schema can reach; on a minimal table
 * (a few columns, one partial index) it shows what the schema itself costs.
 */
import pg from 'pg';
import { backendCpuMs, databaseOf } from '../cpu.ts';
import { counted } from '../roundTrips.ts';
import { type DrainRun, expectAll, withTimeout } from './types.ts';

export type FloorTable = 'upstream' | 'minimal';

/** `= ANY(ARRAY(…))` rather than `IN (…)`: on PG 15 the IN form can plan as a full scan. */
const SQL: Record<FloorTable, { claim: string; complete: string }> = {
  upstream: {
    claim: `UPDATE task_runs SET status = 'RUNNING', attempts = attempts + 1, leased_by = $2,
        leased_until = now() + interval '5 minutes', started_at = now(), updated_at = now()
      WHERE result_id = ANY(ARRAY(
        SELECT result_id FROM task_runs WHERE queue_name = 'default' AND status = 'READY'
        ORDER BY priority DESC, enqueued_at LIMIT $1 FOR UPDATE SKIP LOCKED))
      RETURNING result_id, spec_json`,
    complete: `UPDATE task_runs SET status = 'SUCCESSFUL', finished_at = now(), leased_by = NULL,
        leased_until = NULL, updated_at = now()
      WHERE result_id = ANY($1::bigint[]) AND leased_by = $2`,
  },
  minimal: {
    claim: `UPDATE jobs SET status = 1, locked_by = $2
      WHERE id = ANY(ARRAY(
        SELECT id FROM jobs WHERE status = 0 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
      RETURNING id, payload`,
    complete: `UPDATE jobs SET status = 2 WHERE id = ANY($1::bigint[]) AND locked_by = $2`,
  },
};

/** Creates and fills the minimal table: id, status, lock owner, payload; one partial index. */
export async function fillMinimal(url: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE jobs (id bigserial PRIMARY KEY, status smallint NOT NULL DEFAULT 0,
      locked_by text, payload jsonb NOT NULL)`);
    await client.query(`CREATE INDEX jobs_ready ON jobs (id) WHERE status = 0`);
    await client.query(`INSERT INTO jobs (payload) SELECT jsonb_build_object('i', i) FROM generate_series(1, $1) i`, [n]);
    await client.query('VACUUM ANALYZE jobs');
  } finally {
    await client.end();
  }
}

export async function runFloor(url: string, queued: number, table: FloorTable, batch: number, loops: number): Promise<DrainRun> {
  const clients = Array.from({ length: loops }, () => new pg.Client({ connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    const sql = SQL[table];
    const loop = async (client: pg.Client, i: number) => {
      let done = 0;
      // Bounded: a loop can never need more batches than there are tasks.
      for (let step = 0; step <= queued; step++) {
        const claimed = await client.query<{ result_id?: string; id?: string }>(sql.claim, [batch, `floor/${i}`]);
        if (claimed.rowCount === 0) break;
        const ids = claimed.rows.map((r) => r.result_id ?? r.id);
        const res = await client.query(sql.complete, [ids, `floor/${i}`]);
        done += res.rowCount ?? 0;
      }
      return done;
    };
    const cpu0 = await backendCpuMs(databaseOf(url));
    const started = performance.now();
    const { value, roundTrips } = await counted(() => withTimeout('floor', Promise.all(clients.map(loop))));
    const ms = performance.now() - started;
    const cpu1 = await backendCpuMs(databaseOf(url));
    const tasks = value.reduce((a, b) => a + b, 0);
    expectAll(`floor (${table})`, tasks, queued);
    return { tasks, ms, roundTrips, serverCpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}
