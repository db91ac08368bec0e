import * as z from 'zod/mini';
import { defineTask } from './registry.ts';

/**
 * Upstream's diagnostic tasks (reproq_django.tasks), so `reproq stress-test` rows run on this worker as well
 * as on a Go/Django one, and the allow-list carries upstream's always-present `reproq_django.tasks.` prefix.
 */
export const debugNoopTask = defineTask({
  path: 'reproq_django.tasks.debug_noop_task',
  kwargs: z.looseObject({ sleep_seconds: z._default(z.number().check(z.minimum(0), z.maximum(3600)), 0) }),
  handler: async ({ kwargs }, ctx) => {
    if (kwargs.sleep_seconds > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, kwargs.sleep_seconds * 1000);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
    return { ok: true, slept: kwargs.sleep_seconds };
  },
});

export const debugErrorTask = defineTask({
  path: 'reproq_django.tasks.debug_error_task',
  handler: () => {
    throw new Error('debug_error_task raised on purpose');
  },
});

export const DEBUG_TASKS = [debugNoopTask, debugErrorTask];
