/**
 * One task with everything the dashboard shows: its columns, the spec, result and metadata
 * pretty-printed by Postgres (numbers stay exactly as stored) and cut at $2 characters, and the last
 * $3 entries of errors_json. A row another client wrote with a non-array errors_json gets it as text.
 */
export const TASK_DETAIL = `
SELECT t.result_id, t.backend_alias, t.queue_name, COALESCE(t.task_path, t.spec_json->>'task_path') AS task_path, t.status,
       t.priority, t.attempts, t.max_attempts, t.timeout_seconds, t.enqueued_at, t.run_after, t.started_at,
       t.last_attempted_at, t.finished_at, t.failed_at, t.expires_at, t.leased_by, t.leased_until, t.cancel_requested,
       t.lock_key, t.concurrency_key, t.concurrency_limit, t.spec_hash, t.logs_uri, t.artifacts_uri, t.last_error,
       t.workflow_id, t.parent_id, t.wait_count, t.worker_ids,
       left(p.spec, $2) AS spec, length(p.spec) > $2 AS spec_cut,
       left(p.result, $2) AS result, length(p.result) > $2 AS result_cut,
       left(p.metadata, $2) AS metadata, length(p.metadata) > $2 AS metadata_cut,
       CASE WHEN jsonb_typeof(t.errors_json) = 'array' THEN jsonb_array_length(t.errors_json) END AS error_count,
       CASE WHEN jsonb_typeof(t.errors_json) = 'array' THEN
         (SELECT COALESCE(jsonb_agg(e.value ORDER BY e.n), '[]'::jsonb)
          FROM jsonb_array_elements(t.errors_json) WITH ORDINALITY AS e(value, n)
          WHERE e.n > jsonb_array_length(t.errors_json) - $3)
       END AS errors,
       CASE WHEN jsonb_typeof(t.errors_json) <> 'array' THEN left(t.errors_json::text, $2) END AS errors_text
FROM task_runs t,
     LATERAL (SELECT jsonb_pretty(t.spec_json) AS spec, jsonb_pretty(t.return_json) AS result,
                     jsonb_pretty(t.metadata_json) AS metadata) p
WHERE t.result_id = $1::bigint
`;
