import type { RetryPolicy } from './backoff.ts';
import { runBatch } from './drain/batch.ts';
import { DrainOptionsSchema, type DrainDeps, type DrainOptions, type DrainSummary } from './drain/options.ts';
import { type Action, type ClaimedRow, type Outcome, tally } from './drain/outcomes.ts';
import { recordAfterFailedStep } from './drain/record.ts';
import { consoleLogger } from './logger.ts';
import { stepSql } from './sql/step.ts';
import { VERSION } from './version.ts';

export { DrainOptionsSchema, type DrainDeps, type DrainOptions, type DrainSummary, type TaskLog } from './drain/options.ts';

type StepRow = { completed: [number, Action][] } & ({ [K in keyof ClaimedRow]: ClaimedRow[K] } | { result_id: null });

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
      if (await recordAfterFailedStep(err, pending, { db: deps.db, sql, workerId, summary, log })) {
        pending = [];
        continue;
      }
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

/** The claim's order, restored client-side: UPDATE … RETURNING does not keep it. */
function byClaimOrder(agingFactor: number) {
  const enq = (r: ClaimedRow) => new Date(r.enqueued_at).getTime() / 1000;
  if (agingFactor > 0) {
    const rank = (r: ClaimedRow) => r.priority * agingFactor - enq(r);
    return (a: ClaimedRow, b: ClaimedRow) => rank(b) - rank(a) || a.result_id - b.result_id;
  }
  return (a: ClaimedRow, b: ClaimedRow) => b.priority - a.priority || enq(a) - enq(b) || a.result_id - b.result_id;
}
