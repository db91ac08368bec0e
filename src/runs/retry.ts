import type { Db } from '../db/types.ts';
import { TaskNotFoundError, TaskStateError } from '../errors.ts';
import { TRIAGE_RETRY } from '../sql/triageRetry.ts';
import { explainActiveSpec } from './active-spec.ts';
import { resultIdOf } from './id.ts';

export interface RetryResult {
  /** Tasks moved from FAILED back to READY. */
  retried: number[];
  /** Chain links their failure had ended, WAITING again to run after them. */
  resumed: number;
}

/**
 * Upstream's triage retry of one task: FAILED → READY now with attempts 0 (its error history is kept).
 * Throws TaskNotFoundError, TaskStateError when the task is not FAILED, or ActiveSpecConflictError.
 */
export async function retryTask(db: Db, id: number): Promise<RetryResult> {
  const resultId = resultIdOf(id);
  const result = await retry(db, resultId);
  if (result.retried.length === 0) {
    const found = (await db.query<{ status: string }>('SELECT status FROM task_runs WHERE result_id = $1', [resultId])).rows[0];
    if (!found) throw new TaskNotFoundError(resultId);
    throw new TaskStateError(resultId, found.status, `task ${resultId} is ${found.status}; only FAILED tasks can be retried`);
  }
  return result;
}

/**
 * Retries every FAILED task, in one statement; an active duplicate of any of them fails it whole. A
 * task that failed only because what it waited on failed comes back with its cause instead.
 */
export async function retryFailedTasks(db: Db): Promise<RetryResult> {
  return retry(db, null);
}

async function retry(db: Db, id: number | null): Promise<RetryResult> {
  try {
    const rows = (await db.query<{ result_id: number; resumed: number }>(TRIAGE_RETRY, [id])).rows;
    return { retried: rows.map((r) => Number(r.result_id)), resumed: rows[0]?.resumed ?? 0 };
  } catch (err) {
    throw await explainActiveSpec(db, err, null);
  }
}
