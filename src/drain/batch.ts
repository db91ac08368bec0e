import type { RetryPolicy } from '../backoff.ts';
import { describeError } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import { RENEW_LEASES } from '../sql/renewLeases.ts';
import type { DrainDeps, DrainSummary, ResolvedDrainOptions } from './options.ts';
import { type ClaimedRow, type Outcome, release } from './outcomes.ts';
import { RunAbort, runTask, saveLog } from './run-task.ts';

export interface BatchContext {
  deps: DrainDeps;
  opts: ResolvedDrainOptions;
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
export async function runBatch(rows: ClaimedRow[], bc: BatchContext): Promise<Outcome[]> {
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
      bc.log.warn('lease renewal failed', { error: describeError(err) });
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
      const outcome = await runTask(row, bc, running, capture);
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
