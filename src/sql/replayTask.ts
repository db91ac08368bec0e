/**
 * Upstream's replay (reproq-worker §4.11): a new READY row copying the ten columns of the source, chosen by
 * result_id $1, or else the latest row (any status) with spec_hash $2. run_after, expires_at, workflow links
 * and metadata are not copied, so the copy runs now. The active-spec unique index rejects it (23505) while a
 * READY/RUNNING row has the same hash. No row: no such source.
 */
export const REPLAY_TASK = `
WITH source AS (
  SELECT * FROM task_runs
  WHERE ($1::bigint IS NOT NULL AND result_id = $1) OR ($1::bigint IS NULL AND spec_hash = $2::char(64))
  ORDER BY result_id DESC
  LIMIT 1
)
INSERT INTO task_runs (backend_alias, queue_name, priority, spec_json, spec_hash, status, max_attempts,
                       timeout_seconds, lock_key, concurrency_key, concurrency_limit)
SELECT backend_alias, queue_name, priority, spec_json, spec_hash, 'READY', max_attempts,
       timeout_seconds, lock_key, concurrency_key, concurrency_limit
FROM source
RETURNING result_id, (SELECT result_id FROM source) AS source_id, spec_hash
`;
