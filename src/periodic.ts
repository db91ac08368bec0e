import * as z from 'zod/mini';
import { CronExpressionError, parseCron } from './cron.ts';
import type { Db } from './db/types.ts';
import { QueueNameSchema } from './enqueue.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, INT4_MAX, KEY_MAX_CHARS, MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN, TASK_PATH_MAX_CHARS } from './limits.ts';
import { boundedInt, InstantSchema, JsonArraySchema, JsonObjectSchema, storable } from './storable.ts';
import { ValidationError, validate } from './errors.ts';
import { goPeriodicSpecBytes } from './spec/periodic.ts';
import { UPSERT_PERIODIC_TASKS } from './sql/upsertPeriodicTasks.ts';

/**
 * Periodic-task CRUD over upstream's `periodic_tasks`. The cron expression is parsed at write
 * time (src/cron.ts), so a row a beat reads is one it can schedule; `payload_json` is written as
 * Django's `{"args": [...], "kwargs": {...}}` envelope.
 */
export const PeriodicTaskInputSchema = z.strictObject({
  name: storable(z.string().check(z.trim(), z.minLength(1, 'name must not be empty'), z.maxLength(200))),
  cronExpr: z.string().check(
    z.check((payload) => {
      try {
        parseCron(payload.value);
      } catch (err) {
        if (!(err instanceof CronExpressionError)) throw err;
        payload.issues.push({ code: 'custom', input: payload.value, message: err.message.replace(/^cron_expr: /, '') });
      }
    }),
  ),
  taskPath: storable(z.string().check(z.trim(), z.minLength(1, 'task_path must not be empty'), z.maxLength(TASK_PATH_MAX_CHARS))),
  args: z._default(JsonArraySchema, []),
  kwargs: z._default(JsonObjectSchema, {}),
  queue: z._default(QueueNameSchema, 'default'),
  priority: boundedInt(PRIORITY_MIN, PRIORITY_MAX, 0),
  maxAttempts: boundedInt(1, MAX_ATTEMPTS_MAX, 3),
  concurrencyKey: z.pipe(
    z.nullish(storable(z.string().check(z.minLength(1), z.maxLength(KEY_MAX_CHARS)))),
    z.transform((v) => v ?? null),
  ),
  concurrencyLimit: boundedInt(0, INT4_MAX, 0),
  enabled: z._default(z.boolean(), true),
  /** The first run; default: the first cron time after now. A Date or ISO-8601 text with an offset. */
  nextRunAt: z.optional(InstantSchema),
});

export type PeriodicTaskInput = z.input<typeof PeriodicTaskInputSchema>;

export interface PeriodicTask {
  name: string;
  cronExpr: string;
  taskPath: string;
  payload: unknown;
  queue: string;
  priority: number;
  maxAttempts: number;
  concurrencyKey: string | null;
  concurrencyLimit: number;
  lastRunAt: Date | null;
  nextRunAt: Date;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface PeriodicWriteOptions {
  now?: Date;
}

export interface SyncRecurringOptions extends PeriodicWriteOptions {
  /** Disable every enabled row that is not in the list (Django's `--clear-missing`). */
  disableMissing?: boolean;
}

export interface SyncRecurringResult {
  created: string[];
  updated: string[];
  disabled: string[];
}

interface PeriodicRow {
  name: string;
  cron_expr: string;
  task_path: string;
  payload_json: unknown;
  queue_name: string;
  priority: number;
  max_attempts: number;
  concurrency_key: string | null;
  concurrency_limit: number;
  last_run_at: Date | null;
  next_run_at: Date;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

/** Creates or replaces a periodic task by name; `next_run_at` is kept while the cron is unchanged. */
export async function upsertPeriodicTask(db: Db, input: PeriodicTaskInput, opts: PeriodicWriteOptions = {}): Promise<PeriodicTask> {
  const [task] = await writeTasks(db, [input], false, opts);
  return task!.task;
}

/**
 * Makes the table match code-defined schedules: upsert each by name and, with `disableMissing`,
 * disable the rows not listed. One statement.
 */
export async function syncRecurring(
  db: Db,
  schedules: readonly PeriodicTaskInput[],
  opts: SyncRecurringOptions = {},
): Promise<SyncRecurringResult> {
  const seen = new Set<string>();
  schedules.forEach((s, i) => {
    const name = typeof s.name === 'string' ? s.name.trim() : s.name;
    if (seen.has(name)) throw new ValidationError(`[${i}].name`, `duplicate schedule name ${JSON.stringify(name)}`);
    seen.add(name);
  });
  const written = await writeTasks(db, schedules, opts.disableMissing ?? false, opts);
  return {
    created: written.filter((w) => w.inserted).map((w) => w.task.name),
    updated: written.filter((w) => !w.inserted).map((w) => w.task.name),
    disabled: written.disabled,
  };
}

export async function deletePeriodicTask(db: Db, name: string): Promise<boolean> {
  const res = await db.query('DELETE FROM periodic_tasks WHERE name = $1', [name]);
  return res.rowCount > 0;
}

export async function listPeriodicTasks(db: Db, opts: { enabled?: boolean } = {}): Promise<PeriodicTask[]> {
  const res = await db.query<PeriodicRow>(
    'SELECT * FROM periodic_tasks WHERE $1::boolean IS NULL OR enabled = $1 ORDER BY name',
    [opts.enabled ?? null],
  );
  return res.rows.map(toTask);
}

/**
 * Enables or disables a task. Enabling a row whose `next_run_at` passed while it was off moves it
 * to the next cron time, so re-enabling does not fire a stale catch-up run. Returns false when
 * there is no such task.
 */
export async function setPeriodicEnabled(db: Db, name: string, enabled: boolean, opts: PeriodicWriteOptions = {}): Promise<boolean> {
  const now = opts.now ?? new Date();
  let next: string | null = null;
  if (enabled) {
    const found = await db.query<{ cron_expr: string }>('SELECT cron_expr FROM periodic_tasks WHERE name = $1', [name]);
    if (found.rows.length === 0) return false;
    next = parseCron(found.rows[0]!.cron_expr).next(now).toISOString();
  }
  const res = await db.query(
    `UPDATE periodic_tasks SET enabled = $2,
       next_run_at = CASE WHEN $2 AND NOT enabled AND next_run_at < $3::timestamptz THEN $4::timestamptz ELSE next_run_at END,
       updated_at = NOW()
     WHERE name = $1`,
    [name, enabled, now.toISOString(), next],
  );
  return res.rowCount > 0;
}

async function writeTasks(
  db: Db,
  inputs: readonly PeriodicTaskInput[],
  disableMissing: boolean,
  opts: PeriodicWriteOptions,
): Promise<{ task: PeriodicTask; inserted: boolean }[] & { disabled: string[] }> {
  const now = opts.now ?? new Date();
  const rows = inputs.map((input, i) => {
    const label = (path: string) => (inputs.length > 1 ? `[${i}].${path}` : path);
    const v = validate(PeriodicTaskInputSchema, input, label);
    const nextRunAt = v.nextRunAt ?? parseCron(v.cronExpr).next(now);
    // The beat refuses a run whose spec is over the payload limit: refuse the schedule now instead.
    const spec = goPeriodicSpecBytes({ ...v, queueName: v.queue, periodicName: v.name, scheduledAt: nextRunAt });
    const bytes = new TextEncoder().encode(spec).byteLength;
    if (bytes > DEFAULT_MAX_PAYLOAD_BYTES) {
      throw new ValidationError(label('args'), `a run's spec would be ${bytes} bytes, over the ${DEFAULT_MAX_PAYLOAD_BYTES}-byte payload limit`);
    }
    return {
      name: v.name,
      cron_expr: v.cronExpr,
      task_path: v.taskPath,
      payload_json: { args: v.args, kwargs: v.kwargs },
      queue_name: v.queue,
      priority: v.priority,
      max_attempts: v.maxAttempts,
      concurrency_key: v.concurrencyKey,
      concurrency_limit: v.concurrencyLimit,
      next_run_at: nextRunAt.toISOString(),
      enabled: v.enabled,
    };
  });
  const res = await db.query<PeriodicRow & { inserted: boolean | null; disabled: string[] }>(UPSERT_PERIODIC_TASKS, [
    JSON.stringify(rows),
    disableMissing,
  ]);
  const written = res.rows.filter((r) => r.name !== null).map((r) => ({ task: toTask(r), inserted: r.inserted === true }));
  return Object.assign(written, { disabled: res.rows[0]?.disabled ?? [] });
}

function toTask(r: PeriodicRow): PeriodicTask {
  return {
    name: r.name,
    cronExpr: r.cron_expr,
    taskPath: r.task_path,
    payload: r.payload_json,
    queue: r.queue_name,
    priority: r.priority,
    maxAttempts: r.max_attempts,
    concurrencyKey: r.concurrency_key,
    concurrencyLimit: r.concurrency_limit,
    lastRunAt: r.last_run_at,
    nextRunAt: r.next_run_at,
    enabled: r.enabled,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
