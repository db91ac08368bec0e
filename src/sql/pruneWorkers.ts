/** Deletes reproq_workers rows not seen for $1 seconds (Django's prune-workers); $2 true only counts them. */
export const PRUNE_WORKERS = `
WITH stale AS (
  SELECT worker_id FROM reproq_workers WHERE last_seen_at < NOW() - make_interval(secs => $1::float8)
),
deleted AS (
  DELETE FROM reproq_workers w USING stale WHERE w.worker_id = stale.worker_id AND NOT $2::boolean RETURNING 1
)
SELECT (SELECT count(*) FROM stale)::int AS matched, (SELECT count(*) FROM deleted)::int AS deleted
`;
