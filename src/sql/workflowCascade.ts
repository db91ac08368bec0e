/**
 * What a task's end means for the tasks that wait on it: the one definition every statement that
 * ends tasks (completion, reclaim, cancel, expiry, the stranded-dependant sweep) splices in, so a
 * workflow always ends whichever path ended its task.
 *
 * A task is terminal when its status is SUCCESSFUL, FAILED or CANCELLED, or when its row is deleted
 * before it succeeded (expiry). Its outcome for the dependants:
 *  - `succeeded`: upstream's release. Each WAITING chain child counts it down and is READY at 0; a
 *    chord member adds to success_count and, once all succeeded, the callback becomes READY; the
 *    callback's own success ends its workflow SUCCESSFUL.
 *  - `failed`, `cancelled`, `expired`: every WAITING descendant along parent_id (transitively) and a
 *    chord's WAITING/READY callback end too, and the workflow_runs row becomes FAILED
 *    (failure_count + 1 per member). Upstream leaves chain children WAITING for ever and only fails a
 *    chord callback on a member's failure; see WORKFLOW_ENDS for the status and the errors_json entry
 *    each dependant gets.
 */

/** Statuses after which a task never runs again (CANCELLED is Django's). */
export const TERMINAL_STATUSES = ['SUCCESSFUL', 'FAILED', 'CANCELLED'] as const;

export type TerminalOutcome = 'succeeded' | 'failed' | 'cancelled' | 'expired';

/**
 * How a dependant ends, by the outcome of the task it waited on, and the errors_json entry it gets:
 * `{kind, message, <cause key>: result_id of that task, at}`. `workflow_failed` is upstream's entry
 * (its chord callback failure); the other two are ours, in the same shape.
 */
export const WORKFLOW_ENDS = {
  failed: { status: 'FAILED', kind: 'workflow_failed', message: 'Workflow failed due to task failure', causeKey: 'failed_result_id' },
  cancelled: { status: 'CANCELLED', kind: 'workflow_cancelled', message: 'Workflow cancelled due to task cancellation', causeKey: 'cancelled_result_id' },
  expired: { status: 'CANCELLED', kind: 'workflow_expired', message: 'Workflow cancelled due to task expiry', causeKey: 'expired_result_id' },
} as const satisfies Record<Exclude<TerminalOutcome, 'succeeded'>, { status: string; kind: string; message: string; causeKey: string }>;

/**
 * The row's outcome from its status: as written by the statement (`ended`), or as it was when the
 * statement deleted it (`deleted`: a SUCCESSFUL row released its dependants when it succeeded; any
 * other deleted row did not finish, so it expired). NULL: not terminal, nothing to do.
 */
function outcomeOf(status: string, how: 'ended' | 'deleted'): string {
  return how === 'ended'
    ? `CASE ${status} WHEN 'SUCCESSFUL' THEN 'succeeded' WHEN 'FAILED' THEN 'failed' WHEN 'CANCELLED' THEN 'cancelled' END`
    : `CASE ${status} WHEN 'SUCCESSFUL' THEN NULL WHEN 'FAILED' THEN 'failed' WHEN 'CANCELLED' THEN 'cancelled' ELSE 'expired' END`;
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * The SET list that ends a row `t` that never ran, as upstream ends a chord callback. Arguments are
 * SQL expressions; the errors_json entry is `{kind, message, at}` plus `extra` (a jsonb object), and
 * last_error is `<kind>: <message>` as upstream writes it.
 */
export function endUnstartedSet(status: string, kind: string, message: string, extra = "'{}'::jsonb"): string {
  return `
    status = ${status},
    finished_at = NOW(),
    failed_at = CASE WHEN ${status} = 'FAILED' THEN NOW() ELSE t.failed_at END,
    run_after = NULL,
    wait_count = 0,
    errors_json = t.errors_json || jsonb_build_array(
      jsonb_build_object('kind', ${kind}, 'message', ${message}, 'at', NOW()) || ${extra}),
    last_error = ${kind} || ': ' || ${message},
    updated_at = NOW()`;
}

/**
 * CTEs to splice into a `WITH RECURSIVE` list after `source`, a CTE of the rows the statement
 * ended, with columns (result_id, status, workflow_id): `status` as written (`ended`) or as found
 * when the statement deleted the row (`deleted`). Defines:
 *  - `terminal` (result_id, outcome, workflow_id): the source rows that are terminal;
 *  - `children` (result_id, status): WAITING chain children a success counted down (READY at 0);
 *  - `chain_doomed`: WAITING descendants of a failed/cancelled/expired task, each with the nearest
 *    such ancestor as its cause (a cycle written by hand ends the walk at a source row);
 *  - `wf_delta`, `wf`: the chord bookkeeping, aggregated per workflow so one statement updates a
 *    workflow_runs row once; `callbacks` (result_id, status): callbacks made READY;
 *  - `ended` (result_id, status): the dependants this statement ended (chain descendants and chord
 *    callbacks), never a row another CTE of the statement writes.
 * A chain-doomed row that is itself a chord member counts in its workflow here; the dependants of
 * a callback ended here are ended by the next sweep (src/sql/sweepStrandedDependants.ts).
 */
export function workflowCascadeCtes(source: string, how: 'ended' | 'deleted'): string {
  const ends = Object.entries(WORKFLOW_ENDS)
    .map(([outcome, e]) => `(${q(outcome)}, ${q(e.status)}, ${q(e.kind)}, ${q(e.message)}, ${q(e.causeKey)})`)
    .join(',\n    ');
  return `
terminal AS (
  SELECT s.result_id, ${outcomeOf('s.status', how)} AS outcome, s.workflow_id
  FROM ${source} s
  WHERE ${outcomeOf('s.status', how)} IS NOT NULL
),
children AS (
  UPDATE task_runs c SET
    wait_count = c.wait_count - 1,
    status = CASE WHEN c.wait_count - 1 <= 0 THEN 'READY' ELSE 'WAITING' END,
    updated_at = NOW()
  FROM terminal s
  WHERE s.outcome = 'succeeded' AND c.parent_id = s.result_id AND c.status = 'WAITING'
  RETURNING c.result_id, c.status
),
chain_doomed (result_id, workflow_id, cause_id, outcome) AS (
  SELECT c.result_id, c.workflow_id, s.result_id, s.outcome
  FROM terminal s JOIN task_runs c ON c.parent_id = s.result_id
  WHERE s.outcome <> 'succeeded' AND c.status = 'WAITING'
    AND c.result_id NOT IN (SELECT result_id FROM ${source})
  UNION
  SELECT c.result_id, c.workflow_id, d.cause_id, d.outcome
  FROM chain_doomed d JOIN task_runs c ON c.parent_id = d.result_id
  WHERE c.status = 'WAITING' AND c.result_id NOT IN (SELECT result_id FROM ${source})
),
wf_delta AS (
  SELECT w.workflow_id,
    count(*) FILTER (WHERE e.outcome = 'succeeded' AND e.result_id <> w.callback_result_id) AS members_ok,
    count(*) FILTER (WHERE e.outcome <> 'succeeded' AND e.result_id <> w.callback_result_id) AS members_bad,
    (array_agg(e.result_id ORDER BY e.result_id)
      FILTER (WHERE e.outcome <> 'succeeded' AND e.result_id <> w.callback_result_id))[1] AS cause_id,
    (array_agg(e.outcome ORDER BY e.result_id)
      FILTER (WHERE e.outcome <> 'succeeded' AND e.result_id <> w.callback_result_id))[1] AS cause_outcome,
    bool_or(e.outcome = 'succeeded' AND e.result_id = w.callback_result_id) AS callback_ok,
    bool_or(e.outcome <> 'succeeded' AND e.result_id = w.callback_result_id) AS callback_bad
  FROM (SELECT result_id, outcome, workflow_id FROM terminal
        UNION ALL SELECT result_id, outcome, workflow_id FROM chain_doomed) e
  JOIN workflow_runs w ON w.workflow_id = e.workflow_id
  GROUP BY w.workflow_id
),
wf AS (
  -- Upstream counts members only while the workflow has not failed; a NULL callback_result_id
  -- (a group-only row) matches no member, as upstream's \`<>\` does.
  UPDATE workflow_runs w SET
    success_count = w.success_count + CASE WHEN w.status <> 'FAILED' THEN x.members_ok ELSE 0 END,
    failure_count = w.failure_count + CASE WHEN w.status <> 'FAILED' THEN x.members_bad ELSE 0 END,
    status = CASE
      WHEN x.callback_ok THEN 'SUCCESSFUL'
      WHEN x.callback_bad THEN 'FAILED'
      WHEN w.status = 'FAILED' THEN w.status
      WHEN x.members_bad > 0 THEN 'FAILED'
      WHEN w.failure_count = 0 AND w.success_count + x.members_ok >= w.expected_count THEN 'WAITING_CALLBACK'
      ELSE w.status END,
    updated_at = NOW()
  FROM wf_delta x
  WHERE w.workflow_id = x.workflow_id
  RETURNING w.callback_result_id, w.status, x.cause_id, x.cause_outcome
),
callbacks AS (
  UPDATE task_runs cb SET status = 'READY', wait_count = 0, updated_at = NOW()
  FROM wf
  WHERE wf.status = 'WAITING_CALLBACK' AND cb.result_id = wf.callback_result_id AND cb.status = 'WAITING'
    AND cb.result_id NOT IN (SELECT result_id FROM children)
  RETURNING cb.result_id, cb.status
),
doomed AS (
  SELECT DISTINCT ON (d.result_id) d.result_id, d.cause_id, e.status, e.kind, e.message, e.cause_key
  FROM (SELECT result_id, cause_id, outcome FROM chain_doomed
        UNION ALL
        SELECT callback_result_id, cause_id, cause_outcome FROM wf WHERE status = 'FAILED' AND cause_id IS NOT NULL) d
  JOIN (VALUES
    ${ends}
  ) AS e (outcome, status, kind, message, cause_key) ON e.outcome = d.outcome
  WHERE d.result_id NOT IN (SELECT result_id FROM ${source})
    AND d.result_id NOT IN (SELECT result_id FROM children)
  ORDER BY d.result_id, d.cause_id
),
ended AS (
  UPDATE task_runs t SET ${endUnstartedSet('d.status', 'd.kind', 'd.message', 'jsonb_build_object(d.cause_key, d.cause_id)')}
  FROM doomed d
  WHERE t.result_id = d.result_id AND t.status IN ('WAITING', 'READY')
  RETURNING t.result_id, t.status
)`;
}
