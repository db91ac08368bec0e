-- 0002_claim_rank: an index for claims with priority aging. Additive only: the Go worker and Django never
-- reference these objects, so sharing the database with them is unaffected (each insert/update of a READY row
-- maintains one more index entry, which is the whole cost).
--
-- Upstream orders claim candidates by `priority + age_seconds / factor DESC, enqueued_at ASC`, with
-- age_seconds = now - enqueued_at, which no index can serve because it depends on now. For a fixed now and
-- factor > 0, multiplying by factor and dropping the constant `now` keeps the order:
--   priority + (now - e) / f  DESC   <=>   priority * f - e  DESC   (e = epoch seconds of enqueued_at)
-- so `reproq_claim_rank(priority, enqueued_at, f) DESC` gives the same order at every instant and can be
-- indexed. (Exact ties between different priorities, which upstream breaks by enqueued_at, fall back to index
-- order here; they need enqueued_at values that differ by an exact multiple of f seconds.)
--
-- IMMUTABLE is truthful although extract() on a timestamptz is only STABLE in the catalog: it is STABLE
-- because fields such as hour or day depend on the TimeZone setting, but a timestamptz is stored as an absolute
-- instant and its epoch (seconds since 1970-01-01 00:00 UTC) is the same under every TimeZone. The parameter is
-- timestamptz, so the index passes the column through unconverted; only a caller passing a plain `timestamp`
-- would bring a TimeZone-dependent cast, and that cast happens outside this function.
-- The body references no table and no non-catalog object, so search_path cannot change its result either.
CREATE OR REPLACE FUNCTION reproq_claim_rank(priority integer, enqueued_at timestamptz, aging_factor double precision)
RETURNS double precision
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT priority * aging_factor - extract(epoch FROM enqueued_at)::double precision
$$;

-- 60 is the upstream default aging factor. Queries must spell the expression the same way
-- (`reproq_claim_rank(priority, enqueued_at, 60)`) for the planner to use the index.
CREATE INDEX IF NOT EXISTS idx_task_runs_claim_rank
    ON task_runs (queue_name, reproq_claim_rank(priority, enqueued_at, 60) DESC)
    WHERE status = 'READY';
