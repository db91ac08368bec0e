-- 0006_unknown_status_index: a partial index over rows whose status is none of the statuses Reproq writes
-- (READY, RUNNING, WAITING, SUCCESSFUL, FAILED, and Django's CANCELLED): a lowercase or padded status typed in
-- psql, say. No claim ever takes such a row, so `reproq doctor` and the metrics report them; this index makes
-- that count a lookup instead of a scan of the whole table. It holds no entry while every status is known, and
-- costs each insert or update one predicate test. Additive only: Django and the Go worker never reference it.
-- Built like 0001's indexes, inside the migration's transaction; on a large live table build it first with
-- CREATE INDEX CONCURRENTLY IF NOT EXISTS (same name and definition) and this file becomes a no-op.
CREATE INDEX IF NOT EXISTS idx_task_runs_unknown_status
    ON task_runs (status)
    WHERE status NOT IN ('READY', 'RUNNING', 'WAITING', 'SUCCESSFUL', 'FAILED', 'CANCELLED');
