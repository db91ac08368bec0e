/**
 * The step's plan as the pg adapter's pools run it (a generic plan, planned once per connection):
 * the completion must read its rows by primary key. Statistics gathered while no row was RUNNING
 * made the fence `status = 'RUNNING'` pick idx_task_runs_lock_key (WHERE status = 'RUNNING'), and
 * then every step read every RUNNING row of the table, other drains' included.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { stepSql } from '../src/sql/step.ts';
import { useTestDb } from './support/db.ts';

describe('the step under a generic plan', () => {
  const t = useTestDb('pg', 'task_runs');

  it.each(['full', 'plain'] as const)('%s claim: the completion reads its rows by primary key, however few RUNNING rows the statistics saw', async (claim) => {
    const client = new pg.Client({ connectionString: t.url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO task_runs (spec_json, spec_hash, task_path)
         SELECT jsonb_build_object('task_path', 'tasks.a', 'args', jsonb_build_array(i), 'kwargs', '{}'::jsonb), md5(i::text), 'tasks.a'
         FROM generate_series(1, 2000) i`,
      );
      await client.query('ANALYZE task_runs');
      await client.query(`UPDATE task_runs SET status = 'RUNNING', leased_by = 'other' WHERE result_id <= 500`);
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE step AS ${stepSql(60, claim)}`);
      const res = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (COSTS OFF) EXECUTE step('[{"result_id": 1, "action": "success"}]', 'other', 'default', ARRAY['tasks.a'], 10, 60, NULL, false)`,
      );
      const plan = res.rows.map((r) => r['QUERY PLAN']);
      const start = plan.findIndex((line) => line.trim() === 'CTE done');
      const end = plan.findIndex((line, i) => i > start && /^\s{2}CTE /.test(line));
      const completion = plan.slice(start, end).join('\n');
      expect(completion).toContain('Update on task_runs');
      expect(completion).toContain('task_runs_pkey');
      expect(completion).not.toContain('idx_task_runs_lock_key');
    } finally {
      await client.end();
    }
  });
});
