import type { Db } from '../db/types.ts';
import { ActiveSpecConflictError, TaskNotFoundError, TaskStateError } from '../errors.ts';
import { pauseQueue, resumeQueue } from '../queues.ts';
import { cancelTask } from '../runs/cancel.ts';
import { replayTask } from '../runs/replay.ts';
import { retryTask } from '../runs/retry.ts';

/** The task does not exist (404), or its state does not allow the action (409). */
export class ActionRefused extends Error {
  readonly status: 404 | 409;
  constructor(status: 404 | 409, message: string) {
    super(message);
    this.status = status;
  }
}

export type CancelOutcome = 'cancelled' | 'cancel_requested';

/**
 * The operator actions behind the dashboard's buttons: the core's domain functions, which the
 * `reproq` commands and the HTTP routes of the same names call too. The routes see only this interface.
 */
export interface DashboardActions {
  /** FAILED → READY now with attempts 0; the error history stays. */
  retry(db: Db, id: string): Promise<void>;
  /** READY/WAITING → CANCELLED now; RUNNING gets cancel_requested, honoured at its next lease renewal. */
  cancel(db: Db, id: string): Promise<CancelOutcome>;
  /** Enqueues a copy of the task to run now; returns the new task's id. */
  replay(db: Db, id: string): Promise<string>;
  pause(db: Db, queue: string, reason: string): Promise<void>;
  resume(db: Db, queue: string): Promise<void>;
}

/** The core's typed refusals, as the page's status. */
async function refusing<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof TaskNotFoundError) throw new ActionRefused(404, err.message);
    if (err instanceof TaskStateError || err instanceof ActiveSpecConflictError) throw new ActionRefused(409, err.message);
    throw err;
  }
}

export const actions: DashboardActions = {
  async retry(db, id) {
    await refusing(retryTask(db, Number(id)));
  },

  async cancel(db, id) {
    const r = await refusing(cancelTask(db, Number(id)));
    if (r.outcome === 'cancelled' || r.outcome === 'cancel_requested') return r.outcome;
    throw new ActionRefused(
      409,
      r.outcome === 'already_requested' ? `cancel was already requested for task ${id}` : `task ${id} is already ${r.before}; nothing to cancel`,
    );
  },

  async replay(db, id) {
    return String((await refusing(replayTask(db, { id: Number(id) }))).resultId);
  },

  async pause(db, queue, reason) {
    await pauseQueue(db, queue, { reason });
  },

  async resume(db, queue) {
    await resumeQueue(db, queue);
  },
};
