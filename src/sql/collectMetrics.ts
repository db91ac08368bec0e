import { ATTEMPTS_OVERFLOW, NO_TASK_PATH, UNKNOWN_STATUS } from './unclaimableTasks.ts';

/**
 * Every metric in one statement and one round trip, read from the database because serverless
 * processes keep no counters. Each part is reached through a partial index or a small table, so
 * history (SUCCESSFUL/FAILED rows) costs nothing but the window; the active parts visit each
 * active row once (a backlog of READY rows is the one cost that grows with the queue):
 * - READY per queue (count, due, oldest due enqueued_at): idx_task_runs_claim_rank or _claim_due
 *   (WHERE READY), with a heap fetch per row for run_after (PG 15 has no index-only scan here);
 * - RUNNING per queue (with expired leases, concurrency use): idx_task_runs_lock_key (WHERE RUNNING);
 * - WAITING per queue: idx_task_runs_parent_id (WHERE WAITING);
 * - retries pending (READY, attempts > 0, run_after in the future): idx_task_runs_claim_due range;
 * - successes / failures since `$1` seconds ago: idx_task_runs_succeeded_at / idx_task_runs_failed_at;
 * - READY rows blocked by a full concurrency key: only scanned when some key is full, capped at `$3`;
 * - top failing task paths among the latest `$3` failures: idx_task_runs_failed_at read backwards
 *   (the order must be the index's, DESC NULLS FIRST, or the planner sorts every failure);
 * - periodic_tasks, reproq_workers, reproq_queue_controls: small tables, capped at `$3` rows;
 * - terminal totals: planner estimates (pg_class.reltuples x pg_stats frequencies), or with
 *   `$2` exact counts per queue and status, which scan the whole table (small databases only).
 * - rows no claim will take (unclaimableTasks.ts): unknown statuses through the (normally empty)
 *   idx_task_runs_unknown_status, READY/WAITING rows without a task_path through idx_task_runs_task_path,
 *   and READY rows whose attempts would overflow counted in the READY pass above.
 * `$4` is the periodic lag a tick may have before a due task counts as overdue (seconds). A
 * next_run_at no tick can schedule (NULL in a hand-made table, -infinity, BC) counts as overdue,
 * and is listed as null: a JS Date cannot hold it.
 */
export const COLLECT_METRICS = `
WITH
ready AS (
  SELECT queue_name,
    count(*) AS n,
    count(*) FILTER (WHERE COALESCE(run_after, '-infinity'::timestamptz) <= NOW()) AS due,
    min(enqueued_at) FILTER (WHERE COALESCE(run_after, '-infinity'::timestamptz) <= NOW()) AS oldest_due,
    count(*) FILTER (WHERE ${ATTEMPTS_OVERFLOW}) AS attempts_overflow
  FROM task_runs WHERE status = 'READY' GROUP BY queue_name
),
running AS (
  SELECT queue_name, count(*) AS n, count(*) FILTER (WHERE leased_until < NOW()) AS expired
  FROM task_runs WHERE status = 'RUNNING' GROUP BY queue_name
),
waiting AS (
  SELECT queue_name, count(*) AS n FROM task_runs WHERE status = 'WAITING' GROUP BY queue_name
),
retrying AS (
  SELECT queue_name, count(*) AS n FROM task_runs
  WHERE status = 'READY' AND COALESCE(run_after, '-infinity'::timestamptz) > NOW() AND attempts > 0
  GROUP BY queue_name
),
succeeded AS (
  SELECT queue_name, count(*) AS n FROM task_runs
  WHERE status = 'SUCCESSFUL' AND finished_at > NOW() - make_interval(secs => $1::float8) GROUP BY queue_name
),
failed AS (
  SELECT queue_name, count(*) AS n FROM task_runs
  WHERE status = 'FAILED' AND failed_at > NOW() - make_interval(secs => $1::float8) GROUP BY queue_name
),
full_keys AS (
  SELECT concurrency_key, count(*) AS running FROM task_runs
  WHERE status = 'RUNNING' AND concurrency_key IS NOT NULL GROUP BY concurrency_key
),
exact AS (
  SELECT queue_name, status, count(*) AS n FROM task_runs WHERE $2::boolean GROUP BY queue_name, status
),
queues AS (
  SELECT q AS queue_name FROM (
    SELECT queue_name FROM ready UNION SELECT queue_name FROM running UNION SELECT queue_name FROM waiting
    UNION SELECT queue_name FROM succeeded UNION SELECT queue_name FROM failed UNION SELECT queue_name FROM exact
    UNION SELECT queue_name FROM reproq_queue_controls) AS u(q)
)
SELECT
  NOW() AS now,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object(
      'queue', q.queue_name,
      'ready', COALESCE(r.n, 0), 'ready_due', COALESCE(r.due, 0), 'oldest_due_enqueued_at', r.oldest_due,
      'running', COALESCE(rn.n, 0), 'lease_expired', COALESCE(rn.expired, 0),
      'waiting', COALESCE(w.n, 0), 'retry_pending', COALESCE(rt.n, 0),
      'succeeded_recent', COALESCE(s.n, 0), 'failed_recent', COALESCE(f.n, 0),
      'paused', COALESCE(c.paused, FALSE),
      'exact', (SELECT jsonb_object_agg(e.status, e.n) FROM exact e WHERE e.queue_name = q.queue_name))
      ORDER BY q.queue_name), '[]'::jsonb)
   FROM queues q
   LEFT JOIN ready r USING (queue_name) LEFT JOIN running rn USING (queue_name)
   LEFT JOIN waiting w USING (queue_name) LEFT JOIN retrying rt USING (queue_name)
   LEFT JOIN succeeded s USING (queue_name) LEFT JOIN failed f USING (queue_name)
   LEFT JOIN reproq_queue_controls c USING (queue_name)) AS queues,
  (SELECT count(*) FROM (
     SELECT 1 FROM task_runs tr JOIN full_keys k ON k.concurrency_key = tr.concurrency_key
     WHERE tr.status = 'READY' AND tr.concurrency_limit > 0 AND k.running >= tr.concurrency_limit
     LIMIT $3::int) b) AS concurrency_blocked,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object('task_path', task_path, 'count', n) ORDER BY n DESC, task_path), '[]'::jsonb)
   FROM (SELECT task_path, count(*) AS n FROM (
           SELECT COALESCE(task_path, spec_json->>'task_path') AS task_path FROM task_runs
           WHERE status = 'FAILED' AND failed_at IS NOT NULL ORDER BY failed_at DESC LIMIT $3::int) latest
         GROUP BY task_path ORDER BY n DESC, task_path LIMIT 5) t) AS top_failing,
  (SELECT jsonb_build_object(
      'reltuples', c.reltuples,
      'status_freqs', (SELECT jsonb_object_agg(v, f) FROM pg_stats s,
                         unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS m(v, f)
                       WHERE s.schemaname = n.nspname AND s.tablename = 'task_runs' AND s.attname = 'status'))
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = 'task_runs'::regclass) AS estimate,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object(
      'name', name, 'cron_expr', cron_expr, 'enabled', enabled,
      'next_run_at', CASE WHEN next_run_at BETWEEN '0001-01-01T00:00:00Z' AND '9999-12-31T23:59:59Z' THEN next_run_at END,
      'last_run_at', last_run_at, 'queue_name', queue_name) ORDER BY name), '[]'::jsonb)
   FROM (SELECT * FROM periodic_tasks ORDER BY name LIMIT $3::int) p) AS periodic,
  (SELECT jsonb_build_object(
      'enabled', count(*) FILTER (WHERE enabled),
      'disabled', count(*) FILTER (WHERE NOT enabled),
      'overdue', count(*) FILTER (WHERE enabled AND (next_run_at IS NULL OR next_run_at < NOW() - make_interval(secs => $4::float8))),
      'oldest_due', min(next_run_at) FILTER (WHERE enabled AND next_run_at BETWEEN '0001-01-01T00:00:00Z' AND NOW()))
   FROM periodic_tasks) AS periodic_summary,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object(
      'worker_id', worker_id, 'hostname', hostname, 'concurrency', concurrency, 'queues', queues,
      'started_at', started_at, 'last_seen_at', last_seen_at, 'version', version) ORDER BY last_seen_at DESC, worker_id), '[]'::jsonb)
   FROM (SELECT * FROM reproq_workers ORDER BY last_seen_at DESC LIMIT $3::int) w) AS workers,
  (SELECT jsonb_build_object('count', count(*), 'concurrency', COALESCE(sum(concurrency), 0),
      'alive', count(*) FILTER (WHERE last_seen_at > NOW() - interval '2 minutes'))
   FROM reproq_workers) AS worker_summary,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object(
      'queue_name', queue_name, 'paused', paused, 'paused_at', paused_at, 'reason', reason, 'updated_at', updated_at)
      ORDER BY queue_name), '[]'::jsonb)
   FROM reproq_queue_controls) AS queue_controls,
  EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron') AS pg_cron_available,
  jsonb_build_object(
    'unknown_status', (SELECT count(*) FROM task_runs WHERE ${UNKNOWN_STATUS}),
    'no_task_path', (SELECT count(*) FROM task_runs WHERE ${NO_TASK_PATH}),
    'attempts_overflow', (SELECT COALESCE(sum(attempts_overflow), 0) FROM ready)) AS unclaimable
`;
