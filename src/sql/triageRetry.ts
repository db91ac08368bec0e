/**
 * Upstream's triage retry: FAILED → READY now, attempts 0, timing/result/error/lease columns and
 * cancel_requested cleared; errors_json, worker_ids and logs_uri are kept as history. $1 = one result_id, or
 * NULL for every FAILED row. A row whose spec is active again violates the active-spec index (23505).
 *
 * The workflow cascade (workflowCascade.ts) fails a failed task's chain descendants, where upstream left them
 * WAITING, so retrying a chain's failed link used to resume the chain. It still does: the links this task's
 * failure ended (last errors_json entry `workflow_failed` naming it) go back to WAITING and run after it
 * succeeds. With NULL, rows that only failed because something they waited on failed (that entry last:
 * chain links and chord callbacks) are not made READY themselves, which would run them out of order; the
 * links come back with their cause. Returns the retried ids and, on each row, how many links came back.
 */
export const TRIAGE_RETRY = `
WITH cause AS (
  SELECT result_id, failed_at FROM task_runs
  WHERE status = 'FAILED'
    AND ($1::bigint IS NULL AND COALESCE(errors_json -> -1 ->> 'kind', '') <> 'workflow_failed' OR result_id = $1)
  FOR UPDATE
),
retried AS (
  UPDATE task_runs t SET
    status = 'READY', run_after = NOW(), attempts = 0, started_at = NULL, last_attempted_at = NULL,
    finished_at = NULL, return_json = NULL, last_error = NULL, failed_at = NULL, leased_until = NULL,
    leased_by = NULL, cancel_requested = FALSE, updated_at = NOW()
  FROM cause c
  WHERE t.result_id = c.result_id
  RETURNING t.result_id
),
resumed AS (
  -- A link fails with or after its cause, so idx_task_runs_failed_at bounds the search.
  UPDATE task_runs t SET
    status = 'WAITING', wait_count = 1, finished_at = NULL, failed_at = NULL, last_error = NULL, updated_at = NOW()
  WHERE t.status = 'FAILED' AND t.failed_at >= (SELECT CASE WHEN bool_or(failed_at IS NULL) THEN '-infinity' ELSE min(failed_at) END FROM cause)
    AND t.parent_id IS NOT NULL
    AND t.errors_json -> -1 ->> 'kind' = 'workflow_failed'
    AND t.errors_json -> -1 ->> 'failed_result_id' IN (SELECT result_id::text FROM cause)
    AND t.result_id NOT IN (SELECT result_id FROM cause)
  RETURNING t.result_id
)
SELECT result_id, (SELECT count(*) FROM resumed)::int AS resumed FROM retried
`;
