import type { Context } from 'hono';
import * as z from 'zod/mini';
import type { Config } from '../config.ts';
import { QueueNameSchema } from '../enqueue.ts';
import { jsonError } from './errors.ts';

/**
 * Request schemas of the job routes. The same fields come in a JSON body or a query string
 * (what a cron service can send); the `http.max_*` caps are the schemas' bounds, so an
 * over-cap value is a 400 naming the field, not a silent clamp. Written with zod/mini, which a
 * Worker bundle can carry at a fraction of classic zod's size.
 */
const int = (min: number, max: number) => z.optional(z.int().check(z.minimum(min), z.maximum(max)));

export function drainRequestSchema(http: Config['http']) {
  return z.strictObject({
    queues: z.optional(z.array(QueueNameSchema).check(z.minLength(1), z.maxLength(100))),
    batchSize: int(1, http.max_batch_size),
    concurrency: int(1, http.max_concurrency),
    budgetMs: int(100, http.max_budget_ms),
  });
}

export function beatRequestSchema(http: Config['http']) {
  return z.strictObject({ budgetMs: int(100, http.max_budget_ms) });
}

export const ReclaimRequestSchema = z.strictObject({
  olderThanSeconds: z.optional(z.number().check(z.minimum(0), z.maximum(366 * 86_400))),
  action: z.optional(z.enum(['requeue', 'fail'])),
  limit: int(0, 100_000),
  dryRun: z.optional(z.boolean()),
});

/** `GET /tasks/:id`: a positive bigint that fits Postgres's int8. */
export const TaskIdSchema = z.object({ id: z.string().check(z.regex(/^[1-9]\d{0,17}$/, 'a positive integer task id')) });

/** One task or a bulk array of at most `http.max_batch_size`; `enqueueMany` validates each item, naming `[i].field`. */
export function enqueueBodySchema(http: Config['http']) {
  const item = z.record(z.string(), z.unknown());
  return z.union([item, z.array(item).check(z.minLength(1), z.maxLength(http.max_batch_size))]);
}

/** The same schema fed from a query string. */
export function queryOf<S extends z.ZodMiniType>(schema: S) {
  return z.pipe(z.transform(fromQuery), schema);
}

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
  const issue = (result.error as z.core.$ZodError).issues[0]!;
  const path = issue.path.map(String).join('.');
  const field = issue.code === 'unrecognized_keys' ? [path, issue.keys[0]].filter(Boolean).join('.') : path || 'body';
  return jsonError(c, 400, 'invalid_input', `${field}: ${issue.message}`, field);
}
