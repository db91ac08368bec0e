import { keyless } from './claimBatch.ts';
import { workflowCascadeCtes } from './workflowCascade.ts';

/**
 * The completion half of the drain's step, as CTEs to splice into a `WITH RECURSIVE` list: record a
 * batch of outcomes fenced on `leased_by` ($2) and RUNNING, then end or release what waits on the
 * tasks that finished (workflowCascade.ts: chain children, chord bookkeeping, cascades of failures).
 *
 * Reads $1 (the outcomes JSON) and $2 (leased_by). Defines `outcome`, `done` (result_id, action,
 * status, workflow_id of every row written, and held_slot: it held a lock_key or a concurrency
 * slot) and the cascade's CTEs, among them `children` and `callbacks` (rows made READY, with their
 * status) and `ended` (dependants ended). step.ts counts from these what the completion made
 * claimable.
 */
export const COMPLETE_OUTCOMES_CTES = `
outcome AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(
    result_id bigint, action text, return_text text, error jsonb, last_error text, delay_s float8, logs_uri text)
),
done AS (
  UPDATE task_runs t SET
    status = CASE o.action WHEN 'success' THEN 'SUCCESSFUL' WHEN 'fail' THEN 'FAILED' ELSE 'READY' END,
    finished_at = CASE WHEN o.action IN ('success', 'fail') THEN NOW() END,
    return_json = CASE WHEN o.action = 'success' THEN o.return_text::jsonb ELSE t.return_json END,
    errors_json = CASE WHEN o.error IS NULL THEN t.errors_json ELSE t.errors_json || jsonb_build_array(o.error) END,
    last_error = CASE o.action WHEN 'fail' THEN o.last_error WHEN 'release' THEN t.last_error END,
    failed_at = CASE o.action WHEN 'fail' THEN NOW() WHEN 'release' THEN t.failed_at END,
    run_after = CASE o.action
      WHEN 'retry' THEN NOW() + make_interval(secs => o.delay_s)
      WHEN 'fail' THEN NULL
      ELSE t.run_after END,
    attempts = CASE WHEN o.action = 'release' THEN GREATEST(t.attempts - 1, 0) ELSE t.attempts END,
    started_at = CASE WHEN o.action = 'release' AND t.attempts <= 1 THEN NULL ELSE t.started_at END,
    worker_ids = CASE WHEN o.action = 'release' THEN t.worker_ids - (jsonb_array_length(t.worker_ids) - 1)
                      ELSE t.worker_ids END,
    leased_until = NULL,
    leased_by = NULL,
    logs_uri = COALESCE(o.logs_uri, t.logs_uri),
    updated_at = NOW()
  FROM outcome o
  -- The ANY keeps the plan on the primary key; a bare join may scan every RUNNING row instead. So
  -- may the generic plan, through idx_task_runs_lock_key (WHERE status = 'RUNNING', NULL keys
  -- included), whenever the statistics saw few RUNNING rows: COLLATE "C" (the same equality for
  -- text) keeps the fence from matching that index's predicate.
  WHERE t.result_id = ANY(ARRAY(SELECT result_id FROM outcome))
    AND t.result_id = o.result_id AND t.leased_by = $2 AND t.status = 'RUNNING' COLLATE "C"
  RETURNING t.result_id, o.action, t.status, t.workflow_id,
    NOT (${keyless('t')}) AS held_slot
),${workflowCascadeCtes('done', 'ended')}
`;
