import type { Context } from 'hono';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { QueueNameSchema } from '../enqueue.ts';
import { jsonError } from './errors.ts';

/**
 * Request schemas of the job routes. The same fields come in a JSON body or a query string
 * (what a cron service can send); the `http.max_*` caps are the schemas' bounds, so an
 * over-cap value is a 400 naming the field, not a silent clamp.
 */
export function drainRequestSchema(http: Config['http']) {
  return z
    .object({
      queues: z.array(QueueNameSchema).min(1).max(100).optional(),
      batchSize: z.number().int().min(1).max(http.max_batch_size).optional(),
      concurrency: z.number().int().min(1).max(http.max_concurrency).optional(),
      budgetMs: z.number().int().min(100).max(http.max_budget_ms).optional(),
    })
    .strict();
}

export function beatRequestSchema(http: Config['http']) {
  return z.object({ budgetMs: z.number().int().min(100).max(http.max_budget_ms).optional() }).strict();
}

export const ReclaimRequestSchema = z
  .object({
    olderThanSeconds: z.number().min(0).max(366 * 86_400).optional(),
    action: z.enum(['requeue', 'fail']).optional(),
    limit: z.number().int().min(0).max(100_000).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();

/** `GET /tasks/:id`: a positive bigint that fits Postgres's int8. */
export const TaskIdSchema = z.object({ id: z.string().regex(/^[1-9]\d{0,17}$/, 'a positive integer task id') });

/**
 * Query text → the body's types: `queues=a,b` (or repeated) is a list, digits are numbers,
 * true/false are booleans. Anything else stays text, for the schema to name.
 */
export function fromQuery(query: unknown): unknown {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(query as Record<string, string | string[]>)) {
    const values = Array.isArray(raw) ? raw : [raw];
    if (key === 'queues') out[key] = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
    else out[key] = scalar(values.at(-1) ?? '');
  }
  return out;
}

function scalar(v: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

/** @hono/zod-validator hook: the first issue becomes the app's 400, naming the field. */
export function invalid(result: { success: boolean; error?: unknown }, c: Context): Response | undefined {
  if (result.success) return undefined;
  const issue = (result.error as z.ZodError).issues[0]!;
  const path = issue.path.map(String).join('.');
  const field = issue.code === 'unrecognized_keys' ? [path, issue.keys[0]].filter(Boolean).join('.') : path || 'body';
  return jsonError(c, 400, 'invalid_input', `${field}: ${issue.message}`, field);
}
