/**
 * Rows no claim will ever take, by reason. A drain skips them (a claim that took them would fail as a
 * whole, or they are not READY as written), so they would wait forever unseen; `reproq doctor` names
 * them and the metrics count them (`reproq_unclaimable_tasks`).
 * - `unknown_status`: a status none of ours ('ready', ' READY' …), read through idx_task_runs_unknown_status;
 * - `no_task_path`: READY or WAITING with a NULL or empty task_path (legacy rows the NOT VALID check
 *   constraint still covers on UPDATE), read through idx_task_runs_task_path;
 * - `attempts_overflow`: READY with attempts at the integer maximum, which the claim's +1 overflows.
 * The claim's guard (claimBatch.ts) is the complement of the last two.
 */
export const UNKNOWN_STATUS = `status NOT IN ('READY', 'RUNNING', 'WAITING', 'SUCCESSFUL', 'FAILED', 'CANCELLED')`;
export const NO_TASK_PATH = `status IN ('READY', 'WAITING') AND (task_path IS NULL OR task_path = '')`;
export const ATTEMPTS_OVERFLOW = `attempts >= 2147483647`;

/** Per reason: how many rows, and the first `$1` result_ids (with each unknown status as written). */
export const UNCLAIMABLE_TASKS = `
SELECT reason, count(*)::int AS n,
  COALESCE(jsonb_agg(jsonb_build_object('result_id', result_id, 'status', status) ORDER BY result_id) FILTER (WHERE rn <= $1), '[]'::jsonb) AS rows
FROM (
  SELECT u.*, row_number() OVER (PARTITION BY reason ORDER BY result_id) AS rn FROM (
    SELECT 'unknown_status' AS reason, result_id, status FROM task_runs WHERE ${UNKNOWN_STATUS}
    UNION ALL
    SELECT 'no_task_path', result_id, status FROM task_runs WHERE ${NO_TASK_PATH}
    UNION ALL
    SELECT 'attempts_overflow', result_id, status FROM task_runs WHERE status = 'READY' AND ${ATTEMPTS_OVERFLOW}
  ) u
) x
GROUP BY reason
ORDER BY reason
`;
