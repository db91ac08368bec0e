/**
 * A long-running beat registers itself in reproq_workers (worker_id `beat/<host>/<pid>`,
 * concurrency 0, no queues) and, in the same statement, lists the other beats seen within `$3`
 * seconds, so it can warn: one scheduler per database. With `$1` NULL nothing is registered
 * (`beat --once` only looks). Upstream has no role column; the `beat/` prefix is the marker.
 */
export const BEAT_HEARTBEAT = `
WITH me AS (
  INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues, version, started_at, last_seen_at)
  SELECT $1::text, $2::text, 0, '[]'::jsonb, $4::text, NOW(), NOW()
  WHERE $1::text IS NOT NULL
  ON CONFLICT (worker_id) DO UPDATE SET last_seen_at = NOW()
  RETURNING worker_id
)
SELECT worker_id, last_seen_at FROM reproq_workers
WHERE left(worker_id, 5) = 'beat/' AND worker_id IS DISTINCT FROM $1::text
  AND last_seen_at > NOW() - make_interval(secs => $3::float8)
ORDER BY worker_id
`;
