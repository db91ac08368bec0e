import * as z from 'zod/mini';
import { defineTask } from '../tasks/registry.ts';

/** The demo's tasks module: the same shape a user's `--tasks` file exports. */
export const sendEmail = defineTask({
  path: 'tasks.send_email',
  kwargs: z.object({ to: z.email(), subject: z.string() }),
  handler: ({ kwargs }) => ({ delivered: true, to: kwargs.to }),
});

export const flaky = defineTask({
  path: 'tasks.flaky',
  handler: (_input, ctx) => {
    throw new Error(`upstream API answered 503 (attempt ${ctx.attempt})`);
  },
});

export const resize = defineTask({
  path: 'tasks.resize_image',
  args: z.tuple([z.string(), z.int().check(z.positive())]),
  handler: async ({ args: [name, width] }, ctx) => {
    await new Promise((r) => setTimeout(r, 150));
    ctx.log.info('resized', { name, width });
    return { name, width };
  },
});

export const slow = defineTask({
  path: 'tasks.generate_report',
  // Honours its signal, so the timeout stops the work instead of leaving it running.
  handler: (_input, ctx) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 5_000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    }),
});
