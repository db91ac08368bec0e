/**
 * Django's `prune-workers`: delete reproq_workers rows not seen for `$1` seconds, longest silent
 * first, at most `$2` (NULL = all). With `$3` (dry run) they are only listed. Edge invocations
 * upsert this table on every drain, so stale names accumulate; the table is small (one row per
 * worker name), so no index is needed.
 */
export const PRUNE_WORKERS = `
WITH victim AS (
  SELECT worker_id, last_seen_at
  FROM reproq_workers
  WHERE last_seen_at < NOW() - make_interval(secs => $1::float8)
  ORDER BY last_seen_at, worker_id
  LIMIT $2::int
  FOR UPDATE SKIP LOCKED
),
deleted AS (
  DELETE FROM reproq_workers w USING victim v
  WHERE w.worker_id = v.worker_id AND NOT $3::boolean
  RETURNING w.worker_id
)
SELECT v.worker_id, (d.worker_id IS NOT NULL) AS deleted
FROM victim v LEFT JOIN deleted d ON d.worker_id = v.worker_id
ORDER BY v.last_seen_at, v.worker_id
`;
