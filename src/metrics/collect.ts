import * as z from 'zod/mini';
import type { Db } from '../db/types.ts';
import { validate } from '../errors.ts';
import { boundedInt } from '../storable.ts';
import { COLLECT_METRICS } from '../sql/collectMetrics.ts';

export const MetricsOptionsSchema = z.strictObject({
  /** The recent window for successes and failures. */
  windowSeconds: z._default(z.number().check(z.positive()), 300),
  /** Exact per-queue counts of every status: a full table scan, for small databases. */
  exactCounts: z._default(z.boolean(), false),
  /** Cap on rows read for lists and scans that could grow (workers, periodic tasks, blocked tasks). */
  maxRows: boundedInt(1, 100_000, 1000),
  /** How late a due periodic task may be before it counts as overdue (beat interval plus slack). */
  periodicGraceSeconds: z._default(z.number().check(z.minimum(0)), 120),
});
export type MetricsOptions = z.input<typeof MetricsOptionsSchema>;

export interface QueueMetrics {
  queue: string;
  ready: number;
  /** READY and due (run_after passed). */
  readyDue: number;
  /** Age of the longest-waiting due READY task, or null when none is due. */
  oldestReadyAgeSeconds: number | null;
  running: number;
  /** RUNNING whose lease ended: the owner died; reclaim will requeue them. */
  leaseExpired: number;
  waiting: number;
  /** READY after a failed attempt, waiting out the backoff. */
  retryPending: number;
  succeededRecent: number;
  failedRecent: number;
  paused: boolean;
  /** Per-status counts, only with `exactCounts`. */
  exact: Record<string, number> | null;
}

export interface WorkerMetrics {
  workerId: string;
  hostname: string | null;
  concurrency: number | null;
  queues: unknown;
  startedAt: Date | null;
  lastSeenAt: Date;
  version: string | null;
  lastSeenAgeSeconds: number;
}

export interface PeriodicMetrics {
  name: string;
  cronExpr: string;
  enabled: boolean;
  /** null when the stored value is not a time a run can be scheduled at (NULL, -infinity, BC). */
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  queue: string;
}

export interface QueueControl {
  queue: string;
  paused: boolean;
  pausedAt: Date | null;
  reason: string | null;
  updatedAt: Date | null;
}

export interface MetricsSnapshot {
  /** Database time of the snapshot. */
  collectedAt: Date;
  windowSeconds: number;
  queues: QueueMetrics[];
  concurrencyBlocked: number;
  topFailing: { taskPath: string | null; count: number }[];
  /** Rows per status from the planner's statistics (null before the table was analysed). */
  statusEstimates: Record<string, number> | null;
  periodic: {
    enabled: number;
    disabled: number;
    /** Enabled and due for longer than `periodicGraceSeconds`: no scheduler ran, or the row cannot be scheduled. */
    overdue: number;
    /** How far behind the oldest due task is; 0 when nothing is due. */
    beatLagSeconds: number;
    tasks: PeriodicMetrics[];
  };
  workers: { count: number; alive: number; concurrency: number; list: WorkerMetrics[] };
  queueControls: QueueControl[];
  pgCronAvailable: boolean;
  /** Rows no claim will take, by reason (see sql/unclaimableTasks.ts); `reproq doctor` names them. */
  unclaimable: Record<UnclaimableReason, number>;
}

export type UnclaimableReason = 'unknown_status' | 'no_task_path' | 'attempts_overflow';

interface Row {
  now: Date;
  queues: Record<string, any>[];
  concurrency_blocked: string | number;
  top_failing: { task_path: string | null; count: number }[];
  estimate: { reltuples: number; status_freqs: Record<string, number> | null } | null;
  periodic: Record<string, any>[];
  periodic_summary: { enabled: number; disabled: number; overdue: number; oldest_due: string | null };
  workers: Record<string, any>[];
  worker_summary: { count: number; alive: number; concurrency: number };
  queue_controls: Record<string, any>[];
  pg_cron_available: boolean;
  unclaimable: Record<UnclaimableReason, number | string>;
}

const date = (v: string | null | undefined) => (v == null ? null : new Date(v));
const ageSeconds = (now: Date, then: Date) => Math.max(0, (now.getTime() - then.getTime()) / 1000);

/** A snapshot of the queue from one statement (see sql/collectMetrics.ts for the indexes used). */
export async function collectMetrics(db: Db, options: MetricsOptions = {}): Promise<MetricsSnapshot> {
  const o = validate(MetricsOptionsSchema, options);
  const res = await db.query<Row>(COLLECT_METRICS, [o.windowSeconds, o.exactCounts, o.maxRows, o.periodicGraceSeconds]);
  const r = res.rows[0]!;
  const now = new Date(r.now);
  const freqs = r.estimate?.status_freqs;
  const reltuples = r.estimate?.reltuples ?? -1;
  const oldestDue = date(r.periodic_summary.oldest_due);
  return {
    collectedAt: now,
    windowSeconds: o.windowSeconds,
    queues: r.queues.map((q) => {
      const oldest = date(q.oldest_due_enqueued_at);
      return {
        queue: q.queue,
        ready: q.ready,
        readyDue: q.ready_due,
        oldestReadyAgeSeconds: oldest ? ageSeconds(now, oldest) : null,
        running: q.running,
        leaseExpired: q.lease_expired,
        waiting: q.waiting,
        retryPending: q.retry_pending,
        succeededRecent: q.succeeded_recent,
        failedRecent: q.failed_recent,
        paused: q.paused,
        exact: q.exact ?? (o.exactCounts ? {} : null),
      };
    }),
    concurrencyBlocked: Number(r.concurrency_blocked),
    topFailing: r.top_failing.map((t) => ({ taskPath: t.task_path, count: t.count })),
    statusEstimates:
      freqs && reltuples >= 0
        ? Object.fromEntries(Object.entries(freqs).map(([status, f]) => [status, Math.round(f * reltuples)]))
        : null,
    periodic: {
      enabled: r.periodic_summary.enabled,
      disabled: r.periodic_summary.disabled,
      overdue: r.periodic_summary.overdue,
      beatLagSeconds: oldestDue ? ageSeconds(now, oldestDue) : 0,
      tasks: r.periodic.map((p) => ({
        name: p.name,
        cronExpr: p.cron_expr,
        enabled: p.enabled,
        nextRunAt: date(p.next_run_at),
        lastRunAt: date(p.last_run_at),
        queue: p.queue_name,
      })),
    },
    workers: {
      count: r.worker_summary.count,
      alive: r.worker_summary.alive,
      concurrency: Number(r.worker_summary.concurrency),
      list: r.workers.map((w) => ({
        workerId: w.worker_id,
        hostname: w.hostname,
        concurrency: w.concurrency,
        queues: w.queues,
        startedAt: date(w.started_at),
        lastSeenAt: new Date(w.last_seen_at),
        version: w.version,
        lastSeenAgeSeconds: ageSeconds(now, new Date(w.last_seen_at)),
      })),
    },
    queueControls: r.queue_controls.map((c) => ({
      queue: c.queue_name,
      paused: c.paused,
      pausedAt: date(c.paused_at),
      reason: c.reason,
      updatedAt: date(c.updated_at),
    })),
    pgCronAvailable: r.pg_cron_available,
    unclaimable: {
      unknown_status: Number(r.unclaimable.unknown_status),
      no_task_path: Number(r.unclaimable.no_task_path),
      attempts_overflow: Number(r.unclaimable.attempts_overflow),
    },
  };
}
