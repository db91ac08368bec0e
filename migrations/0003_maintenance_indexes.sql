-- 0003_maintenance_indexes: two partial indexes for maintenance and metrics. Additive only: the Go worker and
-- Django never reference them. Like 0001, they are built with plain CREATE INDEX inside the migration's
-- transaction, which blocks writes to task_runs while they build; on a large live table build them first with
-- CREATE INDEX CONCURRENTLY IF NOT EXISTS (same names and definitions) and this file becomes a no-op.
--
-- Prune (`expires_at <= NOW() AND status <> 'RUNNING' ORDER BY expires_at LIMIT n`) reads expired rows oldest
-- first instead of scanning the table, so a bounded batch stays bounded. Only rows with an expiry are indexed.
CREATE INDEX IF NOT EXISTS idx_task_runs_expires_at
    ON task_runs (expires_at)
    WHERE expires_at IS NOT NULL;

-- Metrics count successes in a recent window (`finished_at > now - window`) and Django's prune-successful
-- deletes `finished_at < cutoff` oldest first; both become range scans. Failures already have
-- idx_task_runs_failed_at. The cost is one index entry per successful task.
CREATE INDEX IF NOT EXISTS idx_task_runs_succeeded_at
    ON task_runs (finished_at)
    WHERE status = 'SUCCESSFUL';
