import type { MetricsSnapshot } from './collect.ts';

export interface StatsOptions {
  /** The alias reported in `database` fields (Django's DB alias). */
  database?: string;
  scheduler?: { mode?: 'beat' | 'pg_cron' | 'disabled'; beatConfigured?: boolean; lowMemory?: boolean };
}

const ACTIVE = ['READY', 'RUNNING', 'WAITING'] as const;

/**
 * The snapshot in the shape of reproq-django's `/reproq/stats/` JSON (one database), so
 * dashboards that read it keep working. Active statuses are exact; terminal statuses are exact
 * with `exactCounts`, otherwise the planner's estimates in `tasks` and absent from `queues`.
 * Datetimes are ISO with milliseconds and `Z`, as DjangoJSONEncoder writes them.
 */
export function renderStats(s: MetricsSnapshot, opts: StatsOptions = {}) {
  const database = opts.database ?? 'default';
  const queues: Record<string, Record<string, number>> = {};
  const tasks: Record<string, number> = {};
  const add = (map: Record<string, number>, status: string, n: number) => {
    if (n > 0) map[status] = (map[status] ?? 0) + n;
  };
  for (const q of s.queues) {
    const counts: Record<string, number> = {};
    add(counts, 'READY', q.ready);
    add(counts, 'RUNNING', q.running);
    add(counts, 'WAITING', q.waiting);
    for (const [status, n] of Object.entries(q.exact ?? {})) if (!ACTIVE.includes(status as never)) add(counts, status, n);
    if (Object.keys(counts).length > 0) queues[q.queue || 'default'] = counts;
    for (const [status, n] of Object.entries(counts)) add(tasks, status, n);
  }
  if (s.queues.every((q) => q.exact === null)) {
    for (const [status, n] of Object.entries(s.statusEstimates ?? {})) if (!ACTIVE.includes(status as never)) add(tasks, status, n);
  }
  const workers = s.workers.list.map((w) => ({
    worker_id: w.workerId,
    hostname: w.hostname,
    concurrency: w.concurrency,
    queues: w.queues,
    last_seen_at: w.lastSeenAt.toISOString(),
    version: w.version,
  }));
  const periodic = s.periodic.tasks.map((p) => ({
    name: p.name,
    cron_expr: p.cronExpr,
    enabled: p.enabled,
    next_run_at: p.nextRunAt?.toISOString() ?? null,
    queue_name: p.queue,
  }));
  const mode = opts.scheduler?.mode ?? 'beat';
  const lowMemory = opts.scheduler?.lowMemory ?? false;
  const beatConfigured = opts.scheduler?.beatConfigured ?? mode === 'beat';
  return {
    tasks,
    queues,
    workers: workers.map((w) => ({ ...w, database })),
    periodic: periodic.map((p) => ({ ...p, database })),
    queue_controls: s.queueControls.map((c) => ({
      queue_name: c.queue,
      paused: c.paused,
      paused_at: c.pausedAt?.toISOString() ?? null,
      reason: c.reason,
      updated_at: c.updatedAt?.toISOString() ?? null,
      database,
    })),
    worker_health: { alive: s.workers.alive, dead: s.workers.count - s.workers.alive },
    scheduler: {
      mode,
      low_memory: lowMemory,
      beat_enabled: beatConfigured && !lowMemory,
      beat_configured: beatConfigured,
      pg_cron_available: s.pgCronAvailable,
      ...(mode === 'disabled' ? { warning: 'Periodic schedules are disabled.' } : {}),
    },
    top_failing: s.topFailing.map((t) => ({ task_path: t.taskPath, count: t.count })),
    databases: [{ alias: database, tasks, queues, workers, periodic }],
  };
}
