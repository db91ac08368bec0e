/**
 * Extends the leases of a drain's running tasks in one statement, fenced on leased_by and
 * RUNNING. Rows missing from the result lost their lease (reclaimed, cancelled elsewhere);
 * `cancel_requested` tells the drain to abort a run.
 */
export const RENEW_LEASES = `
UPDATE task_runs
SET leased_until = NOW() + make_interval(secs => $3::float8), updated_at = NOW()
WHERE result_id = ANY($1::bigint[]) AND leased_by = $2 AND status = 'RUNNING'
RETURNING result_id, cancel_requested
`;
