/**
 * Upserts periodic tasks by name in one statement (CRUD and sync-recurring). An existing row keeps
 * its `next_run_at` while its cron expression is unchanged and it stays enabled: recomputing it on
 * every deploy, as Django's sync does, would drop a run that fell due seconds before the sync.
 * With `$2` (disable missing), every enabled row not in `$1` is disabled, as Django's
 * `clear_missing` does.
 *
 * $1 rows: [{name, cron_expr, task_path, payload_json, queue_name, priority, max_attempts,
 *           concurrency_key, concurrency_limit, next_run_at, enabled}]
 * Result: one row per upserted task (`inserted` tells new from updated; a single row of NULLs
 * when `$1` is empty), each carrying the names of the disabled rows in `disabled`.
 */
export const UPSERT_PERIODIC_TASKS = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
    name text, cron_expr text, task_path text, payload_json jsonb, queue_name text, priority int,
    max_attempts int, concurrency_key text, concurrency_limit int, next_run_at timestamptz, enabled boolean)
),
upserted AS (
  INSERT INTO periodic_tasks AS p (name, cron_expr, task_path, payload_json, queue_name, priority, max_attempts,
    concurrency_key, concurrency_limit, next_run_at, enabled, created_at, updated_at)
  SELECT name, cron_expr, task_path, payload_json, queue_name, priority, max_attempts,
    concurrency_key, concurrency_limit, next_run_at, enabled, NOW(), NOW()
  FROM input
  ON CONFLICT (name) DO UPDATE SET
    cron_expr = EXCLUDED.cron_expr,
    task_path = EXCLUDED.task_path,
    payload_json = EXCLUDED.payload_json,
    queue_name = EXCLUDED.queue_name,
    priority = EXCLUDED.priority,
    max_attempts = EXCLUDED.max_attempts,
    concurrency_key = EXCLUDED.concurrency_key,
    concurrency_limit = EXCLUDED.concurrency_limit,
    next_run_at = CASE WHEN p.cron_expr = EXCLUDED.cron_expr AND p.enabled THEN p.next_run_at
                       ELSE EXCLUDED.next_run_at END,
    enabled = EXCLUDED.enabled,
    updated_at = NOW()
  RETURNING p.*, (xmax = 0) AS inserted
),
disabled AS (
  UPDATE periodic_tasks p SET enabled = FALSE, updated_at = NOW()
  WHERE $2::boolean AND p.enabled AND p.name NOT IN (SELECT name FROM input)
  RETURNING p.name
)
SELECT d.disabled, u.*
FROM (SELECT COALESCE(jsonb_agg(name ORDER BY name), '[]'::jsonb) AS disabled FROM disabled) d
LEFT JOIN upserted u ON TRUE
ORDER BY u.name
`;
