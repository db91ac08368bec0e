/**
 * The beat's write, one statement for a whole page: advance each periodic task whose
 * `next_run_at` is still the value the tick read, and insert that task's runs, only for the rows
 * this statement advanced. Concurrent ticks (or a Go beat) that read the same row race on the
 * row lock: a tick waits for a row another tick holds (rows are locked in name order, so ticks
 * cannot deadlock each other), then re-checks it; a row the other tick advanced fails the
 * equality re-check, and one whose tick rolled back is advanced here. So a run is enqueued by
 * exactly one tick, and a row this statement did not advance is one another writer changed (the
 * tick's `lostRace`), never one that was merely busy. Nothing is half-done if the tick dies: the
 * advance and the inserts commit together or not at all. No advisory lock, so it works through
 * transaction poolers and Neon's HTTP endpoint.
 *
 * An active row (READY/RUNNING) with the same spec_hash suppresses the insert, as upstream's NOT
 * EXISTS does (here through idx_task_runs_spec_unique, which also covers a racing Go beat).
 *
 * $1 tasks: [{name, old_next_run_at, next_run_at, last_run_at|null}]
 * $2 runs:  [{name, spec_hash, spec_text, run_after, task_path, queue_name, priority, max_attempts,
 *            concurrency_key, concurrency_limit}]
 * Result: one row, the advanced names and the ids of the inserted runs.
 */
export const ADVANCE_PERIODIC_TASKS = `
WITH task AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(
    name text, old_next_run_at timestamptz, next_run_at timestamptz, last_run_at timestamptz)
),
won AS (
  SELECT p.name
  FROM periodic_tasks p JOIN task t ON t.name = p.name
  WHERE p.enabled AND p.next_run_at = t.old_next_run_at
  ORDER BY p.name
  FOR UPDATE OF p
),
advanced AS (
  UPDATE periodic_tasks p SET
    next_run_at = t.next_run_at,
    last_run_at = COALESCE(t.last_run_at, p.last_run_at),
    updated_at = NOW()
  FROM task t
  WHERE p.name = t.name AND p.name IN (SELECT name FROM won)
  RETURNING p.name
),
run AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(
    name text, spec_hash char(64), spec_text text, run_after timestamptz, task_path text, queue_name text,
    priority int, max_attempts int, concurrency_key text, concurrency_limit int)
),
inserted AS (
  INSERT INTO task_runs (
    backend_alias, queue_name, priority, run_after, spec_json, spec_hash, task_path, status,
    enqueued_at, attempts, max_attempts, timeout_seconds, concurrency_key, concurrency_limit,
    wait_count, worker_ids, errors_json, cancel_requested, created_at, updated_at)
  SELECT 'default', r.queue_name, r.priority, r.run_after, r.spec_text::jsonb, r.spec_hash, r.task_path, 'READY',
    NOW(), 0, r.max_attempts, 900, r.concurrency_key, r.concurrency_limit,
    0, '[]'::jsonb, '[]'::jsonb, FALSE, NOW(), NOW()
  FROM run r JOIN advanced a ON a.name = r.name
  ORDER BY r.run_after, r.name
  ON CONFLICT (spec_hash) WHERE status IN ('READY', 'RUNNING') DO NOTHING
  RETURNING result_id
)
SELECT
  (SELECT COALESCE(jsonb_agg(name), '[]'::jsonb) FROM advanced) AS advanced,
  (SELECT COALESCE(jsonb_agg(result_id ORDER BY result_id), '[]'::jsonb) FROM inserted) AS inserted
`;
