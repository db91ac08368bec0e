import { workflowCascadeCtes } from './workflowCascade.ts';

/**
 * Upstream's `prune expired`: delete rows past `expires_at` that are not RUNNING (READY ones too:
 * an expired task is not worth running), oldest expiry first, at most `$1` (NULL = all), skipping
 * rows another session holds. With `$2` (dry run) nothing is deleted and the matches are counted.
 * idx_task_runs_expires_at (migration 0003) keeps a bounded batch from scanning the table.
 *
 * A deleted row that had not succeeded ends what waits on it in the same statement
 * (workflowCascade.ts), before the foreign key's ON DELETE SET NULL would strand its chain children:
 * an expired READY/WAITING task cancels its dependants (kind workflow_expired), a FAILED or
 * CANCELLED one ends them as its failure or cancellation would. `dependants` counts them.
 */
export const PRUNE_EXPIRED = `
WITH RECURSIVE victim AS (
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
  RETURNING t.result_id, t.status, t.workflow_id
),${workflowCascadeCtes('deleted', 'deleted')}
SELECT (SELECT count(*) FROM victim)::int AS matched, (SELECT count(*) FROM deleted)::int AS deleted,
       (SELECT count(*) FROM ended)::int AS dependants
`;
