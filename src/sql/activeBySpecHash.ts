/** The READY/RUNNING row holding spec_hash $1, if any: what blocks a replay or a retry. */
export const ACTIVE_BY_SPEC_HASH = `
SELECT result_id, status FROM task_runs WHERE spec_hash = $1::char(64) AND status IN ('READY', 'RUNNING') LIMIT 1
`;
