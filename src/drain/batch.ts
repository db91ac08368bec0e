import type { RetryPolicy } from '../backoff.ts';
import { describeError } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import { renewLeases } from '../sql/renewLeases.ts';
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
  /** When the step that claimed the batch was sent: the database's lease cannot end before this plus the lease. */
  claimedAt: number;
  /** Time a task needs to be worth starting: its expected run plus recordMs. */
  reserve: () => number;
  /** Time kept at the end of the budget to record the batch. */
  recordMs: () => number;
  stepMs: () => number;
  summary: DrainSummary;
  onTimed(ms: number): void;
}

/**
 * Runs one claimed batch with bounded concurrency and returns the outcomes to record.
 *
 * Every row of the batch is under a lease until its outcome is recorded, whether it runs, waits for
 * a lane or waits for the next step, so the heartbeat renews them all in one statement. The batch
 * keeps a local lease deadline: the lease length from when the last confirmed renewal (or the
 * claim) was sent, which the database's NOW() cannot precede. A lane starts a row only while that
 * deadline is more than one heartbeat plus one statement ahead, so the next renewal can land before
 * it; otherwise it hands the row back. A run whose lease could not be confirmed by the deadline is
 * aborted, as upstream kills a run whose heartbeat fails: another drain may have it by then.
 */
export async function runBatch(rows: ClaimedRow[], bc: BatchContext): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const running = new Map<number, AbortController>();
  const byId = new Map(rows.map((r) => [r.result_id, r]));
  /** Rows still ours: no renewal has reported them lost. */
  const held = new Set(byId.keys());
  const leaseMs = bc.opts.leaseSeconds * 1000;
  const heartbeatMs = bc.opts.heartbeatSeconds * 1000;
  let leaseUntil = bc.claimedAt + leaseMs;
  let handedBack = 0;
  let next = 0;
  let renewing: Promise<void> | undefined;

  const heartbeat = setInterval(() => {
    renewing ??= renew().finally(() => (renewing = undefined));
  }, heartbeatMs);
  const armExpiry = () =>
    setTimeout(() => running.forEach((c) => c.abort(new RunAbort('lease_lost'))), Math.max(leaseUntil - bc.clock(), 0));
  let expiry = armExpiry();
  // Abort what still runs when only the time to record the batch is left.
  const hardStop = setTimeout(
    () => running.forEach((c) => c.abort(new RunAbort('deadline'))),
    Math.max(bc.deadline - bc.clock() - bc.recordMs(), 0),
  );

  const stopAll = () => running.forEach((c) => c.abort(new RunAbort('shutdown')));
  bc.deps.stop?.addEventListener('abort', stopAll);

  async function renew(): Promise<void> {
    const ids = [...held];
    if (ids.length === 0) return;
    const sentAt = bc.clock();
    try {
      const kept = await renewLeases(bc.deps.db, ids, bc.workerId, bc.opts.leaseSeconds);
      bc.summary.roundTrips++;
      for (const id of ids) {
        const cancel = kept.get(id);
        if (cancel === undefined) {
          // Lost: a waiting row is skipped by its lane, a finished one is refused by the fence.
          held.delete(id);
          running.get(id)?.abort(new RunAbort('lease_lost'));
        } else if (cancel) {
          byId.get(id)!.cancel_requested = true;
          running.get(id)?.abort(new RunAbort('cancelled'));
        }
      }
      leaseUntil = sentAt + leaseMs;
      clearTimeout(expiry);
      expiry = armExpiry();
    } catch (err) {
      // The deadline stays where the last confirmed renewal put it; the next heartbeat tries again.
      bc.summary.roundTrips++;
      bc.log.warn('lease renewal failed', { error: describeError(err), tasks: ids.length });
    }
  }

  async function lane(): Promise<void> {
    while (next < rows.length) {
      const row = rows[next++]!;
      if (!held.has(row.result_id)) {
        // Another owner has it now (reclaimed and claimed again): never start it.
        bc.summary.lostLease++;
        continue;
      }
      const now = bc.clock();
      if (bc.deps.signal?.aborted || bc.deadline - now < bc.reserve()) {
        outcomes.push(release(row));
        continue;
      }
      if (leaseUntil - now <= heartbeatMs + bc.stepMs()) {
        handedBack++;
        outcomes.push(release(row));
        continue;
      }
      const t0 = bc.clock();
      const capture = bc.deps.logSink ? { stdout: '', stderr: '' } : undefined;
      const outcome = await runTask(row, bc, running, capture);
      bc.onTimed(bc.clock() - t0);
      if (outcome && capture && (capture.stdout || capture.stderr)) outcome.logs_uri = await saveLog(row, capture, bc);
      if (outcome) outcomes.push(outcome);
      // A run given up for its lease is left to expire and be reclaimed, so it is renewed no more.
      else held.delete(row.result_id);
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.min(bc.opts.concurrency, rows.length) }, lane));
  } finally {
    clearInterval(heartbeat);
    clearTimeout(expiry);
    clearTimeout(hardStop);
    bc.deps.stop?.removeEventListener('abort', stopAll);
    // A renewal still in flight must not read the coming step's completions as lost leases.
    await renewing;
  }
  if (handedBack > 0) {
    bc.log.warn('handing back claimed tasks: their lease could not be renewed in time to start them', { tasks: handedBack });
  }
  return outcomes;
}
