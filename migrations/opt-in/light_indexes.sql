-- light_indexes (opt-in: `reproq migrate --light-indexes`, never applied by the default `migrate`): two of
-- upstream's task_runs indexes, redefined under the SAME NAMES to index only the rows their queries look for.
--
-- Why: a claim and a completion change `status`, which upstream's indexes key on, so neither update is HOT and
-- each writes an entry into every index whose predicate the new row version meets. As upstream defines them,
-- these two take an entry per status change of every task, with or without a workflow_id or a task_path that
-- anything looks up. Measured with `npm run bench:indexes` (README, Performance).
--
-- Why it is safe to share with Django and the Go worker:
--   * Their migrations create these indexes with CREATE INDEX [CONCURRENTLY] IF NOT EXISTS <name>, which skips
--     an index of that name whatever its definition, and neither checks definitions.
--   * Every query of Reproq's (Go worker, Django, Reproq Edge) that reads one of them still can, because its
--     WHERE clause implies the narrower predicate (test/light-indexes.test.ts checks the plans):
--       idx_task_runs_workflow_id  `workflow_id = x` (the dashboard's task workflow, the stranded-workflow
--                                  sweep); the Go worker reads a task's workflow_id by result_id, and Django
--                                  never filters task_runs on it.
--       idx_task_runs_task_path    the rows without a task_path: Django's backfill (`task_path IS NULL`) and
--                                  the unclaimable-task check (`task_path IS NULL OR task_path = ''`). Nothing
--                                  of Reproq's looks tasks up by task_path = x; an ad-hoc query that does reads
--                                  another index or the table instead.
--   * Uniqueness (idx_task_runs_spec_unique) and the claim indexes are untouched.
--   * idx_task_runs_lock_key stays as upstream has it, although every claim writes an entry into it whether or
--     not the task has a lock_key: it is the index of RUNNING rows, which the Go worker's and our lease reclaim
--     (`status = 'RUNNING' AND leased_until < now()`) and the RUNNING counts of the metrics read. Narrowed to
--     `lock_key IS NOT NULL`, the Go worker's reclaim read every READY row instead (idx_task_runs_spec_unique):
--     6-9 ms became 600-900 ms with 200,000 READY rows queued.
--
-- Plain DROP and CREATE: `migrate` applies this file only when the catalog does not already hold both light
-- definitions, and running it again rebuilds them the same. The rebuild runs in the migration's transaction and
-- blocks writes to task_runs while it reads the table (the new indexes are small); on a large live table build
-- each first, outside a transaction, then swap:
--   CREATE INDEX CONCURRENTLY idx_task_runs_workflow_id_light ON task_runs (workflow_id) WHERE workflow_id IS NOT NULL;
--   BEGIN; DROP INDEX idx_task_runs_workflow_id; ALTER INDEX idx_task_runs_workflow_id_light RENAME TO idx_task_runs_workflow_id; COMMIT;
-- (likewise for task_path); `reproq migrate --light-indexes` then finds nothing to do.
-- `reproq migrate --upstream-indexes` (upstream_indexes.sql) restores upstream's definitions.
DROP INDEX IF EXISTS idx_task_runs_workflow_id;
CREATE INDEX idx_task_runs_workflow_id ON task_runs (workflow_id)
    WHERE workflow_id IS NOT NULL;

DROP INDEX IF EXISTS idx_task_runs_task_path;
CREATE INDEX idx_task_runs_task_path ON task_runs (task_path)
    WHERE task_path IS NULL OR task_path = '';
