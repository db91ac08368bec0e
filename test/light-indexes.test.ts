/**
 * The opt-in light index set (migrations/opt-in/light_indexes.sql): applied only when asked, idempotent,
 * reversible, still chosen by every query of Reproq's that reads those indexes (the plans are checked with
 * sequential scans disabled, so a usable index is taken whatever the table's size), and the queue works
 * on it: lock keys stay exclusive and a chord completes.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { enqueueMany } from '../src/enqueue.ts';
import {
  EXPECTED_INDEXES,
  LIGHT_INDEXES,
  MIGRATIONS_TABLE,
  checkSchema,
  installedIndexSet,
  migrate,
  migrationStatus,
} from '../src/migrate.ts';
import { TASK_WORKFLOW } from '../src/sql/taskWorkflow.ts';
import { NO_TASK_PATH } from '../src/sql/unclaimableTasks.ts';
import { defineTask } from '../src/tasks/registry.ts';
import { useTestDb } from './support/db.ts';
import { drainWith, row, sleep } from './support/queue.ts';

const NAMES = Object.keys(LIGHT_INDEXES);

describe('light index set (opt-in)', () => {
  const t = useTestDb('pg', 'task_runs, workflow_runs');

  async function definitions(): Promise<Record<string, { def: string; oid: number }>> {
    const r = await t.db.query<{ name: string; def: string; oid: number }>(
      `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def, i.indexrelid::int AS oid
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = 'task_runs'::regclass AND ic.relname = ANY($1::text[])`,
      [NAMES],
    );
    return Object.fromEntries(r.rows.map((x) => [x.name, { def: x.def.replace(' ON public.', ' ON '), oid: x.oid }]));
  }

  /** The plan of `sql` with sequential scans off: an index the query can use is then always taken. */
  async function plan(sql: string, params: unknown[] = []): Promise<string> {
    const client = new pg.Client({ connectionString: t.url });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const r = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql}`, params);
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    } finally {
      await client.end();
    }
  }

  it('is not applied by the default migrate', async () => {
    expect(await migrate(t.db)).toEqual({ applied: [], skipped: expect.any(Array) });
    expect(await installedIndexSet(t.db)).toBe('upstream');
    const dry = await migrate(t.db, { lightIndexes: true, dryRun: true });
    expect(dry.applied).toEqual(['light_indexes']);
    expect(await installedIndexSet(t.db)).toBe('upstream');
  });

  it('applies once, keeps the names, records itself, and passes the schema check', async () => {
    expect((await migrate(t.db, { lightIndexes: true })).applied).toEqual(['light_indexes']);
    const defs = await definitions();
    for (const name of NAMES) expect(defs[name]?.def).toBe(LIGHT_INDEXES[name]);
    expect(await installedIndexSet(t.db)).toBe('light');

    const again = await migrate(t.db, { lightIndexes: true });
    expect(again.applied).toEqual([]);
    expect(again.skipped).toContain('light_indexes');
    const after = await definitions();
    for (const name of NAMES) expect(after[name]?.oid).toBe(defs[name]?.oid);

    const recorded = await t.db.query(`SELECT 1 FROM ${MIGRATIONS_TABLE} WHERE name = 'light_indexes'`);
    expect(recorded.rowCount).toBe(1);
    const status = await migrationStatus(t.db);
    expect(status.unknown).toEqual([]);
    expect(status.upToDate).toBe(true);

    const report = await checkSchema(t.db);
    expect(report.ok).toBe(true);
    expect(report.indexSet).toBe('light');
    expect(report.issues.filter((i) => NAMES.includes(i.object))).toEqual([]);
    // The default migrate leaves the light set alone (its CREATE INDEX IF NOT EXISTS goes by name).
    await migrate(t.db);
    expect(await installedIndexSet(t.db)).toBe('light');
  });

  it('still serves the lock, reclaim, workflow and task_path queries of Reproq Edge, the Go worker and Django', async () => {
    // idx_task_runs_lock_key is left as upstream has it: the claims' lock check (ours and the Go worker's,
    // correlated with the candidate row), and the reclaims' scan of RUNNING rows, which a narrower one would lose.
    expect(
      await plan(`SELECT c.k FROM (VALUES ('user:1')) c (k)
                  WHERE NOT EXISTS (SELECT 1 FROM task_runs l WHERE l.lock_key = c.k AND l.status = 'RUNNING')`),
    ).toMatch(/idx_task_runs_lock_key/);
    // reproq_claim_keys' recheck, as its plpgsql plan runs it (a parameter).
    expect(await plan(`SELECT 1 FROM task_runs r WHERE r.lock_key = $1 AND r.status = 'RUNNING'`, ['user:1'])).toMatch(/idx_task_runs_lock_key/);
    expect(await plan(`SELECT result_id FROM task_runs WHERE status = 'RUNNING' AND leased_until < NOW()`)).toMatch(/idx_task_runs_lock_key/);
    expect(await plan(TASK_WORKFLOW, ['1', 50])).toMatch(/idx_task_runs_workflow_id/);
    expect(await plan(`SELECT result_id FROM task_runs WHERE workflow_id = $1::uuid`, ['00000000-0000-0000-0000-000000000001'])).toMatch(
      /idx_task_runs_workflow_id/,
    );
    expect(await plan(`SELECT result_id FROM task_runs WHERE ${NO_TASK_PATH}`)).toMatch(/idx_task_runs_task_path/);
    // Django's `migrate-worker` backfill.
    expect(
      await plan(`SELECT result_id FROM task_runs WHERE task_path IS NULL AND NULLIF(spec_json->>'task_path', '') IS NOT NULL LIMIT 1000`),
    ).toMatch(/idx_task_runs_task_path/);
  });

  it('runs a queue with lock keys and a chord', async () => {
    const running = new Set<string>();
    let overlaps = 0;
    const locked = defineTask({
      path: 'light.locked',
      handler: async ({ args }: { args: unknown }) => {
        const key = (args as string[])[0]!;
        if (running.has(key)) overlaps++;
        running.add(key);
        await sleep(2);
        running.delete(key);
      },
    });
    const plain = defineTask({ path: 'light.plain', handler: () => undefined });
    await enqueueMany(t.db, [
      ...Array.from({ length: 30 }, (_, i) => ({ taskPath: 'light.locked', args: [`k${i % 3}`, i], lockKey: `k${i % 3}` })),
      ...Array.from({ length: 20 }, (_, i) => ({ taskPath: 'light.plain', args: [i] })),
    ]);
    // A chord as Django writes it: READY members, a WAITING callback, the workflow_runs row.
    const wf = (await row<{ id: string }>(t.db, 'SELECT gen_random_uuid()::text AS id')).id;
    const members = await t.db.query<{ id: string }>(
      `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, workflow_id)
       SELECT jsonb_build_object('task_path', 'light.plain', 'args', jsonb_build_array(100 + i)), md5(random()::text) || md5(random()::text),
              'light.plain', 'READY', $1::uuid FROM generate_series(1, 3) i RETURNING result_id AS id`,
      [wf],
    );
    const callback = await row<{ id: string }>(
      t.db,
      `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, wait_count, workflow_id)
       VALUES ('{"task_path": "light.plain", "args": [999]}', md5('cb') || md5('cb'), 'light.plain', 'WAITING', 3, $1::uuid)
       RETURNING result_id AS id`,
      [wf],
    );
    await t.db.query(`INSERT INTO workflow_runs (workflow_id, expected_count, callback_result_id, status) VALUES ($1, 3, $2, 'RUNNING')`, [
      wf,
      callback.id,
    ]);
    expect(members.rowCount).toBe(3);

    for (let i = 0; i < 20; i++) {
      await Promise.all(Array.from({ length: 3 }, () => drainWith(t.db, [locked, plain], { batchSize: 10 })));
      const left = await row<{ n: number }>(t.db, `SELECT count(*)::int AS n FROM task_runs WHERE status <> 'SUCCESSFUL'`);
      if (left.n === 0) break;
    }
    expect(await row(t.db, `SELECT count(*)::int AS n FROM task_runs WHERE status <> 'SUCCESSFUL'`)).toEqual({ n: 0 });
    expect(await row(t.db, `SELECT count(*)::int AS n FROM task_runs`)).toEqual({ n: 54 });
    expect(await row(t.db, 'SELECT status FROM workflow_runs WHERE workflow_id = $1', [wf])).toEqual({ status: 'SUCCESSFUL' });
    expect(overlaps).toBe(0);
  });

  it('goes back to the upstream definitions with upstreamIndexes', async () => {
    expect((await migrate(t.db, { upstreamIndexes: true })).applied).toEqual(['upstream_indexes']);
    const defs = await definitions();
    for (const name of NAMES) expect(defs[name]?.def).toBe(EXPECTED_INDEXES[name]);
    expect(await installedIndexSet(t.db)).toBe('upstream');
    expect((await t.db.query(`SELECT 1 FROM ${MIGRATIONS_TABLE} WHERE name = 'light_indexes'`)).rowCount).toBe(0);
    const report = await checkSchema(t.db);
    expect(report.issues.filter((i) => i.severity === 'warning' && NAMES.includes(i.object))).toEqual([]);
    expect((await migrate(t.db, { upstreamIndexes: true })).skipped).toContain('upstream_indexes');
    await expect(migrate(t.db, { lightIndexes: true, upstreamIndexes: true })).rejects.toThrow(/choose one/);
  });
});
