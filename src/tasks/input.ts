import { safeParse } from 'zod/mini';
import type { AnyTask } from './registry.ts';

export type TaskInputCheck =
  | { ok: true; args: unknown; kwargs: unknown }
  /** `field` is the dotted path of the offending value: `args.0`, `kwargs.to`. */
  | { ok: false; part: 'args' | 'kwargs'; field: string; message: string };

/**
 * Checks a task's arguments against its definition's schemas: by the drain before a handler runs, and by
 * enqueue when the task is registered in the enqueuing process, so a bad argument is refused at the door.
 */
export function checkTaskInput(def: AnyTask, args: unknown, kwargs: unknown): TaskInputCheck {
  const a = def.args ? safeParse(def.args, args) : { success: true as const, data: args };
  if (!a.success) return failure('args', a.error.issues[0]);
  const k = def.kwargs ? safeParse(def.kwargs, kwargs) : { success: true as const, data: kwargs };
  if (!k.success) return failure('kwargs', k.error.issues[0]);
  return { ok: true, args: a.data, kwargs: k.data };
}

function failure(part: 'args' | 'kwargs', issue: { path: PropertyKey[]; message: string } | undefined): TaskInputCheck {
  return { ok: false, part, field: [part, ...(issue?.path ?? []).map(String)].join('.'), message: issue?.message ?? 'invalid' };
}
