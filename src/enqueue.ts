import * as z from 'zod/mini';
import type { Db } from './db/types.ts';
import { DuplicateActiveTaskError, ValidationError } from './errors.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, INT4_MAX, KEY_MAX_CHARS, MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN, QUEUE_NAME_MAX_CHARS, TASK_PATH_MAX_CHARS } from './limits.ts';
import { readLossless } from './drain/spec-input.ts';
import { enqueueBatch } from './sql/enqueueBatch.ts';
import { specJson } from './spec/build.ts';
import { sha256HexOfBytes, transientUtf8 } from './spec/hash.ts';
import { boundedInt, InstantSchema, JsonArraySchema, JsonObjectSchema, OffsetSecondsSchema, RunAfterSchema, storable } from './storable.ts';
import { checkTaskInput } from './tasks/input.ts';
import type { TaskRegistry } from './tasks/registry.ts';

/** Queue names as enqueue, the periodic-task schemas and the HTTP routes accept them. */
export const QueueNameSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(QUEUE_NAME_MAX_CHARS), z.regex(/^[A-Za-z0-9_.:\-]+$/, 'queue names use letters, digits and . _ : -'));

const optionalKey = z.pipe(
  z.nullish(storable(z.string().check(z.maxLength(KEY_MAX_CHARS, `is longer than ${KEY_MAX_CHARS} characters`)))),
  z.transform((v) => v ?? null),
);

/**
 * Every value is checked before anything is sent (src/storable.ts): what PostgreSQL cannot store
 * or Django cannot read back is a ValidationError naming the field, never a database error.
 */
export const EnqueueInputSchema = z.strictObject({
  taskPath: storable(z.string().check(z.trim(), z.minLength(1, 'task_path must not be empty'), z.maxLength(TASK_PATH_MAX_CHARS))),
  args: z._default(JsonArraySchema, []),
  kwargs: z._default(JsonObjectSchema, {}),
  queue: z._default(QueueNameSchema, 'default'),
  priority: boundedInt(PRIORITY_MIN, PRIORITY_MAX, 0),
  runAfter: z.nullish(RunAfterSchema),
  maxAttempts: boundedInt(1, MAX_ATTEMPTS_MAX, 3),
  timeoutSeconds: boundedInt(1, 7 * 24 * 3600, 900),
  lockKey: optionalKey,
  concurrencyKey: z.pipe(optionalKey, z.transform((v) => (v !== null && v.trim() === '' ? null : v))),
  concurrencyLimit: boundedInt(0, INT4_MAX, 0),
  expiresAt: z.nullish(InstantSchema),
  expiresInSeconds: z.nullish(OffsetSecondsSchema.check(z.positive())),
  metadata: z._default(JsonObjectSchema, {}),
  takesContext: z._default(z.boolean(), false),
  backendAlias: z._default(storable(z.string().check(z.minLength(1), z.maxLength(QUEUE_NAME_MAX_CHARS))), 'default'),
  codeRef: z.nullish(storable(z.string())),
  pipLockHash: z.nullish(storable(z.string())),
});

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

export async function enqueue(db: Db, input: EnqueueInput, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
  const [result] = await enqueueMany(db, [input], opts);
  return result!;
}

/**
 * Enqueues many tasks in one statement and one round trip (a second only when a concurrent
 * enqueue raced us on the same spec_hash). Results come back in input order. Every item is
 * validated before anything is sent, so a bad item writes nothing. An item repeating an earlier
 * item's spec shares its row (deduplicated); without dedup the repeat is refused.
 */
export async function enqueueMany(
  db: Db,
  inputs: readonly EnqueueInput[],
  opts: EnqueueOptions = {},
): Promise<EnqueueResult[]> {
  if (inputs.length === 0) return [];
  const dedup = opts.dedup ?? true;
  const now = (opts.now ?? (() => new Date()))();
  const maxBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const rows = inputs.map((input, idx) => prepareRow(input, idx, now, maxBytes, inputs.length > 1, opts.registry));

  const firstOfHash = new Map<string, number>();
  let pending: number[] = [];
  rows.forEach((row, idx) => {
    if (!firstOfHash.has(row.specHash)) {
      firstOfHash.set(row.specHash, idx);
      pending.push(idx);
    } else if (!dedup) throw new DuplicateActiveTaskError(row.specHash);
  });

  const results: EnqueueResult[] = new Array(rows.length);
  // A NULL id means a concurrent enqueue inserted that hash after our snapshot: look again.
  for (let round = 0; pending.length > 0 && round < 5; round++) {
    const sent = pending;
    const doc = `[${sent.map((idx) => rows[idx]!.json).join(',')}]`;
    const answer = await enqueueBatch(db, doc, dedup).catch((err: unknown) => {
      throw translateInsertError(err, rows[sent[0]!]!.specHash);
    });
    pending = [];
    for (const r of answer) {
      const idx = sent[r.n - 1]!;
      if (r.result_id === null) pending.push(idx);
      else results[idx] = result(rows[idx]!, Number(r.result_id), r.deduplicated);
    }
  }
  if (pending.length > 0) {
    throw new Error(`could not enqueue or find the active row for spec_hash ${rows[pending[0]!]!.specHash}`);
  }
  rows.forEach((row, idx) => {
    const first = firstOfHash.get(row.specHash)!;
    if (first !== idx) results[idx] = result(row, results[first]!.resultId, true);
  });
  return results;
}

interface PreparedRow {
  specHash: string;
  /** The row's object in the statement's document (src/sql/enqueueBatch.ts). */
  json: string;
  /** With a registry: whether it holds the task. */
  registered?: boolean;
}

function result(row: PreparedRow, resultId: number, deduplicated: boolean): EnqueueResult {
  const r: EnqueueResult = { resultId, specHash: row.specHash, deduplicated };
  if (row.registered !== undefined) r.registered = row.registered;
  return r;
}

function prepareRow(input: EnqueueInput, idx: number, now: Date, maxBytes: number, bulk: boolean, registry?: TaskRegistry): PreparedRow {
  const parsed = EnqueueInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(label(issue.path.map(String).join('.') || 'input', idx, bulk), issue.message);
  }
  const v = parsed.data;
  const def = registry?.get(v.taskPath);
  if (def) {
    // A lossless task's schemas see what its handler will: the arguments read back with LosslessNumbers.
    const seen = def.numbers === 'lossless' ? readLossless({ args: v.args, kwargs: v.kwargs }) : v;
    const checked = checkTaskInput(def, seen.args, seen.kwargs);
    if (!checked.ok) throw new ValidationError(label(checked.field, idx, bulk), checked.message);
  }
  const runAfter =
    v.runAfter == null ? null : v.runAfter instanceof Date ? v.runAfter : new Date(now.getTime() + v.runAfter.delaySeconds * 1000);
  const expiresAt = v.expiresAt ?? (v.expiresInSeconds ? new Date(now.getTime() + v.expiresInSeconds * 1000) : null);
  let canonical: string;
  try {
    canonical = specJson({
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
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(label(err.field, idx, bulk), err.message.slice(err.field.length + 2));
    throw err;
  }
  // The canonical text is the spec_json sent (jsonb keeps the values, not the bytes) and the hashed bytes.
  const bytes = transientUtf8(canonical);
  if (bytes.byteLength > maxBytes) throw tooLarge(label('args', idx, bulk), bytes.byteLength, maxBytes);
  const specHash = sha256HexOfBytes(bytes);
  let json = `{"h":"${specHash}","s":${canonical}`;
  if (expiresAt) json += `,"e":"${expiresAt.toISOString()}"`;
  for (const _ in v.metadata) {
    const metadata = JSON.stringify(v.metadata);
    // UTF-8 takes at most 3 bytes per UTF-16 unit, so only a long text needs encoding to be measured.
    if (metadata.length * 3 > maxBytes) {
      const size = transientUtf8(metadata).byteLength;
      if (size > maxBytes) throw tooLarge(label('metadata', idx, bulk), size, maxBytes);
    }
    json += `,"m":${metadata}`;
    break;
  }
  if (v.backendAlias !== 'default') json += `,"b":${JSON.stringify(v.backendAlias)}`;
  return { specHash, json: `${json}}`, registered: registry ? def !== undefined : undefined };
}

/** In a bulk call the field names its item: `[3].kwargs.to`. */
function label(field: string, idx: number, bulk: boolean): string {
  return bulk ? `[${idx}].${field}` : field;
}

function tooLarge(field: string, bytes: number, maxBytes: number): ValidationError {
  return new ValidationError(field, `payload is ${bytes} bytes, over the ${maxBytes}-byte limit`);
}

/** 23505 on idx_task_runs_spec_unique can only come from the dedup-off insert. */
function translateInsertError(err: unknown, fallbackHash: string): unknown {
  const e = err as { code?: string; constraint?: string; detail?: string };
  if (e?.code === '23505') {
    const hash = /\(spec_hash\)=\(([0-9a-f]+)/.exec(e.detail ?? '')?.[1] ?? fallbackHash;
    return new DuplicateActiveTaskError(hash.trim());
  }
  return err;
}
