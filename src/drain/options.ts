import * as z from 'zod/mini';
import { DEFAULT_RETRY_POLICY } from '../backoff.ts';
import type { Config } from '../config.ts';
import type { DbErrorKind } from '../db/errors.ts';
import type { Db } from '../db/types.ts';
import type { Logger } from '../logger.ts';
import type { TaskRegistry } from '../tasks/registry.ts';

/**
 * The heartbeat a lease of `leaseSeconds` gets when none is asked for: upstream's 60 s at its
 * 300 s lease, and five renewals per lease when the lease is shorter, so a late renewal or two
 * still lands inside it.
 */
export function defaultHeartbeatSeconds(leaseSeconds: number): number {
  return Math.min(60, leaseSeconds / 5);
}

export const HEARTBEAT_NOT_SHORTER = 'the heartbeat must be shorter than the lease, or held tasks lose their lease between renewals';

const positive = (fallback: number) => z._default(z.number().check(z.positive()), fallback);
const atLeast = (min: number, fallback: number) => z._default(z.number().check(z.minimum(min)), fallback);
const int = (min: number, max: number, fallback: number) => z._default(z.int().check(z.minimum(min), z.maximum(max)), fallback);

const DrainOptionsObject = z
  .strictObject({
    queues: z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), ['default']),
    batchSize: int(1, 1000, 100),
    concurrency: int(1, 1000, 10),
    /** Wall-clock budget of this invocation; the drain returns inside it. */
    budgetMs: int(100, Number.MAX_SAFE_INTEGER, 25_000),
    leaseSeconds: atLeast(1, 300),
    /**
     * How often the leases of every held task (running, waiting or finished but not yet recorded)
     * are renewed, and cancel_requested read. Shorter than the lease; default defaultHeartbeatSeconds.
     */
    heartbeatSeconds: z.optional(z.number().check(z.minimum(0.05))),
    /**
     * Stable name registered in reproq_workers. Each invocation leases as
     * `<name>/<invocationId>/<random>`: the invocation id is kept for tracing, and the random part
     * makes the fence unique even when a platform reuses an id (an async retry, two crons at once).
     */
    workerName: z._default(z.string().check(z.minLength(1)), 'reproq-edge'),
    invocationId: z.optional(z.string().check(z.minLength(1))),
    hostname: z._default(z.string(), 'edge'),
    agingFactor: atLeast(0, 60),
    allowedTaskModules: z._default(z.array(z.string()), []),
    /** `skip` leaves unknown task paths for another worker; `fail` fails them terminally. */
    unknownTasks: z._default(z.enum(['skip', 'fail']), 'skip'),
    retry: z._default(
      z.object({
        baseSeconds: positive(DEFAULT_RETRY_POLICY.baseSeconds),
        maxSeconds: positive(DEFAULT_RETRY_POLICY.maxSeconds),
        jitter: z._default(z.boolean(), DEFAULT_RETRY_POLICY.jitter),
      }),
      DEFAULT_RETRY_POLICY,
    ),
    /** No task is started with less budget left than this (or than the average task so far). */
    minTaskMs: atLeast(0, 200),
    /** Stop after claiming this many tasks. */
    maxTasks: z.optional(z.int().check(z.minimum(1))),
  })
  .check(
    z.refine((o) => o.heartbeatSeconds === undefined || o.heartbeatSeconds < o.leaseSeconds, {
      path: ['heartbeatSeconds'],
      message: HEARTBEAT_NOT_SHORTER,
    }),
  );

export const DrainOptionsSchema = z.pipe(
  DrainOptionsObject,
  z.transform((o: z.output<typeof DrainOptionsObject>) => ({ ...o, heartbeatSeconds: o.heartbeatSeconds ?? defaultHeartbeatSeconds(o.leaseSeconds) })),
);

export type DrainOptions = z.input<typeof DrainOptionsSchema>;

export interface DrainSummary {
  claimed: number;
  succeeded: number;
  /** Terminal failures (app errors out of attempts, invalid spec, security, cancelled). */
  failed: number;
  retried: number;
  /** Claimed but never started: handed back to READY with the attempt restored. */
  released: number;
  /** Outcomes the fence refused: the lease had moved on (reclaimed, or expired and re-claimed). */
  lostLease: number;
  cancelled: number;
  durationMs: number;
  /** SQL statements sent, each one round trip. */
  roundTrips: number;
  /**
   * `empty`: nothing this drain may claim remains (a claim that could not see what the same step
   * released is never taken as empty). `rate_limited`: only rate limits hold work back, and the
   * next token comes later than the budget allows; see `retryAfterMs`.
   */
  stoppedBecause: 'empty' | 'budget' | 'max_tasks' | 'aborted' | 'db_error' | 'rate_limited';
  /** With `rate_limited`: how long until a rate-limited bucket has its next token. */
  retryAfterMs?: number;
  /** The database error that ended the drain, if any. Unrecorded outcomes are recovered by lease expiry. */
  error?: string;
  /** With `db_error`: transient (an outage; retry later), data (a row the database refused) or program (a bug or missing migration). */
  errorKind?: DbErrorKind;
  workerId: string;
}

export interface DrainDeps {
  db: Db;
  registry: TaskRegistry;
  logger?: Logger;
  /** Milliseconds; injectable for tests. */
  clock?: () => number;
  /** Ends the drain early (SIGTERM in the long-running worker): stops claiming, releases the unstarted. */
  signal?: AbortSignal;
  /**
   * Receives each attempt's task log (what the handler wrote through ctx.log) and returns the URI to record
   * in logs_uri, or null. The Node CLI's `--logs-dir` writes upstream's task-<id>-attempt-<n>.log files. With
   * no sink (the edge runtimes) nothing is captured: ctx.log reaches the platform's log and logs_uri stays NULL.
   */
  logSink?: (log: TaskLog) => Promise<string | null>;
  /**
   * Aborts the running handlers at once (the end of the long-running worker's shutdown grace period, after
   * `signal`); their attempts are recorded as infra_error retries instead of waiting for lease expiry.
   */
  stop?: AbortSignal;
}

export type ResolvedDrainOptions = z.output<typeof DrainOptionsSchema>;

/** One attempt's captured log: info lines as upstream's STDOUT, warn/error lines as its STDERR. */
export interface TaskLog {
  resultId: number;
  attempt: number;
  stdout: string;
  stderr: string;
}

/**
 * The one mapping from configuration to drain options, for the HTTP and scheduled jobs, `reproq
 * drain` and `reproq worker`. `overrides` (a request's fields, a command's own choices) win where
 * they are defined.
 */
export function drainOptionsFromConfig(config: Config, overrides: DrainOptions = {}): DrainOptions {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return {
    queues: config.worker.queues,
    batchSize: config.drain.batch_size,
    concurrency: config.worker.concurrency,
    budgetMs: config.drain.budget_ms,
    leaseSeconds: config.worker.lease_seconds,
    heartbeatSeconds: config.worker.heartbeat_seconds,
    workerName: config.worker.worker_id ?? 'reproq-edge',
    agingFactor: config.worker.priority_aging_factor,
    allowedTaskModules: config.worker.allowed_task_modules,
    unknownTasks: config.drain.unknown_tasks,
    ...defined,
  };
}
