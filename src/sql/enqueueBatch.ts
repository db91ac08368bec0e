/**
 * Bulk enqueue in one statement. `$1` is a JSON array of rows (one per input, `idx` = its
 * position). With dedup on (`$2`), an active READY/RUNNING row with the same spec_hash is
 * returned instead of a new insert, and repeats inside the batch share the first one's row.
 * A row that a concurrent enqueue inserted after our snapshot comes back with a NULL result_id
 * (ON CONFLICT DO NOTHING); the caller re-runs the statement for those, and the second snapshot
 * sees the winner. With dedup off the insert has no ON CONFLICT clause, so an active duplicate
 * raises 23505 and nothing of the batch is written, as upstream's plain INSERT does.
 * spec_hash is typed char(64) so comparisons use idx_task_runs_spec_unique.
 */
export const ENQUEUE_BATCH = `
WITH input AS (
  SELECT *
  FROM jsonb_to_recordset($1::jsonb) AS i(
    idx int, spec_hash char(64), spec_json jsonb, task_path text, queue_name text, priority int,
    run_after timestamptz, max_attempts int, timeout_seconds int, lock_key text, concurrency_key text,
    concurrency_limit int, expires_at timestamptz, metadata_json jsonb, backend_alias text)
),
first_of_hash AS (
  SELECT DISTINCT ON (spec_hash) * FROM input ORDER BY spec_hash, idx
),
existing AS (
  SELECT DISTINCT ON (t.spec_hash) t.spec_hash, t.result_id
  FROM task_runs t
  WHERE $2::boolean
    AND t.spec_hash IN (SELECT spec_hash FROM first_of_hash)
    AND t.status IN ('READY', 'RUNNING')
  ORDER BY t.spec_hash, t.result_id
),
to_insert AS (
  SELECT f.* FROM first_of_hash f
  WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.spec_hash = f.spec_hash)
  ORDER BY f.idx
),
inserted_dedup AS (${insertFromToInsert('$2::boolean', "ON CONFLICT (spec_hash) WHERE status IN ('READY', 'RUNNING') DO NOTHING")}),
inserted_strict AS (${insertFromToInsert('NOT $2::boolean', '')}),
inserted AS (
  SELECT * FROM inserted_dedup UNION ALL SELECT * FROM inserted_strict
)
SELECT i.idx,
       COALESCE(n.result_id, e.result_id) AS result_id,
       (n.result_id IS NULL OR f.idx <> i.idx) AS deduplicated
FROM input i
JOIN first_of_hash f ON f.spec_hash = i.spec_hash
LEFT JOIN inserted n ON n.spec_hash = i.spec_hash
LEFT JOIN existing e ON e.spec_hash = i.spec_hash
ORDER BY i.idx
`;

/** The two inserts differ only in when they run and how they meet an active duplicate. */
function insertFromToInsert(when: string, onConflict: string): string {
  return `
  INSERT INTO task_runs (
    backend_alias, queue_name, priority, run_after, spec_json, spec_hash, task_path, status,
    max_attempts, timeout_seconds, lock_key, concurrency_key, concurrency_limit, expires_at,
    metadata_json, errors_json, worker_ids, attempts, wait_count, cancel_requested,
    enqueued_at, created_at, updated_at)
  SELECT backend_alias, queue_name, priority, run_after, spec_json, spec_hash, task_path, 'READY',
    max_attempts, timeout_seconds, lock_key, concurrency_key, concurrency_limit, expires_at,
    metadata_json, '[]'::jsonb, '[]'::jsonb, 0, 0, FALSE,
    NOW(), NOW(), NOW()
  FROM to_insert
  WHERE ${when}
  ORDER BY idx
  ${onConflict}
  RETURNING result_id, spec_hash
`;
}
