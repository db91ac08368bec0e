/**
 * The workflow around task $1: its workflow_runs row (a chord's, found by workflow_id or as its
 * callback), and the related tasks: the chain parent, WAITING chain children, the chord callback and
 * up to $2 members of the same workflow_id. Each part is an index lookup: the primary keys,
 * idx_task_runs_workflow_id, idx_task_runs_parent_id (WAITING) and idx_workflow_runs_callback.
 */
export const TASK_WORKFLOW = `
WITH t AS (SELECT result_id, workflow_id, parent_id FROM task_runs WHERE result_id = $1::bigint),
run AS (
  SELECT w.workflow_id, w.expected_count, w.success_count, w.failure_count, w.callback_result_id::text, w.status
  FROM workflow_runs w
  WHERE w.workflow_id = (SELECT workflow_id FROM t) OR w.callback_result_id = $1::bigint
  LIMIT 1
),
wf AS (SELECT COALESCE((SELECT workflow_id FROM t), (SELECT workflow_id FROM run)) AS id),
related AS (
  (SELECT result_id FROM task_runs WHERE workflow_id = (SELECT id FROM wf) ORDER BY result_id LIMIT $2)
  UNION SELECT parent_id FROM t WHERE parent_id IS NOT NULL
  UNION (SELECT result_id FROM task_runs WHERE parent_id = $1::bigint AND status = 'WAITING' ORDER BY result_id LIMIT $2)
  UNION SELECT callback_result_id::bigint FROM run WHERE callback_result_id IS NOT NULL
)
SELECT (SELECT id FROM wf) AS workflow_id,
       (SELECT to_jsonb(run) FROM run) AS run,
       COALESCE((
         SELECT jsonb_agg(jsonb_build_object(
                  'result_id', r.result_id::text, 'parent_id', r.parent_id::text, 'status', r.status,
                  'task_path', COALESCE(r.task_path, r.spec_json->>'task_path'), 'queue_name', r.queue_name)
                ORDER BY r.result_id)
         FROM task_runs r WHERE r.result_id IN (SELECT result_id FROM related) AND r.result_id <> $1::bigint
       ), '[]'::jsonb) AS tasks
FROM (SELECT 1) one
WHERE EXISTS (SELECT 1 FROM t)
`;
