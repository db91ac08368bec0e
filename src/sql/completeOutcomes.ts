/**
 * The completion half of the drain's step, as CTEs to splice into a WITH list: record a batch of
 * outcomes fenced on `leased_by` ($2) and RUNNING, then apply upstream's success/failure
 * transitions for a whole batch (chain release, chord bookkeeping). Per-workflow deltas are
 * aggregated first because one statement must not update a workflow_runs row twice.
 *
 * Reads $1 (the outcomes JSON) and $2 (leased_by). Defines `outcome`, `done` (result_id, action,
 * workflow_id and held_slot of every row written), `children`, `wf_delta`, `wf` and `callbacks`
 * (`children` and `callbacks` return result_id and the new status). step.ts counts from these what
 * the completion made claimable.
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
  -- The ANY keeps the plan on the primary key; a bare join may scan every RUNNING row instead.
  WHERE t.result_id = ANY(ARRAY(SELECT result_id FROM outcome))
    AND t.result_id = o.result_id AND t.leased_by = $2 AND t.status = 'RUNNING'
  RETURNING t.result_id, o.action, t.workflow_id,
    (t.lock_key IS NOT NULL OR (t.concurrency_key <> '' AND t.concurrency_limit > 0)) AS held_slot
),
children AS (
  UPDATE task_runs c SET
    wait_count = c.wait_count - 1,
    status = CASE WHEN c.wait_count - 1 <= 0 THEN 'READY' ELSE 'WAITING' END,
    updated_at = NOW()
  FROM done d
  WHERE d.action = 'success' AND c.parent_id = d.result_id AND c.status = 'WAITING'
  RETURNING c.result_id, c.status
),
wf_delta AS (
  SELECT w.workflow_id,
    count(*) FILTER (WHERE d.action = 'success' AND d.result_id <> w.callback_result_id) AS members_ok,
    count(*) FILTER (WHERE d.action = 'fail' AND d.result_id <> w.callback_result_id) AS members_failed,
    min(d.result_id) FILTER (WHERE d.action = 'fail' AND d.result_id <> w.callback_result_id) AS first_failed,
    bool_or(d.action = 'success' AND d.result_id = w.callback_result_id) AS callback_ok,
    bool_or(d.action = 'fail' AND d.result_id = w.callback_result_id) AS callback_failed
  FROM done d JOIN workflow_runs w ON w.workflow_id = d.workflow_id
  WHERE d.action IN ('success', 'fail')
  GROUP BY w.workflow_id
),
wf AS (
  UPDATE workflow_runs w SET
    success_count = w.success_count + CASE WHEN w.status <> 'FAILED' THEN x.members_ok ELSE 0 END,
    failure_count = w.failure_count + CASE WHEN w.status <> 'FAILED' THEN x.members_failed ELSE 0 END,
    status = CASE
      WHEN x.callback_ok THEN 'SUCCESSFUL'
      WHEN x.callback_failed THEN 'FAILED'
      WHEN w.status = 'FAILED' THEN w.status
      WHEN x.members_failed > 0 THEN 'FAILED'
      WHEN w.failure_count = 0 AND w.success_count + x.members_ok >= w.expected_count THEN 'WAITING_CALLBACK'
      ELSE w.status END,
    updated_at = NOW()
  FROM wf_delta x
  WHERE w.workflow_id = x.workflow_id
  RETURNING w.callback_result_id, w.status, x.first_failed
),
callbacks AS (
  UPDATE task_runs cb SET
    status = CASE WHEN wf.status = 'WAITING_CALLBACK' THEN 'READY' ELSE 'FAILED' END,
    wait_count = 0,
    finished_at = CASE WHEN wf.status = 'FAILED' THEN NOW() ELSE cb.finished_at END,
    failed_at = CASE WHEN wf.status = 'FAILED' THEN NOW() ELSE cb.failed_at END,
    run_after = CASE WHEN wf.status = 'FAILED' THEN NULL ELSE cb.run_after END,
    errors_json = CASE WHEN wf.status = 'FAILED'
      THEN cb.errors_json || jsonb_build_array(jsonb_build_object(
        'kind', 'workflow_failed', 'message', 'Workflow failed due to task failure',
        'failed_result_id', wf.first_failed, 'at', NOW()))
      ELSE cb.errors_json END,
    last_error = CASE WHEN wf.status = 'FAILED'
      THEN 'workflow_failed: Workflow failed due to task failure' ELSE cb.last_error END,
    updated_at = NOW()
  FROM wf
  WHERE cb.result_id = wf.callback_result_id
    AND ((wf.status = 'WAITING_CALLBACK' AND cb.status = 'WAITING')
      OR (wf.status = 'FAILED' AND wf.first_failed IS NOT NULL AND cb.status IN ('WAITING', 'READY')))
  RETURNING cb.result_id, cb.status
)
`;
