import { workflowCascadeCtes } from './workflowCascade.ts';

/**
 * `reproq cancel`: Django admin's semantics in one statement. A RUNNING task gets cancel_requested (its
 * worker stops it at the next lease renewal and records kind=cancelled); a READY or WAITING task has not
 * started, so it becomes CANCELLED at once, which every worker skips. Terminal rows are left alone.
 * A task cancelled here ends what waits on it in the same statement (workflowCascade.ts): its chain
 * descendants and its chord's callback become CANCELLED (kind workflow_cancelled) and its
 * workflow_runs row FAILED. A RUNNING task's dependants end when its worker records the cancel.
 * Returns the status before and after and `dependants` (how many ended), or no row when result_id
 * $1 does not exist.
 */
export const CANCEL_TASK = `
WITH RECURSIVE target AS (
  SELECT result_id, status, cancel_requested FROM task_runs WHERE result_id = $1 FOR UPDATE
),
changed AS (
  UPDATE task_runs t SET
    cancel_requested = CASE WHEN t.status = 'RUNNING' THEN TRUE ELSE t.cancel_requested END,
    status = CASE WHEN t.status IN ('READY', 'WAITING') THEN 'CANCELLED' ELSE t.status END,
    finished_at = CASE WHEN t.status IN ('READY', 'WAITING') THEN NOW() ELSE t.finished_at END,
    updated_at = NOW()
  FROM target
  WHERE t.result_id = target.result_id
    AND (t.status IN ('READY', 'WAITING') OR (t.status = 'RUNNING' AND NOT t.cancel_requested))
  RETURNING t.result_id, t.status, t.workflow_id
),${workflowCascadeCtes('changed', 'ended')}
SELECT target.result_id, target.status AS before, COALESCE(changed.status, target.status) AS after,
       target.cancel_requested AS already_requested, changed.status IS NOT NULL AS changed,
       (SELECT count(*) FROM ended)::int AS dependants
FROM target LEFT JOIN changed ON TRUE
`;
