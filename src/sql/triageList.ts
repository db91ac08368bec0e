/** Upstream's dead-letter list: FAILED rows, newest failure first; $1 limit, $2 queue or NULL for all. */
export const TRIAGE_LIST = `
SELECT result_id, queue_name, COALESCE(task_path, spec_json->>'task_path') AS task_path, status, attempts,
       max_attempts, last_error, failed_at, last_attempted_at, finished_at
FROM task_runs
WHERE status = 'FAILED' AND ($2::text IS NULL OR queue_name = $2)
ORDER BY failed_at DESC NULLS LAST, finished_at DESC NULLS LAST, result_id DESC
LIMIT $1
`;
