import { endUnstartedSet, workflowCascadeCtes } from './workflowCascade.ts';

/**
 * Ends the dependants that other clients left stranded, in one statement, with the same cascade as
 * every statement of ours that ends a task (workflowCascade.ts). Our own statements never strand a
 * dependant, but the database is shared: Django's admin sets CANCELLED on READY rows directly, the
 * Go worker's reclaim fails a chord member without touching its workflow and its completion never
 * cascades a chain failure, and psql deletes rows (the foreign key then sets the child's parent_id to
 * NULL). Nothing would ever release those rows, so reclaim, which already repairs what crashed
 * workers left behind, runs this after its lease reclaim. It finds:
 *  - WAITING rows whose parent is FAILED or CANCELLED (the parent is the cascade's source);
 *  - FAILED or CANCELLED chord members of a workflow still RUNNING, or of a FAILED workflow whose
 *    callback still waits (the member is the source);
 *  - WAITING rows with no parent that no workflow_runs row names as its callback, unchanged for
 *    `$2` seconds: their parent was deleted. The grace period covers Django's chord, which inserts
 *    the callback before its workflow_runs row, outside a transaction. They end FAILED with kind
 *    `workflow_orphaned`, and their own descendants with them;
 *  - RUNNING chords, unchanged for `$2` seconds and with no failed member, that counted fewer
 *    successes than they have SUCCESSFUL members: a member that succeeded before Django wrote the
 *    workflow_runs row was never counted, and the callback would wait for ever. The count is raised
 *    to what the rows show (never lowered: a completion committing meanwhile has counted its own),
 *    and the callback released when it reaches expected_count.
 * At most `$1` (NULL = all) of each kind per statement. Returns how many orphans and other
 * dependants ended, and how many callbacks a recount released.
 */
export const SWEEP_STRANDED_DEPENDANTS = `
WITH RECURSIVE stranded_parent AS (
  SELECT p.result_id, p.status, p.workflow_id
  FROM task_runs p
  WHERE p.result_id IN (SELECT c.parent_id FROM task_runs c WHERE c.status = 'WAITING' AND c.parent_id IS NOT NULL)
    AND p.status IN ('FAILED', 'CANCELLED')
  LIMIT $1::int
),
open_workflow AS (
  SELECT w.workflow_id, w.callback_result_id FROM workflow_runs w WHERE w.status = 'RUNNING'
  UNION
  SELECT w.workflow_id, w.callback_result_id
  FROM task_runs cb JOIN workflow_runs w ON w.callback_result_id = cb.result_id
  WHERE cb.status = 'WAITING' AND cb.parent_id IS NULL AND w.status = 'FAILED'
),
stranded_member AS (
  SELECT m.result_id, m.status, m.workflow_id
  FROM open_workflow w JOIN task_runs m ON m.workflow_id = w.workflow_id
  WHERE m.status IN ('FAILED', 'CANCELLED') AND m.result_id <> w.callback_result_id
  LIMIT $1::int
),
orphaned AS (
  UPDATE task_runs t SET ${endUnstartedSet(
    "'FAILED'",
    "'workflow_orphaned'",
    "'Workflow failed because the task it waited on no longer exists'",
  )}
  WHERE t.result_id IN (
      SELECT o.result_id FROM task_runs o
      WHERE o.status = 'WAITING' AND o.parent_id IS NULL
        AND o.updated_at < NOW() - make_interval(secs => $2::float8)
        AND NOT EXISTS (SELECT 1 FROM workflow_runs w WHERE w.callback_result_id = o.result_id)
      LIMIT $1::int
      FOR UPDATE SKIP LOCKED)
    AND t.status = 'WAITING' AND t.parent_id IS NULL
  RETURNING t.result_id, t.status, t.workflow_id
),
stranded AS (
  SELECT * FROM stranded_parent UNION SELECT * FROM stranded_member UNION SELECT * FROM orphaned
),${workflowCascadeCtes('stranded', 'ended')},
recounted AS (
  UPDATE workflow_runs w SET
    success_count = m.ok,
    status = CASE WHEN m.ok >= w.expected_count THEN 'WAITING_CALLBACK' ELSE w.status END,
    updated_at = NOW()
  FROM (
    SELECT r.workflow_id,
      count(*) FILTER (WHERE t.status = 'SUCCESSFUL') AS ok,
      count(*) FILTER (WHERE t.status IN ('FAILED', 'CANCELLED')) AS bad
    FROM workflow_runs r JOIN task_runs t ON t.workflow_id = r.workflow_id AND t.result_id <> r.callback_result_id
    WHERE r.status = 'RUNNING' AND r.failure_count = 0 AND r.updated_at < NOW() - make_interval(secs => $2::float8)
    GROUP BY r.workflow_id
    LIMIT $1::int
  ) m
  WHERE w.workflow_id = m.workflow_id AND m.bad = 0 AND m.ok > w.success_count
    AND w.status = 'RUNNING' AND w.failure_count = 0
    AND w.workflow_id NOT IN (SELECT workflow_id FROM wf_delta)
  RETURNING w.callback_result_id, w.status
),
recount_released AS (
  UPDATE task_runs cb SET status = 'READY', wait_count = 0, updated_at = NOW()
  FROM recounted r
  WHERE r.status = 'WAITING_CALLBACK' AND cb.result_id = r.callback_result_id AND cb.status = 'WAITING'
    AND cb.result_id NOT IN (SELECT result_id FROM stranded)
    AND cb.result_id NOT IN (SELECT result_id FROM children)
    AND cb.result_id NOT IN (SELECT result_id FROM callbacks)
    AND cb.result_id NOT IN (SELECT result_id FROM ended)
  RETURNING cb.result_id
)
SELECT (SELECT count(*) FROM orphaned)::int AS orphaned, (SELECT count(*) FROM ended)::int AS ended,
       (SELECT count(*) FROM recount_released)::int AS released
`;
