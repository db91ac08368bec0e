import type { Db } from '../db/types.ts';
import { TaskNotFoundError } from '../errors.ts';
import { CANCEL_TASK } from '../sql/cancelTask.ts';
import { resultIdOf } from './id.ts';

/**
 * What a cancel did: `cancelled` (READY/WAITING became CANCELLED), `cancel_requested` (RUNNING: its worker
 * stops it at the next lease renewal), `already_requested`, or `already_finished` (nothing to cancel).
 */
export type CancelOutcome = 'cancelled' | 'cancel_requested' | 'already_requested' | 'already_finished';

export interface CancelResult {
  resultId: number;
  before: string;
  after: string;
  changed: boolean;
  outcome: CancelOutcome;
  /** Workflow tasks that waited on it and were cancelled with it (chain descendants, a chord's callback). */
  dependants: number;
}

interface Row {
  result_id: number;
  before: string;
  after: string;
  already_requested: boolean;
  changed: boolean;
  dependants: number;
}

/**
 * Cancels a task as the Django admin does, in one statement, with what waits on it when it had not
 * started. Throws TaskNotFoundError.
 */
export async function cancelTask(db: Db, id: number): Promise<CancelResult> {
  const resultId = resultIdOf(id);
  const r = (await db.query<Row>(CANCEL_TASK, [resultId])).rows[0];
  if (!r) throw new TaskNotFoundError(resultId);
  const outcome: CancelOutcome = r.changed
    ? r.after === 'CANCELLED'
      ? 'cancelled'
      : 'cancel_requested'
    : r.before === 'RUNNING' && r.already_requested
      ? 'already_requested'
      : 'already_finished';
  return { resultId, before: r.before, after: r.after, changed: r.changed, outcome, dependants: r.dependants };
}
