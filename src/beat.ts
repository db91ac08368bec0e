import * as z from 'zod/mini';
import { parseCron } from './cron.ts';
import { classifyDbError, describeError } from './db/errors.ts';
import type { Db } from './db/types.ts';
import { ValidationError, validate } from './errors.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, KEY_MAX_CHARS, MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN, QUEUE_NAME_MAX_CHARS, TASK_PATH_MAX_CHARS } from './limits.ts';
import type { Logger } from './logger.ts';
import { ADVANCE_PERIODIC_TASKS } from './sql/advancePeriodicTasks.ts';
import { DUE_PERIODIC_TASKS } from './sql/duePeriodicTasks.ts';
import {
  goPeriodicSpecBytes,
  normalizePeriodicFields,
  parsePeriodicPayload,
  RawJson,
  type PeriodicJson,
} from './spec/periodic.ts';
import { sha256Hex } from './spec/hash.ts';
import { boundedInt } from './storable.ts';

/**
 * What a tick does with a task whose `next_run_at` is in the past (the beat was down, or slow):
 * - `catch_up_once` (upstream): one run, scheduled at the stale `next_run_at`; the next run is the
 *   first time after now, so the other missed times are dropped.
 * - `skip`: missed times are dropped; only the latest time, and only if it is at most
 *   `misfireGraceSeconds` old (an on-time tick is always a little late), is run.
 * - `backfill`: every missed time is run, oldest first, at most `maxCatchUp` of them (the most recent).
 */
export const MisfirePolicySchema = z.enum(['catch_up_once', 'skip', 'backfill']);
export type MisfirePolicy = z.infer<typeof MisfirePolicySchema>;

export const BeatOptionsSchema = z.strictObject({
  /** The tick's clock: due means `next_run_at <= now`, and the next run is the first time after it. */
  now: z.optional(z.date()),
  misfirePolicy: z._default(MisfirePolicySchema, 'catch_up_once'),
  maxCatchUp: boundedInt(1, 1000, 10),
  misfireGraceSeconds: z._default(z.number().check(z.minimum(0)), 60),
  /** Due rows read and written per statement pair. */
  batchSize: boundedInt(1, 10_000, 1000),
  /** No new page is started after this many milliseconds. */
  budgetMs: boundedInt(1, Number.MAX_SAFE_INTEGER, 25_000),
});

export type BeatOptions = z.input<typeof BeatOptionsSchema>;

export interface BeatRowError {
  name: string;
  /** The column at fault: `cron_expr`, `payload_json`, `task_path`, `next_run_at`, ... */
  field: string;
  message: string;
}

export interface BeatSummary {
  /** Due rows this tick read. */
  due: number;
  /** Rows this tick advanced; `advanced + lostRace + errors.length = due`. */
  advanced: number;
  /** New task_runs rows. */
  enqueued: number;
  /** Runs not inserted because an active row had the same spec_hash (upstream counts them as done). */
  deduplicated: number;
  /**
   * Rows another writer changed after this tick read them (a concurrent tick or Go beat advanced
   * them, or they were edited, disabled or deleted); this tick enqueued nothing for them.
   */
  lostRace: number;
  /**
   * Rows left as they are because they cannot be scheduled (a bad cron, payload or column, or a
   * run the database refused); they stay due and show as overdue in metrics.
   */
  errors: BeatRowError[];
  enqueuedIds: number[];
  roundTrips: number;
  durationMs: number;
  stoppedBecause: 'done' | 'budget';
}

/** The periodic_tasks columns a run copies. */
interface RunColumns {
  name: string;
  task_path: string;
  queue_name: string;
  priority: number;
  max_attempts: number;
  concurrency_key: string | null;
  concurrency_limit: number;
}

interface DueRow extends RunColumns {
  cron_expr: string;
  next_run_at: string;
  payload_text: string;
  args_text: string | null;
  kwargs_text: string | null;
}

/**
 * A row as read: rows written by Django, a Go worker or psql were never validated here, and a
 * table created outside the migrations may even allow NULLs. `next_run_at` is NULL when no run
 * can be scheduled at the stored value (`next_run_at_raw`).
 */
type StoredRow = { [K in keyof DueRow]: DueRow[K] | null } & { name: string; next_run_at_raw: string | null };

const notNull = { error: (issue: { input?: unknown }) => (issue.input === null ? 'is NULL' : undefined) };
const text = (max: number) => z.string(notNull).check(z.maxLength(max, `is longer than ${max} characters`));
const int = (...checks: z.core.$ZodCheck<number>[]) => z.number(notNull).check(z.int(), ...checks);

/**
 * What a due row must hold for its run to be storable and runnable: the bounds enqueue applies
 * (src/limits.ts), and NOT NULL where task_runs needs a value. The pg_cron tick applies the same
 * rules (sql/pgCronTick.ts). Upstream's normalisations stay: queue_name '' is `default`, and
 * max_attempts <= 0 is 3.
 */
const DueRowSchema = z.object({
  name: z.string(),
  next_run_at: z.string(),
  cron_expr: z.string(notNull),
  // Blank means ASCII whitespace only, as the pg_cron tick's regex reads it.
  task_path: text(TASK_PATH_MAX_CHARS).check(z.regex(/[^ \t\n\r\f\v]/, 'is empty')),
  queue_name: text(QUEUE_NAME_MAX_CHARS),
  priority: int(z.minimum(PRIORITY_MIN, `is outside ${PRIORITY_MIN}..${PRIORITY_MAX}`), z.maximum(PRIORITY_MAX, `is outside ${PRIORITY_MIN}..${PRIORITY_MAX}`)),
  max_attempts: int(z.maximum(MAX_ATTEMPTS_MAX, `is above ${MAX_ATTEMPTS_MAX}`)),
  concurrency_key: z.nullable(text(KEY_MAX_CHARS)),
  concurrency_limit: int(z.minimum(0, 'is negative')),
  payload_text: z.string(notNull),
  args_text: z.nullable(z.string()),
  kwargs_text: z.nullable(z.string()),
});

/** The row, or a ValidationError naming the column (`payload_text` is reported as `payload_json`). */
function checkRow(row: StoredRow): DueRow {
  if (row.next_run_at === null) {
    throw new ValidationError('next_run_at', row.next_run_at_raw === null ? 'is NULL: the task is never due' : `${row.next_run_at_raw} is not a time a run can be scheduled at`);
  }
  return validate(DueRowSchema, row, (path) => (path === 'payload_text' ? 'payload_json' : path));
}

interface TaskUpdate {
  name: string;
  old_next_run_at: string;
  next_run_at: string;
  last_run_at: string | null;
}

interface RunInsert extends RunColumns {
  spec_hash: string;
  spec_text: string;
  run_after: string;
}

type Opts = z.output<typeof BeatOptionsSchema>;

/**
 * One beat tick: enqueue the runs of every due periodic task and advance its `next_run_at`.
 * Two round trips per page of `batchSize` due rows (read, then one conditional write), so any
 * number of concurrent ticks enqueue each run once (see sql/advancePeriodicTasks.ts). Each row is
 * handled on its own: one whose cron expression, payload or columns cannot be used is reported in
 * `errors` and left untouched (still due), and the others run.
 */
export async function beat(db: Db, options: BeatOptions = {}): Promise<BeatSummary> {
  const opts = validate(BeatOptionsSchema, options);
  const started = Date.now();
  const now = opts.now ?? new Date();
  const summary: BeatSummary = {
    due: 0,
    advanced: 0,
    enqueued: 0,
    deduplicated: 0,
    lostRace: 0,
    errors: [],
    enqueuedIds: [],
    roundTrips: 0,
    durationMs: 0,
    stoppedBecause: 'done',
  };
  // (NULL, name) walks the rows that cannot be scheduled; then (next_run_at, name) the due ones.
  let after: { nextRunAt: string | null; name: string } = { nextRunAt: null, name: '' };
  // The next run after `now` depends only on the expression: computed once per expression per tick.
  const nextTimes = new Map<string, Date>();
  const nextAfterNow = (expr: string) => {
    let next = nextTimes.get(expr);
    if (!next) nextTimes.set(expr, (next = parseCron(expr).next(now)));
    return next;
  };
  const report = (name: string, err: ValidationError) =>
    summary.errors.push({ name, field: err.field, message: err.message.slice(err.field.length + 2) });

  /**
   * One statement for the page. Rows were checked before, so the statement should not fail on
   * one row's data; if it still does, the page is split in halves until the row is alone, and
   * that row is reported: the others get their runs.
   */
  const advance = async (tasks: TaskUpdate[], runs: RunInsert[]): Promise<void> => {
    let res;
    try {
      summary.roundTrips++;
      res = await db.query<{ advanced: string[]; inserted: number[] }>(ADVANCE_PERIODIC_TASKS, [JSON.stringify(tasks), JSON.stringify(runs)]);
    } catch (err) {
      if (classifyDbError(err).kind !== 'data') throw err;
      if (tasks.length === 1) {
        const column = (err as { column?: unknown }).column;
        report(tasks[0]!.name, new ValidationError(typeof column === 'string' ? column : 'row', `the database refused its run: ${describeError(err)}`));
        return;
      }
      const half = new Set(tasks.slice(0, Math.ceil(tasks.length / 2)).map((t) => t.name));
      await advance(tasks.filter((t) => half.has(t.name)), runs.filter((r) => half.has(r.name)));
      await advance(tasks.filter((t) => !half.has(t.name)), runs.filter((r) => !half.has(r.name)));
      return;
    }
    const { advanced, inserted } = res.rows[0]!;
    const won = new Set(advanced);
    const runsOfWinners = runs.filter((r) => won.has(r.name)).length;
    summary.advanced += advanced.length;
    summary.lostRace += tasks.length - advanced.length;
    summary.enqueued += inserted.length;
    summary.deduplicated += runsOfWinners - inserted.length;
    summary.enqueuedIds.push(...inserted.map(Number));
  };

  for (;;) {
    if (Date.now() - started >= opts.budgetMs) {
      summary.stoppedBecause = 'budget';
      break;
    }
    const page = await db.query<StoredRow>(DUE_PERIODIC_TASKS, [now.toISOString(), after.nextRunAt, after.name, opts.batchSize]);
    summary.roundTrips++;
    summary.due += page.rows.length;
    if (page.rows.length === 0) break;
    const last = page.rows[page.rows.length - 1]!;
    after = { nextRunAt: last.next_run_at, name: last.name };

    const tasks: TaskUpdate[] = [];
    const runs: RunInsert[] = [];
    // All rows at once: hashing goes through WebCrypto's thread pool, one hop per await.
    const planned = await Promise.allSettled(page.rows.map((row) => planRow(row, now, opts, nextAfterNow)));
    planned.forEach((p, i) => {
      if (p.status === 'fulfilled') {
        tasks.push(p.value.task);
        runs.push(...p.value.runs);
        return;
      }
      if (!(p.reason instanceof ValidationError)) throw p.reason;
      report(page.rows[i]!.name, p.reason);
    });
    if (tasks.length > 0) await advance(tasks, runs);
    if (page.rows.length < opts.batchSize) break;
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

/** Logs each row a tick left due, so an operator sees why a schedule does not run. */
export function logBeatErrors(summary: Pick<BeatSummary, 'errors'>, log: Logger): void {
  for (const e of summary.errors) log.warn('Periodic task not scheduled', { name: e.name, field: e.field, error: e.message });
}

/** The runs a due row gets under the policy, and its new next_run_at; throws ValidationError. */
async function planRow(
  stored: StoredRow,
  now: Date,
  opts: Opts,
  nextAfterNow: (expr: string) => Date,
): Promise<{ task: TaskUpdate; runs: RunInsert[] }> {
  const row = checkRow(stored);
  const { args, kwargs } = rawPayload(row);
  const schedule = parseCron(row.cron_expr);
  const stale = new Date(row.next_run_at);
  const next = nextAfterNow(row.cron_expr);
  let times: (Date | string)[];
  switch (opts.misfirePolicy) {
    case 'catch_up_once':
      // The stored text, not the Date: run_after keeps next_run_at's microseconds, as Go's does.
      times = [row.next_run_at];
      break;
    case 'skip': {
      const latest = schedule.runsBetween(stale, now, 1)[0] ?? stale;
      times = now.getTime() - latest.getTime() <= opts.misfireGraceSeconds * 1000 ? [latest === stale ? row.next_run_at : latest] : [];
      break;
    }
    case 'backfill': {
      const missed = schedule.runsBetween(stale, now, opts.maxCatchUp).reverse();
      times = missed.length < opts.maxCatchUp ? [row.next_run_at, ...missed] : missed;
      break;
    }
  }
  const fields = normalizePeriodicFields({
    taskPath: row.task_path,
    args,
    kwargs,
    queueName: row.queue_name,
    priority: row.priority,
    concurrencyKey: row.concurrency_key,
    concurrencyLimit: row.concurrency_limit,
    periodicName: row.name,
    maxAttempts: row.max_attempts,
  });
  const runs = await Promise.all(
    times.map(async (time): Promise<RunInsert> => {
      const specText = goPeriodicSpecBytes({ ...fields, scheduledAt: new Date(time) });
      const bytes = new TextEncoder().encode(specText).byteLength;
      if (bytes > DEFAULT_MAX_PAYLOAD_BYTES) {
        throw new ValidationError('payload_json', `the run's spec would be ${bytes} bytes, over the ${DEFAULT_MAX_PAYLOAD_BYTES}-byte payload limit`);
      }
      return {
        name: row.name,
        spec_hash: await sha256Hex(specText),
        spec_text: specText,
        run_after: typeof time === 'string' ? time : time.toISOString(),
        task_path: fields.taskPath,
        queue_name: fields.queueName,
        priority: fields.priority,
        max_attempts: fields.maxAttempts,
        concurrency_key: fields.concurrencyKey,
        concurrency_limit: fields.concurrencyLimit,
      };
    }),
  );
  const lastRun = times[times.length - 1];
  return {
    task: {
      name: row.name,
      old_next_run_at: row.next_run_at,
      next_run_at: next.toISOString(),
      last_run_at: lastRun === undefined ? null : typeof lastRun === 'string' ? lastRun : lastRun.toISOString(),
    },
    runs,
  };
}

/** Go's payload rules (checked on the parsed value), with args/kwargs kept as jsonb's text. */
function rawPayload(row: DueRow): { args: PeriodicJson; kwargs: PeriodicJson } {
  const parsed: unknown = JSON.parse(row.payload_text);
  parsePeriodicPayload(parsed);
  const isEnvelope = row.args_text !== null || row.kwargs_text !== null;
  if (isEnvelope) {
    return {
      args: row.args_text === null ? [] : new RawJson(row.args_text),
      kwargs: row.kwargs_text === null ? {} : new RawJson(row.kwargs_text),
    };
  }
  // Go decodes a bare `null` into its args slice, like an array.
  const isArgs = parsed === null || Array.isArray(parsed);
  return isArgs ? { args: new RawJson(row.payload_text), kwargs: {} } : { args: [], kwargs: new RawJson(row.payload_text) };
}
