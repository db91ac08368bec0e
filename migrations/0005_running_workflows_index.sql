-- 0005_running_workflows_index: lets reclaim's sweep for stranded workflow tasks (src/sql/sweepStrandedDependants.ts)
-- read only the workflows still RUNNING; Django never deletes workflow_runs rows, so the finished ones pile up.
-- Additive only: the Go worker and Django never reference it. Like 0003 it is built inside the migration's
-- transaction; on a large live table build it first with CREATE INDEX CONCURRENTLY IF NOT EXISTS (same name and
-- definition) and this file becomes a no-op.
CREATE INDEX IF NOT EXISTS idx_workflow_runs_running
    ON workflow_runs (workflow_id)
    WHERE status = 'RUNNING';
