import { z } from 'zod';
import type { Db } from './db/types.ts';
import { DuplicateActiveTaskError, ValidationError } from './errors.ts';
import { ENQUEUE_BATCH } from './sql/enqueueBatch.ts';
import { buildSpec } from './spec/build.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, INT4_MAX, KEY_MAX_CHARS, MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN, QUEUE_NAME_MAX_CHARS, TASK_PATH_MAX_CHARS } from './limits.ts';
import { canonicalJson, type JsonValue } from './spec/canonical.ts';
import { sha256Hex } from './spec/hash.ts';
import { readLossless } from './drain/spec-input.ts';
import { InstantSchema, JsonArraySchema, JsonObjectSchema, OffsetSecondsSchema, RunAfterSchema, storable } from './storable.ts';
import { checkTaskInput } from './tasks/input.ts';
import type { TaskRegistry } from './tasks/registry.ts';

/** Queue names as enqueue, the periodic-task schemas and the HTTP routes accept them. */
export const QueueNameSchema = z
  .string()
  .min(1)
  .max(QUEUE_NAME_MAX_CHARS)
  .regex(/^[A-Za-z0-9_.:\-]+$/, 'queue names use letters, digits and . _ : -');

const optionalKey = storable(z.string().max(KEY_MAX_CHARS, `is longer than ${KEY_MAX_CHARS} characters`))
  .nullish()
  .transform((v) => v ?? null);

/**
 * Every value is checked before anything is sent (src/storable.ts): what PostgreSQL cannot store
 * or Django cannot read back is a ValidationError naming the field, never a database error.
 */
export const EnqueueInputSchema = z
  .object({
    taskPath: storable(z.string().trim().min(1, 'task_path must not be empty').max(TASK_PATH_MAX_CHARS)),
    args: JsonArraySchema.default([]),
    kwargs: JsonObjectSchema.default({}),
    queue: QueueNameSchema.default('default'),
    priority: z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX).default(0),
    runAfter: RunAfterSchema.nullish(),
    maxAttempts: z.number().int().min(1).max(MAX_ATTEMPTS_MAX).default(3),
    timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(900),
    lockKey: optionalKey,
    concurrencyKey: optionalKey.transform((v) => (v !== null && v.trim() === '' ? null : v)),
    concurrencyLimit: z.number().int().min(0).max(INT4_MAX).default(0),
    expiresAt: InstantSchema.nullish(),
    expiresInSeconds: OffsetSecondsSchema.positive().nullish(),
    metadata: JsonObjectSchema.default({}),
    takesContext: z.boolean().default(false),
    backendAlias: storable(z.string().min(1).max(QUEUE_NAME_MAX_CHARS)).default('default'),
    codeRef: storable(z.string()).nullish(),
    pipLockHash: storable(z.string()).nullish(),
  })
  .strict();

export type EnqueueInput = z.input<typeof EnqueueInputSchema>;

export interface EnqueueOptions {
  /** Return the active READY/RUNNING row with the same spec_hash instead of inserting (upstream default). */
  dedup?: boolean;
  maxPayloadBytes?: number;
  now?: () => Date;
  /**
   * The tasks this process knows. A task registered here has its args/kwargs checked against its schemas
   * before anything is written (a mismatch is a ValidationError naming `kwargs.to`); results say `registered`.
   */
  registry?: TaskRegistry;
}

export interface EnqueueResult {
  resultId: number;
  specHash: string;
  /** True when an existing active row (or an earlier item of the same batch) was returned. */
  deduplicated: boolean;
  /** With `opts.registry`: whether the task is registered there (false: unchecked, and another worker must run it). */
  registered?: boolean;
}

interface RowPayload {
  idx: number;
  spec_hash: string;
  spec_json: JsonValue;
  task_path: string;
  queue_name: string;
  priority: number;
  run_after: string | null;
  max_attempts: number;
  timeout_seconds: number;
  lock_key: string | null;
  concurrency_key: string | null;
  concurrency_limit: number;
  expires_at: string | null;
  metadata_json: Record<string, JsonValue>;
  backend_alias: string;
}

export async function enqueue(db: Db, input: EnqueueInput, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
  const [result] = await enqueueMany(db, [input], opts);
  return result!;
}

/**
 * Enqueues many tasks in one statement and one round trip (a second only when a concurrent
 * enqueue raced us on the same spec_hash). Results come back in input order. Every item is
 * validated before anything is sent, so a bad item writes nothing.
 */
export async function enqueueMany(
  db: Db,
  inputs: readonly EnqueueInput[],
  opts: EnqueueOptions = {},
): Promise<EnqueueResult[]> {
  if (inputs.length === 0) return [];
  const dedup = opts.dedup ?? true;
  const now = (opts.now ?? (() => new Date()))();
  const rows = await Promise.all(
    inputs.map((input, idx) =>
      prepareRow(input, idx, now, opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, inputs.length > 1, opts.registry),
    ),
  );
  if (!dedup) rejectInBatchDuplicates(rows);

  const results: EnqueueResult[] = new Array(rows.length);
  let pending = rows.map((row, idx) => ({ row, idx }));
  // A NULL id means a concurrent enqueue inserted that hash after our snapshot: look again.
  for (let round = 0; pending.length > 0 && round < 5; round++) {
    const sent = pending.map(({ row }, i) => ({ ...row, idx: i }));
    const res = await db.query<{ idx: number; result_id: number | null; deduplicated: boolean }>(ENQUEUE_BATCH, [
      JSON.stringify(sent),
      dedup,
    ]).catch((err: unknown) => {
      throw translateInsertError(err, sent);
    });
    const retry: typeof pending = [];
    for (const r of res.rows) {
      const entry = pending[r.idx]!;
      if (r.result_id === null) retry.push(entry);
      else {
        results[entry.idx] = { resultId: Number(r.result_id), specHash: entry.row.spec_hash, deduplicated: r.deduplicated };
        if (opts.registry) results[entry.idx]!.registered = opts.registry.get(entry.row.task_path) !== undefined;
      }
    }
    pending = retry;
  }
  if (pending.length > 0) {
    throw new Error(`could not enqueue or find the active row for spec_hash ${pending[0]!.row.spec_hash}`);
  }
  return results;
}

type PreparedRow = Omit<RowPayload, 'idx'>;

async function prepareRow(input: EnqueueInput, idx: number, now: Date, maxBytes: number, bulk: boolean, registry?: TaskRegistry): Promise<PreparedRow> {
  // In a bulk call the field names its item: `[3].kwargs.to`.
  const label = (field: string) => (bulk ? `[${idx}].${field}` : field);
  const parsed = EnqueueInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(label(issue.path.map(String).join('.') || 'input'), issue.message);
  }
  const v = parsed.data;
  const def = registry?.get(v.taskPath);
  if (def) {
    // A lossless task's schemas see what its handler will: the arguments read back with LosslessNumbers.
    const seen = def.numbers === 'lossless' ? readLossless({ args: v.args, kwargs: v.kwargs }) : v;
    const checked = checkTaskInput(def, seen.args, seen.kwargs);
    if (!checked.ok) throw new ValidationError(label(checked.field), checked.message);
  }
  const runAfter =
    v.runAfter == null ? null : v.runAfter instanceof Date ? v.runAfter : new Date(now.getTime() + v.runAfter.delaySeconds * 1000);
  const expiresAt = v.expiresAt ?? (v.expiresInSeconds ? new Date(now.getTime() + v.expiresInSeconds * 1000) : null);
  const spec = buildSpec({
    taskPath: v.taskPath,
    args: v.args,
    kwargs: v.kwargs,
    takesContext: v.takesContext,
    queueName: v.queue,
    priority: v.priority,
    lockKey: v.lockKey,
    concurrencyKey: v.concurrencyKey,
    concurrencyLimit: v.concurrencyLimit,
    runAfter,
    timeoutSeconds: v.timeoutSeconds,
    maxAttempts: v.maxAttempts,
    codeRef: v.codeRef ?? null,
    pipLockHash: v.pipLockHash ?? null,
  });
  let canonical: string;
  try {
    canonical = canonicalJson(spec);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(label(err.field), err.message.slice(err.field.length + 2));
    throw err;
  }
  for (const [field, text] of [['args', canonical], ['metadata', JSON.stringify(v.metadata)]] as const) {
    const bytes = new TextEncoder().encode(text).byteLength;
    if (bytes > maxBytes) throw new ValidationError(label(field), `payload is ${bytes} bytes, over the ${maxBytes}-byte limit`);
  }
  return {
    spec_hash: await sha256Hex(canonical),
    spec_json: spec,
    task_path: v.taskPath,
    queue_name: v.queue,
    priority: v.priority,
    run_after: runAfter?.toISOString() ?? null,
    max_attempts: v.maxAttempts,
    timeout_seconds: v.timeoutSeconds,
    lock_key: v.lockKey,
    concurrency_key: v.concurrencyKey,
    concurrency_limit: v.concurrencyLimit,
    expires_at: expiresAt?.toISOString() ?? null,
    metadata_json: v.metadata,
    backend_alias: v.backendAlias,
  };
}

function rejectInBatchDuplicates(rows: readonly PreparedRow[]): void {
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.spec_hash)) throw new DuplicateActiveTaskError(row.spec_hash);
    seen.add(row.spec_hash);
  }
}

/** 23505 on idx_task_runs_spec_unique can only come from the dedup-off insert. */
function translateInsertError(err: unknown, sent: readonly { spec_hash: string }[]): unknown {
  const e = err as { code?: string; constraint?: string; detail?: string };
  if (e?.code === '23505') {
    const hash = /\(spec_hash\)=\(([0-9a-f]+)/.exec(e.detail ?? '')?.[1] ?? sent[0]?.spec_hash ?? '';
    return new DuplicateActiveTaskError(hash.trim());
  }
  return err;
}
