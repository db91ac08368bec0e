/**
 * Upstream's triage retry: FAILED → READY now, attempts 0, timing/result/error/lease columns and
 * cancel_requested cleared; errors_json, worker_ids and logs_uri are kept as history. $1 = one result_id, or
 * NULL for every FAILED row. A row whose spec is active again violates the active-spec index (23505).
 */
export const TRIAGE_RETRY = `
UPDATE task_runs SET
  status = 'READY', run_after = NOW(), attempts = 0, started_at = NULL, last_attempted_at = NULL,
  finished_at = NULL, return_json = NULL, last_error = NULL, failed_at = NULL, leased_until = NULL,
  leased_by = NULL, cancel_requested = FALSE, updated_at = NOW()
WHERE status = 'FAILED' AND ($1::bigint IS NULL OR result_id = $1)
RETURNING result_id
`;
