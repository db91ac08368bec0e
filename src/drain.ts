import type { RetryPolicy } from './backoff.ts';
import { describeError, isRolledBackConflict } from './db/errors.ts';
import { validate } from './errors.ts';
import { runBatch } from './drain/batch.ts';
import { DrainOptionsSchema, type DrainDeps, type DrainOptions, type DrainSummary } from './drain/options.ts';
import { type Action, type ClaimedRow, type Outcome, tally } from './drain/outcomes.ts';
import { recordAfterFailedStep } from './drain/record.ts';
import { consoleLogger, type Logger } from './logger.ts';
import { stepSql } from './sql/step.ts';
import { VERSION } from './version.ts';

export { DrainOptionsSchema, type DrainDeps, type DrainOptions, type DrainSummary, type TaskLog } from './drain/options.ts';

type StepRow = { completed: [number, Action][]; released: number; rate_wait_s: number | null; needs_full: boolean } & (
  | { [K in keyof ClaimedRow]: ClaimedRow[K] }
  | { result_id: null }
);

/** Rate-limit waits are rounded up by this much: a bucket's tokens are stored as float4. */
const TOKEN_SLACK_MS = 5;

/**
 * One bounded drain: claim a batch, run it with bounded concurrency, record the outcomes fused
 * with the next claim, until nothing claimable remains or the budget is spent. Round trips: one
 * per batch plus one to record the last batch, plus lease renewals for batches that outlive a
 * heartbeat, plus one fresh claim after a step whose completion released what its own claim
 * could not see (lock_key siblings, chain children, chord callbacks).
 */
export async function drain(deps: DrainDeps, options: DrainOptions = {}): Promise<DrainSummary> {
  const opts = validate(DrainOptionsSchema, options);
  const clock = deps.clock ?? (() => Date.now());
  const log = deps.logger ?? consoleLogger();
  const started = clock();
  const deadline = started + opts.budgetMs;
  const workerId = leaseId(opts.workerName, opts.invocationId);
  const paths = deps.registry.paths();
  const sql = stepSql(opts.agingFactor);
  const stepName = `reproq_step_${opts.agingFactor}`;
  const statements = {
    full: [sql, stepName],
    sweep: [stepSql(opts.agingFactor, 'sweep'), `${stepName}_sweep`],
    // The plain claim reads per task path, which the claim does only with aging on.
    plain: opts.agingFactor > 0 ? [stepSql(opts.agingFactor, 'plain'), `${stepName}_plain`] : [sql, stepName],
  } as const;
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
  // A queue is claimed plainly until a plain claim finds that it needs the full one (keys or rate
  // limits), then fully for the rest of this drain.
  const targets: { queue: string; claim: keyof typeof statements }[] = [
    ...(opts.unknownTasks === 'fail' ? opts.queues.map((queue) => ({ queue, claim: 'sweep' as const })) : []),
    ...opts.queues.map((queue) => ({ queue, claim: 'plain' as const })),
  ];
  const exhausted = new Set<number>();
  /** Targets whose candidates only a rate limit held back, with the clock time of their next token. */
  const rateLimited = new Map<number, number>();
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
  // Time kept at the end of the budget to record the last batch; runs still going then are aborted.
  const recordMs = () => Math.max(stepMs * 2, 50);
  // Time a task needs: what tasks took so far (or the floor), plus the time to record it. One rule
  // for claiming, starting and aborting, so a task is not started only to be aborted.
  const taskReserve = () => Math.max(opts.minTaskMs, taskMsAvg) + recordMs();
  // Claim what the lanes can start within half a lease (and the budget): a row waits at most that
  // long, so even with failing renewals most rows start under their first lease, and other drains
  // are not kept from rows this one cannot reach. Fast tasks keep full batches.
  const claimSize = () => {
    const horizon = Math.min(opts.leaseSeconds * 500, remaining());
    const startable = opts.concurrency * (1 + Math.floor(horizon / Math.max(taskReserve(), 1)));
    return Math.min(opts.batchSize, startable, (opts.maxTasks ?? Infinity) - summary.claimed);
  };
  /** The next target not known to be empty or waiting for a token, from the round-robin position. */
  const nextTarget = (): number | undefined => {
    for (let i = 0; i < targets.length; i++) {
      const idx = (targetIdx + i) % targets.length;
      const due = rateLimited.get(idx);
      if (exhausted.has(idx) || (due !== undefined && due > clock())) continue;
      rateLimited.delete(idx);
      return idx;
    }
    return undefined;
  };

  for (;;) {
    let want = 0;
    let waitMs = 0;
    let stop: DrainSummary['stoppedBecause'] | undefined;
    const idx = nextTarget();
    if (deps.signal?.aborted) stop = 'aborted';
    else if (opts.maxTasks !== undefined && summary.claimed >= opts.maxTasks) stop = 'max_tasks';
    else if (remaining() < taskReserve()) stop = 'budget';
    else if (idx !== undefined) {
      targetIdx = idx;
      want = claimSize();
    } else if (rateLimited.size === 0) stop = 'empty';
    else {
      waitMs = Math.max(Math.min(...rateLimited.values()) - clock(), 0);
      if (waitMs + taskReserve() > remaining()) {
        stop = 'rate_limited';
        summary.retryAfterMs = Math.ceil(waitMs);
      }
    }
    if (want === 0 && pending.length === 0) {
      if (stop) {
        summary.stoppedBecause = stop;
        break;
      }
      await sleep(waitMs, deps.signal);
      continue;
    }

    const target = targets[targetIdx]!;
    const t0 = clock();
    let first: StepRow;
    let claimed: ClaimedRow[];
    try {
      const params = [JSON.stringify(pending), workerId, target.queue, paths, want, opts.leaseSeconds, register, target.claim === 'sweep'];
      const [text, name] = statements[target.claim];
      const res = await sendStep(() => deps.db.query<StepRow>(text, params, { name }), summary, log);
      first = res.rows[0]!;
      tally(summary, pending, first.completed);
      claimed = res.rows.filter((r): r is StepRow & ClaimedRow => r.result_id !== null);
    } catch (err) {
      if (await recordAfterFailedStep(err, pending, { db: deps.db, sql, workerId, summary, log })) {
        pending = [];
        continue;
      }
      break;
    }
    stepMs = stepMs === 0 ? clock() - t0 : (stepMs + (clock() - t0)) / 2;
    register = null;
    pending = [];
    // This claim could not see what the same statement released; every target gets a fresh look.
    if (first.released > 0) exhausted.clear();
    if (want === 0) {
      if (stop) {
        summary.stoppedBecause = stop;
        break;
      }
      continue;
    }

    summary.claimed += claimed.length;
    // Empty, not merely short: a short batch can be lock_key/concurrency siblings held back. Nor
    // empty when the step released rows its claim could not see: the next claim looks again. Nor
    // when the plain claim stood aside for the full one, which claims next.
    if (first.needs_full) target.claim = 'full';
    else if (claimed.length === 0 && first.released === 0) {
      if (first.rate_wait_s === null) exhausted.add(targetIdx);
      else rateLimited.set(targetIdx, clock() + first.rate_wait_s * 1000 + TOKEN_SLACK_MS);
    }
    targetIdx = (targetIdx + 1) % targets.length;
    if (claimed.length === 0) continue;

    claimed.sort(byClaimOrder(opts.agingFactor));
    pending = await runBatch(claimed, {
      deps,
      opts,
      workerId,
      policy,
      log,
      clock,
      deadline,
      claimedAt: t0,
      reserve: taskReserve,
      recordMs,
      stepMs: () => stepMs,
      summary,
      onTimed(ms) {
        tasksTimed++;
        taskMsAvg += (ms - taskMsAvg) / tasksTimed;
      },
    });
  }

  summary.durationMs = clock() - started;
  return summary;
}

/** How often a step the server rolled back as a deadlock or serialization failure is sent again. */
const CONFLICT_RETRIES = 3;

/**
 * Sends one step, again when the server rolled it back whole as a deadlock or serialization
 * failure (other writers, Django, Go or psql, can lock rows in another order): nothing of it was
 * applied, so the same outcomes and claim are sent as they were. Any other failure is the caller's.
 */
async function sendStep<T>(send: () => Promise<T>, summary: DrainSummary, log: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    summary.roundTrips++;
    try {
      return await send();
    } catch (err) {
      if (attempt > CONFLICT_RETRIES || !isRolledBackConflict(err)) throw err;
      log.warn('drain step rolled back by a lock conflict; sending it again', { attempt, error: describeError(err) });
      await sleep(Math.random() * 20 * attempt, undefined);
    }
  }
}

/**
 * The lease identity of one invocation, `<workerName>/<invocationId>/<random>`: a platform's
 * invocation id stays visible for tracing, and the random part keeps two invocations that share
 * one (an async retry, two crons in the same minute) from sharing a fence.
 */
function leaseId(workerName: string, invocationId: string | undefined): string {
  const random = crypto.randomUUID().replaceAll('-', '').slice(0, 12);
  return invocationId === undefined ? `${workerName}/${random}` : `${workerName}/${invocationId}/${random}`;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
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
