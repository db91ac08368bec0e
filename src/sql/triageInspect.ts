/** One FAILED row with its spec, error history and result, for `triage inspect`. */
export const TRIAGE_INSPECT = `
SELECT result_id, queue_name, COALESCE(task_path, spec_json->>'task_path') AS task_path, status, attempts,
       max_attempts, last_error, failed_at, last_attempted_at, finished_at, spec_hash, spec_json, errors_json,
       return_json, logs_uri
FROM task_runs
WHERE result_id = $1 AND status = 'FAILED'
`;
