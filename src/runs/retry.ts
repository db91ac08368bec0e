import type { Db } from '../db/types.ts';
import { TaskNotFoundError, TaskStateError } from '../errors.ts';
import { TRIAGE_RETRY } from '../sql/triageRetry.ts';
import { explainActiveSpec } from './active-spec.ts';
import { resultIdOf } from './id.ts';

export interface RetryResult {
  /** Tasks moved from FAILED back to READY. */
  retried: number[];
}

/**
 * Upstream's triage retry of one task: FAILED → READY now with attempts 0 (its error history is kept).
 * Throws TaskNotFoundError, TaskStateError when the task is not FAILED, or ActiveSpecConflictError.
 */
export async function retryTask(db: Db, id: number): Promise<RetryResult> {
  const resultId = resultIdOf(id);
  const retried = await retry(db, resultId);
  if (retried.length === 0) {
    const found = (await db.query<{ status: string }>('SELECT status FROM task_runs WHERE result_id = $1', [resultId])).rows[0];
    if (!found) throw new TaskNotFoundError(resultId);
    throw new TaskStateError(resultId, found.status, `task ${resultId} is ${found.status}; only FAILED tasks can be retried`);
  }
  return { retried };
}

/** Retries every FAILED task, in one statement; an active duplicate of any of them fails it whole. */
export async function retryFailedTasks(db: Db): Promise<RetryResult> {
  return { retried: await retry(db, null) };
}

async function retry(db: Db, id: number | null): Promise<number[]> {
  try {
    return (await db.query<{ result_id: number }>(TRIAGE_RETRY, [id])).rows.map((r) => Number(r.result_id));
  } catch (err) {
    throw await explainActiveSpec(db, err, null);
  }
}
