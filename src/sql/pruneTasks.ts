/** The timestamp columns `prune --field` may compare (an identifier, so it cannot be a parameter). */
export const PRUNE_FIELDS = ['finished_at', 'updated_at', 'enqueued_at', 'started_at'] as const;
export type PruneField = (typeof PRUNE_FIELDS)[number];

/**
 * Django's `prune`: rows in statuses $1 whose <field> is older than the cutoff $2, oldest first. `count`
 * reads how many match (for --dry-run and the progress total); `delete` removes at most $3 of them per
 * statement, so a large prune runs in short transactions instead of one long lock-holding delete.
 */
export function pruneTasksSql(field: PruneField, mode: 'count' | 'delete'): string {
  const match = `status = ANY($1::text[]) AND ${field} < $2::timestamptz`;
  if (mode === 'count') return `SELECT count(*)::int AS n FROM task_runs WHERE ${match}`;
  return `
WITH doomed AS (
  SELECT result_id FROM task_runs WHERE ${match} ORDER BY ${field}, result_id LIMIT $3
),
gone AS (
  DELETE FROM task_runs t USING doomed WHERE t.result_id = doomed.result_id RETURNING 1
)
SELECT count(*)::int AS n FROM gone`;
}
