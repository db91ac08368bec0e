import * as z from 'zod/mini';
import type { Db } from './db/types.ts';
import { QueueNameSchema } from './enqueue.ts';
import { validate } from './errors.ts';
import { PAUSE_QUEUE } from './sql/pauseQueue.ts';
import { RESUME_QUEUE } from './sql/resumeQueue.ts';

/**
 * Queue pause controls (`reproq_queue_controls`), written as reproq-django writes them. A paused queue is
 * skipped by every claimer (Go, Django-run workers and drains); its running tasks finish.
 */
export interface QueueControl {
  queue: string;
  paused: boolean;
  pausedAt: Date | null;
  reason: string;
}

const PauseInputSchema = z.strictObject({ queue: QueueNameSchema, reason: z._default(z.string().check(z.maxLength(1000)), '') });

export async function pauseQueue(db: Db, queue: string, opts: { reason?: string } = {}): Promise<QueueControl> {
  const v = validate(PauseInputSchema, { queue, ...opts });
  const r = (await db.query<{ queue_name: string; paused: boolean; paused_at: Date; reason: string | null }>(PAUSE_QUEUE, [v.queue, v.reason])).rows[0]!;
  return { queue: r.queue_name, paused: r.paused, pausedAt: r.paused_at, reason: r.reason ?? '' };
}

export async function resumeQueue(db: Db, queue: string): Promise<QueueControl> {
  const name = validate(QueueNameSchema, queue, () => 'queue');
  const r = (await db.query<{ queue_name: string; paused: boolean }>(RESUME_QUEUE, [name])).rows[0]!;
  return { queue: r.queue_name, paused: r.paused, pausedAt: null, reason: '' };
}
