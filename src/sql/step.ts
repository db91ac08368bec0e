/**
 * The drain's one statement per batch: record the outcomes of the previous batch, then claim the
 * next one, in a single round trip. Either half may be empty: `[]` outcomes for the first claim,
 * limit 0 for the last completion.
 *
 * Parameters:
 *  $1 outcomes: JSON array of {result_id, action, return_text, error, last_error, delay_s, logs_uri}
 *     where action is success | retry | fail | release (release = handed back unstarted, the
 *     attempt it took is given back).
 *  $2 leased_by of this invocation (the fence: only rows still RUNNING under it are written)
 *  $3 queue to claim from, $4 task paths this drain can run, $5 how many to claim,
 *  $6 lease seconds, $7 the reproq_workers row to upsert (JSON) or NULL,
 *  $8 sweep: when true, claim only rows whose task_path is NOT among $4 (to fail unknown tasks).
 *
 * Completion follows upstream's success/failure transitions, including chain release and chord
 * bookkeeping, but for a whole batch: per-workflow deltas are aggregated first because one
 * statement must not update a workflow_runs row twice. Claiming follows upstream's predicate
 * (due, queue not paused, lock_key free, concurrency below the row's limit) and adds the
 * in-batch limits a batch needs: one row per lock_key, no more rows per concurrency_key than its
 * free slots, and no more rows per rate-limit bucket than its whole tokens (upstream checks only
 * the head candidate; a batch takes as many as the bucket allows). The claim order is upstream's aged priority; with the default aging factor it
 * reads idx_task_runs_claim_rank instead of sorting the queue.
 *
 * Result: one row per claimed task (plain columns, no JSON re-encoding); the first row carries the
 * `completed` [id, action] pairs (a single row of NULLs but `completed` when nothing was claimed).
 */
export function stepSql(agingFactor: number): string {
  const order =
    agingFactor > 0
      ? `reproq_claim_rank(tr.priority, tr.enqueued_at, ${formatFactor(agingFactor)}) DESC`
      : 'tr.priority DESC, tr.enqueued_at ASC';
  return `
WITH outcome AS (
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
  RETURNING t.result_id, o.action, t.workflow_id
),
children AS (
  UPDATE task_runs c SET
    wait_count = c.wait_count - 1,
    status = CASE WHEN c.wait_count - 1 <= 0 THEN 'READY' ELSE 'WAITING' END,
    updated_at = NOW()
  FROM done d
  WHERE d.action = 'success' AND c.parent_id = d.result_id AND c.status = 'WAITING'
  RETURNING c.result_id
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
  RETURNING cb.result_id
),
registered AS (
  INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues, version, started_at, last_seen_at)
  SELECT w.worker_id, w.hostname, w.concurrency, w.queues, w.version, NOW(), NOW()
  FROM jsonb_to_record($7::jsonb) AS w(worker_id text, hostname text, concurrency int, queues jsonb, version text)
  WHERE $7::jsonb IS NOT NULL
  ON CONFLICT (worker_id) DO UPDATE SET
    hostname = EXCLUDED.hostname, concurrency = EXCLUDED.concurrency, queues = EXCLUDED.queues,
    version = EXCLUDED.version, last_seen_at = NOW()
  RETURNING 1
),
locked AS MATERIALIZED (
  SELECT tr.result_id, tr.task_path, tr.lock_key, tr.concurrency_key, tr.concurrency_limit, tr.priority, tr.enqueued_at
  FROM task_runs tr
  WHERE tr.status = 'READY'
    AND tr.queue_name = $3
    AND COALESCE(tr.run_after, '-infinity'::timestamptz) <= NOW()
    AND COALESCE(tr.task_path = ANY($4::text[]), FALSE) <> $8::boolean
    AND NOT EXISTS (SELECT 1 FROM reproq_queue_controls qc WHERE qc.queue_name = $3 AND qc.paused)
    AND (tr.lock_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM task_runs l WHERE l.lock_key = tr.lock_key AND l.status = 'RUNNING'))
    AND (tr.concurrency_key IS NULL OR tr.concurrency_key = '' OR tr.concurrency_limit <= 0
      OR (SELECT count(*) FROM task_runs r
          WHERE r.status = 'RUNNING' AND r.concurrency_key = tr.concurrency_key) < tr.concurrency_limit)
  ORDER BY ${order}
  LIMIT $5
  FOR UPDATE OF tr SKIP LOCKED
),
limited AS (
  -- Upstream's rate-limit key: the first existing row of task:<path>, queue:<queue>, global; a
  -- row with rate or burst <= 0 means unlimited. Skipped outright while no limit is active.
  SELECT l.result_id, rl.key,
    LEAST(rl.burst_size, rl.current_tokens
      + EXTRACT(EPOCH FROM (NOW() - rl.last_refilled_at)) * rl.tokens_per_second) AS available
  FROM locked l
  CROSS JOIN LATERAL (
    SELECT r.* FROM rate_limits r
    WHERE r.key IN ('task:' || l.task_path, 'queue:' || $3, 'global')
    ORDER BY (r.key = 'global'), (r.key LIKE 'queue:%')
    LIMIT 1
  ) rl
  WHERE (SELECT bool_or(tokens_per_second > 0 AND burst_size > 0) FROM rate_limits)
    AND rl.tokens_per_second > 0 AND rl.burst_size > 0
),
picked AS (
  SELECT k.result_id, k.limit_key FROM (
    SELECT l.*, lim.key AS limit_key, lim.available,
      row_number() OVER (PARTITION BY l.lock_key ORDER BY l.priority DESC, l.enqueued_at) AS lock_rank,
      row_number() OVER (PARTITION BY l.concurrency_key ORDER BY l.priority DESC, l.enqueued_at) AS slot,
      row_number() OVER (PARTITION BY lim.key ORDER BY l.priority DESC, l.enqueued_at) AS token
    FROM locked l LEFT JOIN limited lim ON lim.result_id = l.result_id
  ) k
  WHERE (k.lock_key IS NULL OR k.lock_rank = 1)
    AND (k.concurrency_key IS NULL OR k.concurrency_key = '' OR k.concurrency_limit <= 0
      OR k.slot + (SELECT count(*) FROM task_runs r
                   WHERE r.status = 'RUNNING' AND r.concurrency_key = k.concurrency_key) <= k.concurrency_limit)
    AND (k.limit_key IS NULL OR k.token <= k.available)
),
spent AS (
  -- One token per claimed task, taken only if the bucket still holds them all (a concurrent drain
  -- may have spent some since our snapshot); otherwise that key's tasks wait for a later claim.
  UPDATE rate_limits r SET
    current_tokens = LEAST(r.burst_size, r.current_tokens
      + EXTRACT(EPOCH FROM (NOW() - r.last_refilled_at)) * r.tokens_per_second) - p.n,
    last_refilled_at = NOW()
  FROM (SELECT limit_key, count(*) AS n FROM picked WHERE limit_key IS NOT NULL GROUP BY limit_key) p
  WHERE r.key = p.limit_key
    AND LEAST(r.burst_size, r.current_tokens + EXTRACT(EPOCH FROM (NOW() - r.last_refilled_at)) * r.tokens_per_second) >= p.n
  RETURNING r.key
),
claimed AS (
  UPDATE task_runs t SET
    status = 'RUNNING',
    started_at = COALESCE(t.started_at, NOW()),
    last_attempted_at = NOW(),
    attempts = t.attempts + 1,
    leased_until = NOW() + make_interval(secs => $6::float8),
    leased_by = $2,
    worker_ids = COALESCE(t.worker_ids, '[]'::jsonb) || jsonb_build_array($2::text),
    updated_at = NOW()
  WHERE t.result_id = ANY(ARRAY(
    SELECT result_id FROM picked WHERE limit_key IS NULL OR limit_key IN (SELECT key FROM spent)))
  RETURNING t.result_id, t.queue_name, t.task_path, t.priority, t.attempts, t.max_attempts,
    t.timeout_seconds, t.spec_json, t.spec_hash, t.enqueued_at, t.cancel_requested
)
SELECT CASE WHEN row_number() OVER () = 1 THEN r.completed END AS completed, c.*
FROM (SELECT COALESCE(jsonb_agg(jsonb_build_array(d.result_id, d.action)), '[]'::jsonb) AS completed FROM done d) r
LEFT JOIN claimed c ON TRUE
`;
}

/** The factor is inlined (not a parameter) so the planner can match the claim-rank index. */
function formatFactor(f: number): string {
  if (!Number.isFinite(f) || f <= 0) throw new RangeError(`aging factor must be a positive number, got ${f}`);
  return Number.isInteger(f) ? String(f) : f.toExponential();
}
