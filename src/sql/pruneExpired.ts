/**
 * Upstream's `prune expired`: delete rows past `expires_at` that are not RUNNING (READY ones too:
 * an expired task is not worth running), oldest expiry first, at most `$1` (NULL = all), skipping
 * rows another session holds. With `$2` (dry run) nothing is deleted and the matches are counted.
 * idx_task_runs_expires_at (migration 0003) keeps a bounded batch from scanning the table.
 */
export const PRUNE_EXPIRED = `
WITH victim AS (
  SELECT result_id
  FROM task_runs
  WHERE expires_at <= NOW() AND status <> 'RUNNING'
  ORDER BY expires_at
  LIMIT $1::int
  FOR UPDATE SKIP LOCKED
),
deleted AS (
  DELETE FROM task_runs t USING victim v
  WHERE t.result_id = v.result_id AND NOT $2::boolean
  RETURNING t.result_id
)
SELECT (SELECT count(*) FROM victim)::int AS matched, (SELECT count(*) FROM deleted)::int AS deleted
`;
