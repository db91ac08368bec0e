/**
 * Tasks finished per queue and minute over the last $1 minutes (minute 0 is the current one), for the
 * dashboard's throughput chart. Successes come from idx_task_runs_succeeded_at and failures from
 * idx_task_runs_failed_at, so the cost is the window's throughput, not the table. $2 caps the rows
 * (queues x minutes).
 */
export const THROUGHPUT_BY_MINUTE = `
SELECT queue_name, minute, (count(*) FILTER (WHERE ok))::int AS succeeded, (count(*) FILTER (WHERE NOT ok))::int AS failed
FROM (
  SELECT queue_name, floor(extract(epoch FROM NOW() - finished_at) / 60)::int AS minute, TRUE AS ok
  FROM task_runs WHERE status = 'SUCCESSFUL' AND finished_at > NOW() - make_interval(mins => $1::int)
  UNION ALL
  SELECT queue_name, floor(extract(epoch FROM NOW() - failed_at) / 60)::int, FALSE
  FROM task_runs WHERE status = 'FAILED' AND failed_at > NOW() - make_interval(mins => $1::int)
) finished
WHERE minute >= 0
GROUP BY queue_name, minute
ORDER BY queue_name, minute
LIMIT $2
`;
