import * as z from 'zod/mini';
import { validate } from '../errors.ts';

/** A task_runs.result_id: a positive integer (int8, kept below 2^53 as every adapter reads it). */
export const ResultIdSchema = z
  .number({ error: 'a task id is a number' })
  .check(z.int('a task id is an integer'), z.positive('a task id is positive'), z.maximum(Number.MAX_SAFE_INTEGER));

/** Validates a result id, naming the field `id` in the error. */
export function resultIdOf(id: unknown): number {
  return validate(ResultIdSchema, id, () => 'id');
}
