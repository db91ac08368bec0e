/**
 * The beat's read: one page of due periodic tasks, without locks (the write that follows is
 * conditional on the `next_run_at` read here, which is what serialises concurrent ticks).
 * Keyset-paged on (next_run_at, name) so rows that fail to parse, which stay due, cannot starve
 * the ones behind them. `next_run_at` comes back as exact text (microseconds) because the write
 * compares it for equality, and a JS Date keeps only milliseconds. args/kwargs come back as
 * jsonb's own text so the Go-beat spec bytes can be rebuilt exactly (RawJson).
 *
 * $1 now, $2/$3 the last (next_run_at text, name) of the previous page, $4 page size.
 * Served by idx_periodic_tasks_next_run (next_run_at) WHERE enabled.
 */
export const DUE_PERIODIC_TASKS = `
SELECT name, cron_expr, task_path, queue_name, priority, max_attempts, concurrency_key, concurrency_limit,
  to_char(next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS next_run_at,
  payload_json::text AS payload_text,
  (payload_json -> 'args')::text AS args_text,
  (payload_json -> 'kwargs')::text AS kwargs_text
FROM periodic_tasks
WHERE enabled
  AND next_run_at <= $1::timestamptz
  AND (next_run_at, name) > ($2::timestamptz, $3::text)
ORDER BY next_run_at, name
LIMIT $4
`;
