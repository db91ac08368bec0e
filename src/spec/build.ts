import { ValidationError } from '../errors.ts';
import { utcDateTimeBase, type CanonicalValue, type JsonValue } from './canonical.ts';

/** reproq-django's v1 spec_json (reproq-django.md §3.1): every key always present. */
export type DjangoSpecV1<V extends CanonicalValue = JsonValue> = {
  v: 1;
  task_path: string;
  args: V[];
  kwargs: { [key: string]: V };
  takes_context: boolean;
  queue_name: string;
  priority: number;
  lock_key: string | null;
  concurrency_key: string | null;
  concurrency_limit: number;
  run_after: string | null;
  exec: { timeout_seconds: number; max_attempts: number };
  provenance: { code_ref: string | null; pip_lock_hash: string | null };
};

export interface SpecInput<V extends CanonicalValue = JsonValue> {
  taskPath: string;
  args?: readonly V[];
  kwargs?: { readonly [key: string]: V };
  takesContext?: boolean;
  /** "" becomes "default" (Django: `task.queue_name or "default"`). */
  queueName?: string;
  priority?: number | null;
  lockKey?: string | null;
  concurrencyKey?: string | null;
  concurrencyLimit?: number;
  runAfter?: Date | null;
  timeoutSeconds?: number;
  maxAttempts?: number;
  codeRef?: string | null;
  pipLockHash?: string | null;
}

/** Builds the spec Django would hash; feed it to canonicalJson/specHash. Defaults are Django's. */
export function buildSpec(input: SpecInput<JsonValue>): DjangoSpecV1<JsonValue>;
/** With Date/bigint/PyFloat arguments the result is hashable but not plain JSON: store `canonicalJson(spec)`. */
export function buildSpec(input: SpecInput<CanonicalValue>): DjangoSpecV1<CanonicalValue>;
export function buildSpec<V extends CanonicalValue>(input: SpecInput<V>): DjangoSpecV1<V> {
  // Python writes these with int(): a float here would hash as `3.0` and never match Django.
  const int = (field: string, n: number) => {
    if (!Number.isSafeInteger(n)) throw new ValidationError(field, `must be an integer, got ${n}`);
    return n;
  };
  return {
    v: 1,
    task_path: input.taskPath,
    args: [...(input.args ?? [])],
    kwargs: { ...input.kwargs },
    takes_context: input.takesContext ?? false,
    queue_name: input.queueName || 'default',
    priority: int('priority', input.priority ?? 0),
    lock_key: input.lockKey ?? null,
    concurrency_key: input.concurrencyKey ?? null,
    concurrency_limit: int('concurrency_limit', input.concurrencyLimit ?? 0),
    run_after: input.runAfter ? pythonIsoformat(input.runAfter) : null,
    exec: {
      timeout_seconds: int('timeout_seconds', input.timeoutSeconds ?? 900),
      max_attempts: int('max_attempts', input.maxAttempts ?? 3),
    },
    provenance: { code_ref: input.codeRef ?? null, pip_lock_hash: input.pipLockHash ?? null },
  };
}

/**
 * Python `datetime.isoformat()` of an aware UTC datetime: `2025-01-01T12:00:00.123000+00:00`, and no
 * fraction when the microseconds are 0 (`2025-01-01T12:00:00+00:00`).
 */
export function pythonIsoformat(date: Date): string {
  const ms = date.getUTCMilliseconds();
  return `${utcDateTimeBase(date, 'run_after')}${ms ? `.${String(ms).padStart(3, '0')}000` : ''}+00:00`;
}
