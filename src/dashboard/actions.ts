import type { Db } from '../db/types.ts';
import { CANCEL_TASK } from '../sql/cancelTask.ts';
import { PAUSE_QUEUE } from '../sql/pauseQueue.ts';
import { REPLAY_TASK } from '../sql/replayTask.ts';
import { RESUME_QUEUE } from '../sql/resumeQueue.ts';
import { TRIAGE_RETRY } from '../sql/triageRetry.ts';

/** The task does not exist (404), or its state does not allow the action (409). */
export class ActionRefused extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export type CancelOutcome = 'cancelled' | 'cancel_requested';

/**
 * The operator actions behind the dashboard's buttons: the same semantics as the `reproq` commands
 * of the same names. The routes see only this interface.
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

const ACTIVE_SPEC = 'a READY or RUNNING task with the same spec_hash exists, and only one may be active: wait for it to finish, or cancel it first';

/** Only one READY/RUNNING row per spec_hash: the unique index's refusal is the operator's to resolve. */
async function refusingActiveSpec<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if ((err as { code?: string })?.code === '23505') throw new ActionRefused(409, ACTIVE_SPEC);
    throw err;
  }
}

export const actions: DashboardActions = {
  async retry(db, id) {
    const res = await refusingActiveSpec(db.query(TRIAGE_RETRY, [id]));
    if (res.rowCount === 0) throw new ActionRefused(409, `task ${id} is not FAILED; only failed tasks can be retried`);
  },

  async cancel(db, id) {
    const r = (await db.query<{ before: string; after: string; already_requested: boolean; changed: boolean }>(CANCEL_TASK, [id])).rows[0];
    if (!r) throw new ActionRefused(404, `no task ${id}`);
    if (r.changed) return r.after === 'CANCELLED' ? 'cancelled' : 'cancel_requested';
    if (r.already_requested) throw new ActionRefused(409, `cancel was already requested for task ${id}`);
    throw new ActionRefused(409, `task ${id} is already ${r.before}; nothing to cancel`);
  },

  async replay(db, id) {
    const r = (await refusingActiveSpec(db.query<{ result_id: string | number }>(REPLAY_TASK, [id, null]))).rows[0];
    if (!r) throw new ActionRefused(404, `no task ${id}`);
    return String(r.result_id);
  },

  async pause(db, queue, reason) {
    await db.query(PAUSE_QUEUE, [queue, reason]);
  },

  async resume(db, queue) {
    await db.query(RESUME_QUEUE, [queue]);
  },
};
