/**
 * One task as an operator reads it: the `task_runs` columns (spec_json reduced to its args and kwargs), and the
 * `workflow_runs` row of its chord when it has one. No row: no task $1.
 */
export const GET_TASK = `
SELECT t.result_id, COALESCE(t.task_path, t.spec_json->>'task_path') AS task_path, t.queue_name, t.status,
       t.priority, t.attempts, t.max_attempts, t.timeout_seconds,
       t.enqueued_at, t.run_after, t.started_at, t.last_attempted_at, t.finished_at, t.failed_at, t.updated_at,
       t.expires_at, t.spec_json->'args' AS args, t.spec_json->'kwargs' AS kwargs, t.return_json, t.errors_json,
       t.last_error, t.leased_by, t.leased_until, t.cancel_requested, t.worker_ids, t.logs_uri, t.lock_key,
       t.concurrency_key, t.concurrency_limit, rtrim(t.spec_hash) AS spec_hash, t.metadata_json, t.workflow_id,
       t.parent_id, t.wait_count,
       w.status AS workflow_status, w.expected_count AS workflow_expected_count,
       w.success_count AS workflow_success_count, w.failure_count AS workflow_failure_count,
       w.callback_result_id AS workflow_callback_result_id
  FROM task_runs t LEFT JOIN workflow_runs w ON w.workflow_id = t.workflow_id
 WHERE t.result_id = $1::bigint
`;
