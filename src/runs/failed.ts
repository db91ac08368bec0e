import * as z from 'zod/mini';
import type { Db } from '../db/types.ts';
import { validate } from '../errors.ts';
import { QueueNameSchema } from '../enqueue.ts';
import { boundedInt } from '../storable.ts';
import { TRIAGE_LIST } from '../sql/triageList.ts';

export const ListFailedInputSchema = z.strictObject({
  queue: z.optional(QueueNameSchema),
  limit: boundedInt(1, 1000, 50),
});
export type ListFailedInput = z.input<typeof ListFailedInputSchema>;

/** A row of the dead-letter list. */
export interface FailedTask {
  result_id: number;
  queue_name: string;
  task_path: string;
  status: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  failed_at: Date | null;
  last_attempted_at: Date | null;
  finished_at: Date | null;
}

/** Upstream's dead-letter queue: FAILED tasks, newest failure first. */
export async function listFailedTasks(db: Db, input: ListFailedInput = {}): Promise<FailedTask[]> {
  const v = validate(ListFailedInputSchema, input);
  return (await db.query<FailedTask>(TRIAGE_LIST, [v.limit, v.queue ?? null])).rows;
}
