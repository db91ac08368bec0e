import { ValidationError } from '../errors.ts';
import { canonicalJson, canonicalString, utcDateTimeBase, type CanonicalValue, type JsonValue } from './canonical.ts';

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

/**
 * The canonical JSON of reproq-django's v1 spec_json (reproq-django.md §3.1, every key always
 * present), byte for byte what canonicalJson writes of that object, but written straight from
 * the input with the keys in their sorted order: no spec object, and only args and kwargs are
 * walked (a bulk enqueue writes a thousand of these per call). Defaults are Django's. A refusal
 * names the spec's key (`priority`, `args.2.x`, `provenance.code_ref`).
 */
export function specJson(input: SpecInput<CanonicalValue>): string {
  return (
    `{"args":${canonicalJson(input.args ?? [], 'args')}` +
    `,"concurrency_key":${text(input.concurrencyKey, 'concurrency_key')}` +
    `,"concurrency_limit":${int('concurrency_limit', input.concurrencyLimit ?? 0)}` +
    `,"exec":{"max_attempts":${int('max_attempts', input.maxAttempts ?? 3)}` +
    `,"timeout_seconds":${int('timeout_seconds', input.timeoutSeconds ?? 900)}}` +
    `,"kwargs":${canonicalJson(input.kwargs ?? {}, 'kwargs')}` +
    `,"lock_key":${text(input.lockKey, 'lock_key')}` +
    `,"priority":${int('priority', input.priority ?? 0)}` +
    `,"provenance":{"code_ref":${text(input.codeRef, 'provenance.code_ref')}` +
    `,"pip_lock_hash":${text(input.pipLockHash, 'provenance.pip_lock_hash')}}` +
    `,"queue_name":${text(input.queueName || 'default', 'queue_name')}` +
    `,"run_after":${input.runAfter ? `"${pythonIsoformat(input.runAfter)}"` : 'null'}` +
    `,"takes_context":${input.takesContext ? 'true' : 'false'}` +
    `,"task_path":${text(input.taskPath, 'task_path')}` +
    ',"v":1}'
  );
}

function text(s: string | null | undefined, field: string): string {
  return s == null ? 'null' : canonicalString(s, field);
}

/** Python writes these with int(): a float here would hash as `3.0` and never match Django. */
function int(field: string, n: number): string {
  if (!Number.isSafeInteger(n)) throw new ValidationError(field, `must be an integer, got ${n}`);
  return String(n);
}

/**
 * Python `datetime.isoformat()` of an aware UTC datetime: `2025-01-01T12:00:00.123000+00:00`, and no
 * fraction when the microseconds are 0 (`2025-01-01T12:00:00+00:00`).
 */
export function pythonIsoformat(date: Date): string {
  const ms = date.getUTCMilliseconds();
  return `${utcDateTimeBase(date, 'run_after')}${ms ? `.${String(ms).padStart(3, '0')}000` : ''}+00:00`;
}
