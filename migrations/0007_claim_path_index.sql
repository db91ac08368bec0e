-- 0007_claim_path_index: claims that stay cheap on a database shared with a Django/Go fleet. Additive only: the Go
-- worker and Django never reference it.
--
-- A drain claims only the task paths it can run, from a queue that may also hold any number of READY rows of other
-- paths, or of ours with a run_after still ahead. idx_task_runs_claim_rank (0002) orders the whole queue, so a claim
-- walked and filtered out every such row ranked ahead of ours, on every step. This index leads with task_path and
-- holds only rows without a run_after, so the claim reads the top of each of its paths directly, in claim order
-- (src/sql/claimBatch.ts); rows whose run_after has passed come from a range of upstream's idx_task_runs_claim_due.
-- The expression must be spelled as in 0002 for the planner to match it.
--
-- Cost: one index entry per row inserted or made READY again without a run_after. Rows leave the predicate when
-- they are claimed, so the claim's UPDATE writes no entry here. Built like 0001's indexes, inside the migration's
-- transaction; on a large live table build it first with CREATE INDEX CONCURRENTLY IF NOT EXISTS (same name and
-- definition) and this file becomes a no-op.
CREATE INDEX IF NOT EXISTS idx_task_runs_claim_path
    ON task_runs (queue_name, task_path, reproq_claim_rank(priority, enqueued_at, 60) DESC)
    WHERE status = 'READY' AND COALESCE(run_after, '-infinity'::timestamptz) = '-infinity';
