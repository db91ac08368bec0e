import { z } from 'zod';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelaySeconds } from './backoff.ts';
import type { Db } from './db/types.ts';
import { type Logger, consoleLogger, teeLogger } from './logger.ts';
import {
  type ErrorEntry,
  appError,
  cancelledError,
  infraError,
  invalidSpec,
  securityViolation,
  summarizeError,
} from './outcome.ts';
import { RENEW_LEASES } from './sql/renewLeases.ts';
import { stepSql } from './sql/step.ts';
import { isAllowed } from './tasks/allowlist.ts';
import type { AnyTask, TaskContext, TaskRegistry } from './tasks/registry.ts';
import { VERSION } from './version.ts';

export const DrainOptionsSchema = z
  .object({
    queues: z.array(z.string().min(1)).min(1).default(['default']),
    batchSize: z.number().int().min(1).max(1000).default(100),
    concurrency: z.number().int().min(1).max(1000).default(10),
    /** Wall-clock budget of this invocation; the drain returns inside it. */
    budgetMs: z.number().int().min(100).default(25_000),
    leaseSeconds: z.number().min(1).default(300),
    /** How often the leases of running tasks are renewed (and cancel_requested read). */
    heartbeatSeconds: z.number().min(0.05).default(60),
    /** Stable name registered in reproq_workers; each invocation leases as `<name>/<invocation>`. */
    workerName: z.string().min(1).default('reproq-edge'),
    invocationId: z.string().min(1).optional(),
    hostname: z.string().default('edge'),
    agingFactor: z.number().min(0).default(60),
    allowedTaskModules: z.array(z.string()).default([]),
    /** `skip` leaves unknown task paths for another worker; `fail` fails them terminally. */
    unknownTasks: z.enum(['skip', 'fail']).default('skip'),
    retry: z
      .object({
        baseSeconds: z.number().positive().default(DEFAULT_RETRY_POLICY.baseSeconds),
        maxSeconds: z.number().positive().default(DEFAULT_RETRY_POLICY.maxSeconds),
        jitter: z.boolean().default(DEFAULT_RETRY_POLICY.jitter),
      })
      .default(DEFAULT_RETRY_POLICY),
    /** No task is started with less budget left than this (or than the average task so far). */
    minTaskMs: z.number().min(0).default(200),
    /** Stop after claiming this many tasks. */
    maxTasks: z.number().int().min(1).optional(),
  })
  .strict();

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

/** One attempt's captured log: info lines as upstream's STDOUT, warn/error lines as its STDERR. */
export interface TaskLog {
  resultId: number;
  attempt: number;
  stdout: string;
  stderr: string;
}

/** Upstream's max_stdout_bytes/max_stderr_bytes: a chatty task cannot grow a log without bound. */
const MAX_CAPTURE_CHARS = 1024 * 1024;

interface ClaimedRow {
  result_id: number;
  queue_name: string;
  task_path: string | null;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_seconds: number;
  spec_json: Record<string, unknown>;
  enqueued_at: Date;
  cancel_requested: boolean;
}

type StepRow = { completed: [number, Action][] } & ({ [K in keyof ClaimedRow]: ClaimedRow[K] } | { result_id: null });

type Action = 'success' | 'retry' | 'fail' | 'release';

interface Outcome {
  result_id: number;
  action: Action;
  return_text: string | null;
  error: ErrorEntry | null;
  last_error: string | null;
  delay_s: number | null;
  logs_uri: string | null;
}

/** Why a running handler was aborted; the drain maps each to an outcome. */
type AbortReason = 'timeout' | 'cancelled' | 'lease_lost' | 'deadline' | 'shutdown';

class RunAbort extends Error {
  constructor(readonly reason: AbortReason) {
    super(reason);
    this.name = 'RunAbort';
  }
}

/**
 * One bounded drain: claim a batch, run it with bounded concurrency, record the outcomes fused
 * with the next claim, until the queues are empty or the budget is spent. Round trips: one per
 * batch plus one to record the last batch, plus lease renewals for tasks that outlive a heartbeat.
 */
export async function drain(deps: DrainDeps, options: DrainOptions = {}): Promise<DrainSummary> {
  const opts = DrainOptionsSchema.parse(options);
  const clock = deps.clock ?? (() => Date.now());
  const log = deps.logger ?? consoleLogger();
  const started = clock();
  const deadline = started + opts.budgetMs;
  const workerId = `${opts.workerName}/${opts.invocationId ?? crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const paths = deps.registry.paths();
  const sql = stepSql(opts.agingFactor);
  const stepName = `reproq_step_${opts.agingFactor}`;
  const policy: RetryPolicy = opts.retry;

  const summary: DrainSummary = {
    claimed: 0,
    succeeded: 0,
    failed: 0,
    retried: 0,
    released: 0,
    lostLease: 0,
    cancelled: 0,
    durationMs: 0,
    roundTrips: 0,
    stoppedBecause: 'empty',
    workerId,
  };

  // Claim targets rotate round-robin like upstream's queue poll; unknown-task sweeps come first.
  const targets = [
    ...(opts.unknownTasks === 'fail' ? opts.queues.map((queue) => ({ queue, sweep: true })) : []),
    ...opts.queues.map((queue) => ({ queue, sweep: false })),
  ];
  const exhausted = new Set<number>();
  let targetIdx = 0;
  let register: string | null = JSON.stringify({
    worker_id: opts.workerName,
    hostname: opts.hostname,
    concurrency: opts.concurrency,
    queues: opts.queues,
    version: VERSION,
  });
  let pending: Outcome[] = [];
  let stepMs = 0;
  let taskMsAvg = 0;
  let tasksTimed = 0;

  const remaining = () => deadline - clock();
  // Time a task needs: what tasks took so far (or the floor), plus one step to record it.
  const taskReserve = () => Math.max(opts.minTaskMs, taskMsAvg) + stepMs;

  for (;;) {
    let want = 0;
    let target = targets[targetIdx]!;
    if (deps.signal?.aborted) summary.stoppedBecause = 'aborted';
    else if (opts.maxTasks !== undefined && summary.claimed >= opts.maxTasks) summary.stoppedBecause = 'max_tasks';
    else if (exhausted.size === targets.length) summary.stoppedBecause = 'empty';
    else if (remaining() < taskReserve()) summary.stoppedBecause = 'budget';
    else {
      while (exhausted.has(targetIdx)) targetIdx = (targetIdx + 1) % targets.length;
      target = targets[targetIdx]!;
      want = Math.min(opts.batchSize, (opts.maxTasks ?? Infinity) - summary.claimed);
    }
    if (want === 0 && pending.length === 0) break;

    const t0 = clock();
    let claimed: ClaimedRow[];
    try {
      const res = await deps.db.query<StepRow>(
        sql,
        [JSON.stringify(pending), workerId, target.queue, paths, want, opts.leaseSeconds, register, target.sweep],
        { name: stepName },
      );
      summary.roundTrips++;
      tally(summary, pending, res.rows[0]!.completed);
      claimed = res.rows.filter((r): r is StepRow & ClaimedRow => r.result_id !== null);
    } catch (err) {
      summary.roundTrips++;
      summary.stoppedBecause = 'db_error';
      summary.error = errorMessage(err);
      log.error('drain step failed', { error: summary.error, pending: pending.length });
      await recordOnly(deps.db, sql, pending, workerId, summary, log);
      break;
    }
    stepMs = stepMs === 0 ? clock() - t0 : (stepMs + (clock() - t0)) / 2;
    register = null;
    pending = [];
    if (want === 0) break;

    summary.claimed += claimed.length;
    // Empty, not merely short: a short batch can be lock_key/concurrency siblings held back.
    if (claimed.length === 0) exhausted.add(targetIdx);
    targetIdx = (targetIdx + 1) % targets.length;
    if (claimed.length === 0) continue;

    claimed.sort(byClaimOrder(opts.agingFactor));
    const batch = await runBatch(claimed, {
      deps,
      opts,
      workerId,
      policy,
      log,
      clock,
      deadline,
      reserve: taskReserve,
      stepMs: () => stepMs,
      summary,
      onTimed(ms) {
        tasksTimed++;
        taskMsAvg += (ms - taskMsAvg) / tasksTimed;
      },
    });
    pending = batch;
  }

  summary.durationMs = clock() - started;
  return summary;
}

interface BatchContext {
  deps: DrainDeps;
  opts: z.output<typeof DrainOptionsSchema>;
  workerId: string;
  policy: RetryPolicy;
  log: Logger;
  clock: () => number;
  deadline: number;
  reserve: () => number;
  stepMs: () => number;
  summary: DrainSummary;
  onTimed(ms: number): void;
}

/** Runs one claimed batch with bounded concurrency and returns the outcomes to record. */
async function runBatch(rows: ClaimedRow[], bc: BatchContext): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const running = new Map<number, AbortController>();
  let next = 0;

  const heartbeat = setInterval(() => void renew(), bc.opts.heartbeatSeconds * 1000);
  // Abort what still runs when only the time to record the batch is left.
  const hardStop = setTimeout(
    () => running.forEach((c) => c.abort(new RunAbort('deadline'))),
    Math.max(bc.deadline - bc.clock() - Math.max(bc.stepMs() * 2, 50), 0),
  );

  const stopAll = () => running.forEach((c) => c.abort(new RunAbort('shutdown')));
  bc.deps.stop?.addEventListener('abort', stopAll);

  async function renew(): Promise<void> {
    const ids = [...running.keys()];
    if (ids.length === 0) return;
    try {
      const res = await bc.deps.db.query<{ result_id: number; cancel_requested: boolean }>(RENEW_LEASES, [
        ids,
        bc.workerId,
        bc.opts.leaseSeconds,
      ]);
      bc.summary.roundTrips++;
      const held = new Map(res.rows.map((r) => [Number(r.result_id), r.cancel_requested]));
      for (const id of ids) {
        const ctl = running.get(id);
        if (!held.has(id)) ctl?.abort(new RunAbort('lease_lost'));
        else if (held.get(id)) ctl?.abort(new RunAbort('cancelled'));
      }
    } catch (err) {
      // A missed renewal is survivable: the lease is much longer than the heartbeat.
      bc.summary.roundTrips++;
      bc.log.warn('lease renewal failed', { error: errorMessage(err) });
    }
  }

  async function lane(): Promise<void> {
    while (next < rows.length) {
      const row = rows[next++]!;
      const stop = bc.deps.signal?.aborted || bc.deadline - bc.clock() < bc.reserve();
      if (stop) {
        outcomes.push(release(row));
        continue;
      }
      const t0 = bc.clock();
      const capture = bc.deps.logSink ? { stdout: '', stderr: '' } : undefined;
      const outcome = await runOne(row, bc, running, capture);
      bc.onTimed(bc.clock() - t0);
      if (outcome && capture && (capture.stdout || capture.stderr)) outcome.logs_uri = await saveLog(row, capture, bc);
      if (outcome) outcomes.push(outcome);
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.min(bc.opts.concurrency, rows.length) }, lane));
  } finally {
    clearInterval(heartbeat);
    clearTimeout(hardStop);
    bc.deps.stop?.removeEventListener('abort', stopAll);
  }
  return outcomes;
}

/** A sink failure costs the log, never the outcome. */
async function saveLog(row: ClaimedRow, capture: { stdout: string; stderr: string }, bc: BatchContext): Promise<string | null> {
  try {
    return await bc.deps.logSink!({ resultId: row.result_id, attempt: row.attempts, ...capture });
  } catch (err) {
    bc.log.warn('task log not saved', { result_id: row.result_id, error: errorMessage(err) });
    return null;
  }
}

async function runOne(
  row: ClaimedRow,
  bc: BatchContext,
  running: Map<number, AbortController>,
  capture?: { stdout: string; stderr: string },
): Promise<Outcome | null> {
  const now = () => new Date();
  const taskPath = row.task_path || (typeof row.spec_json?.task_path === 'string' ? row.spec_json.task_path : '');
  if (!taskPath) return fail(row, invalidSpec('spec_json missing task_path', now()));
  if (row.cancel_requested) return fail(row, cancelledError(taskPath, bc.workerId, now()));
  const def = bc.deps.registry.get(taskPath);
  if (!def) return fail(row, invalidSpec(`unknown task path: ${taskPath}`, now()));
  if (!isAllowed(taskPath, bc.opts.allowedTaskModules)) return fail(row, securityViolation(taskPath, now()));

  const input = parseInput(def, row.spec_json);
  if ('error' in input) return fail(row, invalidSpec(input.error, now()));

  const taskLog = bc.log.child({ result_id: row.result_id, task_path: taskPath });
  const controller = new AbortController();
  running.set(row.result_id, controller);
  const timeout = setTimeout(() => controller.abort(new RunAbort('timeout')), row.timeout_seconds * 1000);
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  const ctx: TaskContext = {
    resultId: row.result_id,
    taskPath,
    queue: row.queue_name,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
    signal: controller.signal,
    log: capture ? teeLogger(taskLog, (level, line) => {
      const stream = level === 'info' ? 'stdout' : 'stderr';
      if (capture[stream].length < MAX_CAPTURE_CHARS) capture[stream] += `${line}\n`;
    }) : taskLog,
    spec: row.spec_json,
  };
  try {
    // A handler that ignores its signal keeps running on its own; its result is no longer ours.
    const value = await Promise.race([Promise.resolve().then(() => def.handler(input.value, ctx)), aborted]);
    const returnText = serialise(value);
    if (typeof returnText !== 'string' && returnText !== null) {
      return retryOrFail(row, appError(returnText.error, row.attempts, bc.workerId, now()), bc);
    }
    return { ...blank(row), action: 'success', return_text: returnText };
  } catch (err) {
    if (err instanceof RunAbort) {
      switch (err.reason) {
        case 'lease_lost':
          bc.summary.lostLease++;
          return null;
        case 'cancelled':
          return fail(row, cancelledError(taskPath, bc.workerId, now()));
        case 'timeout':
          return retryOrFail(row, infraError(`task exceeded timeout_seconds=${row.timeout_seconds}`, now()), bc);
        case 'deadline':
          return retryOrFail(row, infraError('aborted at the end of the drain budget', now()), bc);
        case 'shutdown':
          return retryOrFail(row, infraError('aborted: the worker shut down before the task finished', now()), bc);
      }
    }
    return retryOrFail(row, appError(err, row.attempts, bc.workerId, now()), bc);
  } finally {
    clearTimeout(timeout);
    running.delete(row.result_id);
  }

}

/** Retries while attempts remain (attempts counts this run), else fails terminally. */
function retryOrFail(row: ClaimedRow, entry: ErrorEntry, bc: BatchContext): Outcome {
  if (row.attempts < row.max_attempts) {
    return { ...blank(row), action: 'retry', error: entry, delay_s: retryDelaySeconds(row.attempts, bc.policy) };
  }
  return fail(row, entry);
}

function fail(row: ClaimedRow, entry: ErrorEntry): Outcome {
  return { ...blank(row), action: 'fail', error: entry, last_error: summarizeError(entry) };
}

function release(row: ClaimedRow): Outcome {
  return { ...blank(row), action: 'release' };
}

function blank(row: ClaimedRow): Outcome {
  return { result_id: row.result_id, action: 'release', return_text: null, error: null, last_error: null, delay_s: null, logs_uri: null };
}

function parseInput(def: AnyTask, spec: Record<string, unknown>): { value: { args: unknown; kwargs: unknown } } | { error: string } {
  const rawArgs = spec.args ?? [];
  const rawKwargs = spec.kwargs ?? {};
  const args = def.args ? def.args.safeParse(rawArgs) : { success: true as const, data: rawArgs };
  if (!args.success) return { error: `args do not match ${def.path}: ${args.error.issues[0]?.message ?? 'invalid'}` };
  const kwargs = def.kwargs ? def.kwargs.safeParse(rawKwargs) : { success: true as const, data: rawKwargs };
  if (!kwargs.success) return { error: `kwargs do not match ${def.path}: ${kwargs.error.issues[0]?.message ?? 'invalid'}` };
  return { value: { args: args.data, kwargs: kwargs.data } };
}

/** `undefined` stores SQL NULL and `null` stores JSON null, as upstream's envelope does. */
function serialise(value: unknown): string | null | { error: Error } {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return { error: new TypeError(`task returned a value that is not JSON: ${typeof value}`) };
    return text;
  } catch (err) {
    const e = new TypeError(`task returned a value that cannot be serialised to JSON: ${errorMessage(err)}`);
    return { error: e };
  }
}

/** Counts only what the fence let through; the rest lost their lease while running. */
function tally(summary: DrainSummary, sent: readonly Outcome[], completed: readonly [number, Action][]): void {
  const applied = new Set(completed.map(([id]) => Number(id)));
  for (const o of sent) {
    if (!applied.has(o.result_id)) summary.lostLease++;
    else if (o.action === 'success') summary.succeeded++;
    else if (o.action === 'retry') summary.retried++;
    else if (o.action === 'release') summary.released++;
    else {
      summary.failed++;
      if (o.error?.kind === 'cancelled') summary.cancelled++;
    }
  }
}

/** After a failed step, one more try to record outcomes (claiming nothing, so no batch is orphaned). */
async function recordOnly(db: Db, sql: string, pending: Outcome[], workerId: string, summary: DrainSummary, log: Logger) {
  if (pending.length === 0) return;
  try {
    const res = await db.query<{ completed: [number, Action][] }>(sql, [JSON.stringify(pending), workerId, '', [], 0, 1, null, false]);
    summary.roundTrips++;
    tally(summary, pending, res.rows[0]!.completed);
  } catch (err) {
    summary.roundTrips++;
    log.error('recording outcomes failed; their leases will expire and reclaim will retry them', {
      error: errorMessage(err),
      tasks: pending.map((o) => o.result_id),
    });
  }
}

/** The claim's order, restored client-side: UPDATE … RETURNING does not keep it. */
function byClaimOrder(agingFactor: number) {
  const enq = (r: ClaimedRow) => new Date(r.enqueued_at).getTime() / 1000;
  if (agingFactor > 0) {
    const rank = (r: ClaimedRow) => r.priority * agingFactor - enq(r);
    return (a: ClaimedRow, b: ClaimedRow) => rank(b) - rank(a) || a.result_id - b.result_id;
  }
  return (a: ClaimedRow, b: ClaimedRow) => b.priority - a.priority || enq(a) - enq(b) || a.result_id - b.result_id;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
