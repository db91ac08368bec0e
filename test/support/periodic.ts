import type { Db } from '../../src/db/types.ts';

/**
 * periodic_tasks rows that Django, a Go worker or psql can write and no tick can schedule: each
 * differs from a good row in one column. `field` is the column the TS beat names. NULLs need a
 * table without NOT NULL (one created outside the migrations): `allowNulls` drops them.
 */
export interface BadPeriodicRow {
  name: string;
  field: string;
  /** Column → SQL expression, replacing the good row's. */
  set: Record<string, string>;
}

export const BAD_PERIODIC_ROWS: readonly BadPeriodicRow[] = [
  { name: 'bad_task_path_empty', field: 'task_path', set: { task_path: `''` } },
  { name: 'bad_task_path_blank', field: 'task_path', set: { task_path: `'   '` } },
  { name: 'bad_task_path_null', field: 'task_path', set: { task_path: 'NULL' } },
  { name: 'bad_task_path_long', field: 'task_path', set: { task_path: `'tasks.' || repeat('x', 600)` } },
  { name: 'bad_cron_range', field: 'cron_expr', set: { cron_expr: `'61 * * * *'` } },
  { name: 'bad_cron_never', field: 'cron_expr', set: { cron_expr: `'0 0 30 2 *'` } },
  { name: 'bad_cron_empty', field: 'cron_expr', set: { cron_expr: `''` } },
  { name: 'bad_cron_null', field: 'cron_expr', set: { cron_expr: 'NULL' } },
  { name: 'bad_cron_zone', field: 'cron_expr', set: { cron_expr: `'TZ=Mars/Olympus 0 0 * * *'` } },
  { name: 'bad_payload_string', field: 'payload_json', set: { payload_json: `'"text"'` } },
  { name: 'bad_payload_number', field: 'payload_json', set: { payload_json: `'42'` } },
  { name: 'bad_payload_null', field: 'payload_json', set: { payload_json: 'NULL' } },
  { name: 'bad_payload_args_object', field: 'payload_json', set: { payload_json: `'{"args": {"not": "a list"}}'` } },
  { name: 'bad_payload_kwargs_list', field: 'payload_json', set: { payload_json: `'{"kwargs": [1]}'` } },
  { name: 'bad_payload_huge', field: 'payload_json', set: { payload_json: `jsonb_build_object('args', jsonb_build_array(repeat('x', 1100000)))` } },
  { name: 'bad_queue_null', field: 'queue_name', set: { queue_name: 'NULL' } },
  { name: 'bad_queue_long', field: 'queue_name', set: { queue_name: `repeat('q', 300)` } },
  { name: 'bad_priority_null', field: 'priority', set: { priority: 'NULL' } },
  { name: 'bad_priority_huge', field: 'priority', set: { priority: '2147483647' } },
  { name: 'bad_priority_low', field: 'priority', set: { priority: '-2147483648' } },
  { name: 'bad_max_attempts_null', field: 'max_attempts', set: { max_attempts: 'NULL' } },
  { name: 'bad_max_attempts_huge', field: 'max_attempts', set: { max_attempts: '2147483647' } },
  { name: 'bad_concurrency_limit_null', field: 'concurrency_limit', set: { concurrency_limit: 'NULL' } },
  { name: 'bad_concurrency_limit_negative', field: 'concurrency_limit', set: { concurrency_limit: '-1' } },
  { name: 'bad_concurrency_key_long', field: 'concurrency_key', set: { concurrency_key: `repeat('k', 600)` } },
  { name: 'bad_next_run_at_null', field: 'next_run_at', set: { next_run_at: 'NULL' } },
  { name: 'bad_next_run_at_minus_infinity', field: 'next_run_at', set: { next_run_at: `'-infinity'` } },
  { name: 'bad_next_run_at_bc', field: 'next_run_at', set: { next_run_at: `'0100-01-01 00:00:00Z BC'` } },
];

const COLUMNS = ['name', 'cron_expr', 'task_path', 'payload_json', 'queue_name', 'priority', 'max_attempts', 'concurrency_key', 'concurrency_limit', 'next_run_at'] as const;

/** The columns a table made by hand could leave nullable. */
export async function allowNulls(db: Db): Promise<void> {
  for (const c of ['cron_expr', 'task_path', 'payload_json', 'queue_name', 'priority', 'max_attempts', 'concurrency_limit', 'next_run_at']) {
    await db.query(`ALTER TABLE periodic_tasks ALTER COLUMN ${c} DROP NOT NULL`);
  }
}

/**
 * Inserts `good` good rows (`good_0001`...) and the given bad ones, all due a minute before `now`
 * (an SQL expression), every five minutes, with a small envelope payload.
 */
export async function insertPeriodicRows(db: Db, good: number, bad: readonly BadPeriodicRow[], now = 'NOW()'): Promise<void> {
  const base: Record<(typeof COLUMNS)[number], string> = {
    name: '',
    cron_expr: `'*/5 * * * *'`,
    task_path: `'tasks.tick'`,
    payload_json: `'{"args": [1], "kwargs": {"a": 1}}'`,
    queue_name: `'default'`,
    priority: '0',
    max_attempts: '3',
    concurrency_key: 'NULL',
    concurrency_limit: '0',
    next_run_at: `${now} - interval '1 minute'`,
  };
  await db.query(
    `INSERT INTO periodic_tasks (${COLUMNS.join(', ')})
     SELECT 'good_' || lpad(i::text, 4, '0'), ${COLUMNS.slice(1).map((c) => base[c]).join(', ')} FROM generate_series(1, $1::int) AS i`,
    [good],
  );
  for (const b of bad) {
    const values = COLUMNS.map((c) => (c === 'name' ? `'${b.name}'` : (b.set[c] ?? base[c])));
    await db.query(`INSERT INTO periodic_tasks (${COLUMNS.join(', ')}) VALUES (${values.join(', ')})`);
  }
}

/** The bad rows' next_run_at, as text, so a test can show they were left exactly as they were. */
export async function storedNextRunAt(db: Db): Promise<Record<string, string | null>> {
  const res = await db.query<{ name: string; t: string | null }>(`SELECT name, next_run_at::text AS t FROM periodic_tasks WHERE name LIKE 'bad\\_%' ORDER BY name`);
  return Object.fromEntries(res.rows.map((r) => [r.name, r.t]));
}
