/** `reproq status`: rows per status. */
export const STATUS_COUNTS = `SELECT status, count(*)::int AS n FROM task_runs GROUP BY status ORDER BY status`;

/** `reproq status`: per queue, what waits and runs, and whether it is paused (queues with only a control row too). */
export const QUEUE_COUNTS = `
WITH per_queue AS (
  SELECT queue_name,
    count(*) FILTER (WHERE status = 'READY')::int AS ready,
    count(*) FILTER (WHERE status = 'READY' AND COALESCE(run_after, '-infinity') <= NOW())::int AS due,
    count(*) FILTER (WHERE status = 'RUNNING')::int AS running,
    count(*) FILTER (WHERE status = 'WAITING')::int AS waiting,
    count(*) FILTER (WHERE status = 'FAILED')::int AS failed
  FROM task_runs GROUP BY queue_name
)
SELECT COALESCE(q.queue_name, c.queue_name) AS queue, COALESCE(q.ready, 0) AS ready, COALESCE(q.due, 0) AS due,
       COALESCE(q.running, 0) AS running, COALESCE(q.waiting, 0) AS waiting, COALESCE(q.failed, 0) AS failed,
       COALESCE(c.paused, FALSE) AS paused, c.reason
FROM per_queue q FULL JOIN reproq_queue_controls c ON c.queue_name = q.queue_name
ORDER BY 1
`;

/** `reproq status`: registered workers; alive means seen in the last two minutes (Django's rule). */
export const WORKERS = `
SELECT worker_id, hostname, concurrency, queues, version, started_at, last_seen_at,
       last_seen_at >= NOW() - interval '2 minutes' AS alive
FROM reproq_workers ORDER BY last_seen_at DESC, worker_id
`;
