-- upstream_indexes (opt-in: `reproq migrate --upstream-indexes`): undoes light_indexes.sql, putting back
-- upstream's definitions of the two indexes it narrows, exactly as 0001_reproq_schema.sql creates them.
-- `migrate` applies it only when the catalog does not already hold both; like light_indexes.sql it blocks
-- writes to task_runs while it builds (on a large live table: CREATE INDEX CONCURRENTLY under another name,
-- then drop and rename in one transaction).
DROP INDEX IF EXISTS idx_task_runs_workflow_id;
CREATE INDEX idx_task_runs_workflow_id ON task_runs (workflow_id);

DROP INDEX IF EXISTS idx_task_runs_task_path;
CREATE INDEX idx_task_runs_task_path ON task_runs (task_path);
