import * as z from 'zod/mini';
import type { Db } from '../db/types.ts';
import { TaskNotFoundError, ValidationError, validate } from '../errors.ts';
import { REPLAY_TASK } from '../sql/replayTask.ts';
import { explainActiveSpec } from './active-spec.ts';
import { ResultIdSchema } from './id.ts';

/** Which task to copy: by id, or the latest row (any status) with a spec_hash. */
export const ReplayInputSchema = z.union([
  z.strictObject({ id: ResultIdSchema }),
  z.strictObject({ specHash: z.string().check(z.regex(/^[0-9a-f]{1,64}$/, 'a spec_hash is up to 64 lower-case hex digits')) }),
]);
export type ReplayInput = z.input<typeof ReplayInputSchema>;

export interface ReplayResult {
  /** The new READY row. */
  resultId: number;
  /** The row it copies. */
  sourceId: number;
  specHash: string;
}

/**
 * Upstream's replay: a new READY row copying the source's spec and execution settings, to run now. Throws
 * TaskNotFoundError (no such source), or ActiveSpecConflictError while a READY/RUNNING row has the same spec.
 */
export async function replayTask(db: Db, input: ReplayInput): Promise<ReplayResult> {
  if (input === null || typeof input !== 'object' || ('id' in input) === ('specHash' in input)) {
    throw new ValidationError('id', 'give exactly one of id or specHash');
  }
  const v = validate(ReplayInputSchema, input);
  const id = 'id' in v ? v.id : null;
  const specHash = 'specHash' in v ? v.specHash : null;
  try {
    const r = (await db.query<{ result_id: number; source_id: number; spec_hash: string }>(REPLAY_TASK, [id, specHash])).rows[0];
    if (!r) {
      throw new TaskNotFoundError(id, specHash);
    }
    return { resultId: Number(r.result_id), sourceId: Number(r.source_id), specHash: r.spec_hash.trim() };
  } catch (err) {
    throw await explainActiveSpec(db, err, specHash ?? (id !== null ? await specHashOf(db, id) : null));
  }
}

async function specHashOf(db: Db, id: number): Promise<string | null> {
  const r = await db.query<{ spec_hash: string }>('SELECT spec_hash FROM task_runs WHERE result_id = $1', [id]);
  return r.rows[0]?.spec_hash ?? null;
}
