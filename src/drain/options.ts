import * as z from 'zod/mini';
import { DEFAULT_RETRY_POLICY } from '../backoff.ts';
import type { DbErrorKind } from '../db/errors.ts';
import type { Db } from '../db/types.ts';
import type { Logger } from '../logger.ts';
import type { TaskRegistry } from '../tasks/registry.ts';

const positive = (fallback: number) => z._default(z.number().check(z.positive()), fallback);
const atLeast = (min: number, fallback: number) => z._default(z.number().check(z.minimum(min)), fallback);
const int = (min: number, max: number, fallback: number) => z._default(z.int().check(z.minimum(min), z.maximum(max)), fallback);

export const DrainOptionsSchema = z.strictObject({
  queues: z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), ['default']),
  batchSize: int(1, 1000, 100),
  concurrency: int(1, 1000, 10),
  /** Wall-clock budget of this invocation; the drain returns inside it. */
  budgetMs: int(100, Number.MAX_SAFE_INTEGER, 25_000),
  leaseSeconds: atLeast(1, 300),
  /** How often the leases of running tasks are renewed (and cancel_requested read). */
  heartbeatSeconds: atLeast(0.05, 60),
  /** Stable name registered in reproq_workers; each invocation leases as `<name>/<invocation>`. */
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
});

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
  stoppedBecause: 'empty' | 'budget' | 'max_tasks' | 'aborted' | 'db_error';
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
