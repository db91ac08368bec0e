import type { MetricsSnapshot } from './collect.ts';

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  samples: { labels?: Labels; value: number }[];
}

/**
 * The Prometheus text exposition format (version 0.0.4). Upstream's gauge names and meanings are
 * kept where they match (`reproq_queue_depth` … `reproq_concurrency_blocked_tasks`, unlabelled,
 * cluster-wide as upstream's collector reports them); the rest are new `reproq_*` gauges. Every
 * value is a gauge: a serverless process has no counters to keep, so "recent" counts are over a
 * window, named in `reproq_metrics_window_seconds`.
 */
export function renderPrometheus(s: MetricsSnapshot): string {
  const sum = (f: (q: MetricsSnapshot['queues'][number]) => number) => s.queues.reduce((n, q) => n + f(q), 0);
  const perQueue = (f: (q: MetricsSnapshot['queues'][number]) => number) => s.queues.map((q) => ({ labels: { queue: q.queue }, value: f(q) }));
  const families: Family[] = [
    { name: 'reproq_queue_depth', help: 'Tasks waiting to run (READY and WAITING), all queues.', samples: [{ value: sum((q) => q.ready + q.waiting) }] },
    { name: 'reproq_tasks_running', help: 'Tasks RUNNING, all queues.', samples: [{ value: sum((q) => q.running) }] },
    { name: 'reproq_concurrency_in_use', help: 'Tasks RUNNING, all queues (upstream alias of reproq_tasks_running).', samples: [{ value: sum((q) => q.running) }] },
    { name: 'reproq_workers', help: 'Rows in reproq_workers, stale ones included.', samples: [{ value: s.workers.count }] },
    { name: 'reproq_concurrency_limit', help: 'Sum of the registered workers concurrency.', samples: [{ value: s.workers.concurrency }] },
    { name: 'reproq_queues_paused', help: 'Queues paused in reproq_queue_controls.', samples: [{ value: s.queueControls.filter((c) => c.paused).length }] },
    { name: 'reproq_concurrency_blocked_tasks', help: 'READY tasks whose concurrency key is at its limit.', samples: [{ value: s.concurrencyBlocked }] },
    {
      name: 'reproq_queue_tasks',
      help: 'Active tasks per queue and status.',
      samples: s.queues.flatMap((q) =>
        (['READY', 'RUNNING', 'WAITING'] as const).map((status) => ({
          labels: { queue: q.queue, status },
          value: status === 'READY' ? q.ready : status === 'RUNNING' ? q.running : q.waiting,
        })),
      ),
    },
    { name: 'reproq_queue_due_tasks', help: 'READY tasks whose run_after has passed.', samples: perQueue((q) => q.readyDue) },
    {
      name: 'reproq_queue_oldest_ready_age_seconds',
      help: 'Age of the longest-waiting due READY task (0 when none is due).',
      samples: perQueue((q) => q.oldestReadyAgeSeconds ?? 0),
    },
    { name: 'reproq_tasks_lease_expired', help: 'RUNNING tasks whose lease has ended (awaiting reclaim).', samples: perQueue((q) => q.leaseExpired) },
    { name: 'reproq_tasks_retry_pending', help: 'READY tasks waiting out a retry backoff.', samples: perQueue((q) => q.retryPending) },
    {
      name: 'reproq_tasks_finished_recent',
      help: 'Tasks that finished within the metrics window, by outcome.',
      samples: s.queues.flatMap((q) => [
        { labels: { queue: q.queue, status: 'success' }, value: q.succeededRecent },
        { labels: { queue: q.queue, status: 'failure' }, value: q.failedRecent },
      ]),
    },
    { name: 'reproq_metrics_window_seconds', help: 'The window of reproq_tasks_finished_recent.', samples: [{ value: s.windowSeconds }] },
    { name: 'reproq_queue_paused', help: '1 when the queue is paused.', samples: perQueue((q) => (q.paused ? 1 : 0)) },
    {
      name: 'reproq_tasks_estimated',
      help: 'Rows per status from the planner statistics (approximate; absent before ANALYZE).',
      samples: Object.entries(s.statusEstimates ?? {}).map(([status, value]) => ({ labels: { status }, value })),
    },
    {
      name: 'reproq_periodic_tasks',
      help: 'Periodic tasks by state.',
      samples: [
        { labels: { state: 'enabled' }, value: s.periodic.enabled },
        { labels: { state: 'disabled' }, value: s.periodic.disabled },
      ],
    },
    { name: 'reproq_periodic_tasks_overdue', help: 'Enabled periodic tasks due for longer than the grace period: no scheduler ran, or the row cannot be scheduled.', samples: [{ value: s.periodic.overdue }] },
    { name: 'reproq_beat_lag_seconds', help: 'How long the oldest due periodic task has been due (0 when none is).', samples: [{ value: s.periodic.beatLagSeconds }] },
    {
      name: 'reproq_unclaimable_tasks',
      help: 'Rows no claim will take, by reason (unknown_status, no_task_path, attempts_overflow); reproq doctor names them.',
      samples: Object.entries(s.unclaimable).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    { name: 'reproq_workers_alive', help: 'Workers seen in the last 2 minutes.', samples: [{ value: s.workers.alive }] },
    {
      name: 'reproq_worker_last_seen_age_seconds',
      help: 'Seconds since each registered worker was last seen.',
      samples: s.workers.list.map((w) => ({ labels: { worker_id: w.workerId }, value: w.lastSeenAgeSeconds })),
    },
  ];
  return families
    .filter((f) => f.samples.length > 0)
    .map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`, ...f.samples.map((x) => `${f.name}${labels(x.labels)} ${num(x.value)}`)].join('\n'))
    .join('\n')
    .concat('\n');
}

function labels(l: Labels | undefined): string {
  if (!l) return '';
  return `{${Object.entries(l)
    .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
    .join(',')}}`;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
}
