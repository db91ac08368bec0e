/**
 * The beat's read: one page of due periodic tasks, without locks (the write that follows is
 * conditional on the `next_run_at` read here, which is what serialises concurrent ticks).
 * `next_run_at` comes back as exact text (microseconds) because the write compares it for
 * equality, and a JS Date keeps only milliseconds. args/kwargs come back as jsonb's own text so
 * the Go-beat spec bytes can be rebuilt exactly (RawJson).
 *
 * Rows whose `next_run_at` no run can be scheduled at (NULL, which a table created outside the
 * migrations may allow, `-infinity` or a BC date) come first, ordered by name, with
 * `next_run_at` NULL and the stored value in `next_run_at_raw`: the beat reports them instead of
 * never looking at them. Then the due rows, keyset-paged on (next_run_at, name), so rows that
 * fail to schedule, which stay due, cannot starve the ones behind them.
 *
 * $1 now; $2/$3 the cursor: the last (next_run_at text, name) of the previous page, or
 * (NULL, name) while still among the unschedulable rows, (NULL, '') at the start; $4 page size.
 * The due half is served by idx_periodic_tasks_next_run (next_run_at) WHERE enabled.
 */
export const DUE_PERIODIC_TASKS = `
SELECT name, cron_expr, task_path, queue_name, priority, max_attempts, concurrency_key, concurrency_limit,
  CASE WHEN schedulable THEN to_char(next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END AS next_run_at,
  next_run_at::text AS next_run_at_raw,
  payload_json::text AS payload_text,
  (payload_json -> 'args')::text AS args_text,
  (payload_json -> 'kwargs')::text AS kwargs_text
FROM periodic_tasks p,
  LATERAL (SELECT p.next_run_at >= '0001-01-01T00:00:00Z'::timestamptz AS schedulable) s
WHERE p.enabled AND (
  ($2::timestamptz IS NULL AND s.schedulable IS NOT TRUE AND p.name > $3::text)
  OR (s.schedulable AND p.next_run_at <= $1::timestamptz
      AND ($2::timestamptz IS NULL OR (p.next_run_at, p.name) > ($2::timestamptz, $3::text)))
)
ORDER BY s.schedulable IS TRUE, CASE WHEN s.schedulable THEN p.next_run_at END, p.name
LIMIT $4
`;
