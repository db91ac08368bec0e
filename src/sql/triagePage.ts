/**
 * One page of the dashboard's failed and retrying lists, newest first, filtered by queue and task path.
 * Keyset pagination: the cursor is the last row shown, so a deep page costs what the first does.
 * `ORDER BY <time> DESC` puts NULL times first, which is the backward order of a plain btree on that
 * column, so FAILED walks idx_task_runs_failed_at without sorting every failure (rows other clients
 * wrote without a time come first). Retrying rows (READY after a failed attempt) have no index of
 * their own: they are read through the READY partial indexes, bounded by the backlog.
 *
 * $1 limit, $2 queue or NULL, $3 task_path or NULL; $4 and $5 the cursor: the last row's time (NULL
 * when it had none) and result_id (NULL for the first page).
 */
function page(where: string, time: 'failed_at' | 'last_attempted_at'): string {
  return `
SELECT result_id, queue_name, COALESCE(task_path, spec_json->>'task_path') AS task_path, status, attempts, max_attempts,
       left(COALESCE(last_error, NULLIF(concat_ws(': ', NULLIF(errors_json->-1->>'exception_class', ''), errors_json->-1->>'message'), '')), 300)
         AS last_error, ${time} AS at,
       to_char(${time} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at, run_after
FROM task_runs
WHERE ${where}
  AND ($2::text IS NULL OR queue_name = $2)
  AND ($3::text IS NULL OR task_path = $3)
  AND ($5::bigint IS NULL
       OR ($4::timestamptz IS NULL AND (${time} IS NOT NULL OR result_id < $5))
       OR (${time}, result_id) < ($4::timestamptz, $5::bigint))
ORDER BY ${time} DESC, result_id DESC
LIMIT $1
`;
}

/** FAILED rows (upstream's dead-letter queue), newest failure first. */
export const FAILED_PAGE = page(`status = 'FAILED'`, 'failed_at');

/** READY rows with attempts behind them: waiting out a backoff, or due again; latest attempt first. */
export const RETRYING_PAGE = page(`status = 'READY' AND attempts > 0`, 'last_attempted_at');
