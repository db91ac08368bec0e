import { workflowCascadeCtes } from './workflowCascade.ts';

/**
 * Reclaim, in one statement: RUNNING rows whose lease ended more than `$1` seconds ago (and,
 * with `$2`, rows with no lease at all) are locked with SKIP LOCKED, oldest lease first, at most
 * `$3` of them (NULL = all). Upstream's Go transition: back to READY while attempts remain,
 * otherwise FAILED with `last_error`, and always one `lease_expiry` entry appended; the lease
 * columns are cleared, so the owner that lost the lease is fenced off (its completion matches
 * `leased_by` no more). `$4 = 'fail'` fails every matched row instead. With `$5` (dry run) the
 * rows are only listed. `run_after` and `cancel_requested` are left as they are, as upstream does.
 * RUNNING rows are few; idx_task_runs_lock_key (WHERE status = 'RUNNING') reaches them.
 *
 * Unlike upstream, a row this reclaim fails ends its workflow in the same statement
 * (workflowCascade.ts): chain descendants and a chord's callback end, the workflow_runs row fails.
 * Each row also carries `dependants`, how many waiting tasks that ended.
 */
export const RECLAIM_EXPIRED_LEASES = `
WITH RECURSIVE candidate AS (
  SELECT result_id, leased_until
  FROM task_runs
  WHERE status = 'RUNNING'
    AND (leased_until < NOW() - make_interval(secs => $1::float8) OR ($2::boolean AND leased_until IS NULL))
  ORDER BY leased_until NULLS FIRST, result_id
  LIMIT $3::int
  FOR UPDATE SKIP LOCKED
),
reclaimed AS (
  UPDATE task_runs t SET
    status = CASE WHEN $4::text = 'requeue' AND t.attempts < t.max_attempts THEN 'READY' ELSE 'FAILED' END,
    finished_at = CASE WHEN $4::text = 'requeue' AND t.attempts < t.max_attempts THEN NULL ELSE NOW() END,
    failed_at = CASE WHEN $4::text = 'requeue' AND t.attempts < t.max_attempts THEN NULL ELSE NOW() END,
    last_error = CASE WHEN $4::text = 'requeue' AND t.attempts < t.max_attempts THEN NULL
                      ELSE 'lease_expiry: Worker heartbeat lost or process crashed' END,
    errors_json = t.errors_json || jsonb_build_array(jsonb_build_object(
      'kind', 'lease_expiry', 'message', 'Worker heartbeat lost or process crashed', 'at', NOW())),
    leased_until = NULL,
    leased_by = NULL,
    updated_at = NOW()
  FROM candidate c
  WHERE t.result_id = c.result_id AND NOT $5::boolean
  RETURNING t.result_id, t.status, t.workflow_id
),${workflowCascadeCtes('reclaimed', 'ended')}
SELECT c.result_id, r.status, (SELECT count(*) FROM ended)::int AS dependants
FROM candidate c LEFT JOIN reclaimed r ON r.result_id = c.result_id
ORDER BY c.leased_until NULLS FIRST, c.result_id
`;
