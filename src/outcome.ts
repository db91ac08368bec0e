import { describeError } from './db/errors.ts';
import { isWellFormed } from './spec/canonical.ts';

/**
 * The errors_json entries and last_error summaries upstream writes, one builder per `kind`, so a
 * Django admin or Go worker reading the same rows sees the shapes it knows (reproq-worker §4.8).
 * Two kinds are ours: `result_altered` (informational, on a success whose return value had to be
 * made storable) and `outcome_refused` (the database refused to record what the task did).
 */
export type ErrorKind =
  | 'app_error'
  | 'infra_error'
  | 'cancelled'
  | 'security_violation'
  | 'invalid_spec'
  | 'result_altered'
  | 'outcome_refused';

export type ErrorEntry = Record<string, unknown> & { kind: ErrorKind; message: string; at: string };

export const LAST_ERROR_MAX_BYTES = 1024;

/**
 * Caps on the strings of an errors_json entry, in UTF-8 bytes. An entry is written once per attempt,
 * so a handler throwing a 5 MB message must not write 5 MB per attempt. The message gets 8 KiB (room
 * for a long validation message), the traceback 32 KiB (a deep JS stack or a Python traceback of a
 * few hundred frames), every other string (exception_class, task_path, worker_id …) 2 KiB.
 */
export const ERROR_STRING_MAX_BYTES: Readonly<Record<string, number>> = { message: 8 * 1024, traceback: 32 * 1024 };
export const ERROR_OTHER_STRING_MAX_BYTES = 2 * 1024;

/**
 * What a handler threw, as upstream's app_error entry. Never throws: a thrown value may be a
 * null-prototype object, a Symbol, a Proxy whose traps throw, or an Error whose getters throw.
 */
export function appError(err: unknown, attempt: number, workerId: string, at: Date): ErrorEntry {
  const e = guarded(() => (err instanceof Error ? err : undefined), undefined);
  return {
    at: at.toISOString(),
    attempt,
    exception_class: guarded(() => exceptionClass(err, e), typeof err),
    kind: 'app_error',
    message: e ? guarded(() => String(e.message ?? ''), 'an Error whose message cannot be read') : describeThrown(err),
    traceback: guarded(() => (e && typeof e.stack === 'string' ? e.stack : ''), ''),
    worker_id: workerId,
  };
}

/** describeError that never throws, for values a handler threw or returned. */
export function describeThrown(err: unknown): string {
  return guarded(() => describeError(err), `a thrown ${typeof err} that cannot be described`);
}

function exceptionClass(err: unknown, e: Error | undefined): string {
  if (!e) return typeof err;
  const name = guarded(() => e.name, undefined);
  if (typeof name === 'string' && name) return name;
  const ctor = guarded(() => e.constructor?.name, undefined);
  return typeof ctor === 'string' && ctor ? ctor : 'Error';
}

function guarded<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

export function infraError(message: string, at: Date): ErrorEntry {
  return { at: at.toISOString(), kind: 'infra_error', message };
}

export function cancelledError(taskPath: string, workerId: string, at: Date): ErrorEntry {
  return { at: at.toISOString(), kind: 'cancelled', message: 'Task cancelled by request', task_path: taskPath, worker_id: workerId };
}

export function securityViolation(taskPath: string, at: Date): ErrorEntry {
  return {
    at: at.toISOString(),
    kind: 'security_violation',
    message: `security violation: unauthorized task module path: ${taskPath}`,
    task_path: taskPath,
  };
}

export function invalidSpec(message: string, at: Date): ErrorEntry {
  return { at: at.toISOString(), kind: 'invalid_spec', message };
}

/** The informational entry of a success whose return value had to be made storable. */
export function resultAltered(note: string, attempt: number, workerId: string, at: Date): ErrorEntry {
  return { at: at.toISOString(), attempt, kind: 'result_altered', message: `return value altered to be storable: ${note}`, worker_id: workerId };
}

/** The database refused to record an outcome: what it refused, and its own words (and SQLSTATE). */
export function outcomeRefused(action: string, complaint: string, code: string | undefined, at: Date): ErrorEntry {
  return {
    at: at.toISOString(),
    kind: 'outcome_refused',
    message: `the database refused to record this task's ${action} outcome: ${complaint}`,
    ...(code && { sqlstate: code }),
  };
}

/**
 * An errors_json entry PostgreSQL will take, of bounded size: every string (keys too) made storable
 * (see storableText) and capped (ERROR_STRING_MAX_BYTES). What was changed is listed in the entry's
 * `altered` key, so a reader of errors_json (Django admin, `reproq triage inspect`) sees it.
 */
export function storableEntry(entry: ErrorEntry): ErrorEntry {
  const altered: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(entry)) {
    const key = storableKey(rawKey, altered);
    out[key] = typeof value === 'string' ? storableField(key, value, altered) : storableValue(value, key, altered);
  }
  if (altered.length > 0) out.altered = altered;
  return out as ErrorEntry;
}

function storableField(key: string, value: string, altered: string[]): string {
  let text = storableValue(value, key, altered) as string;
  const max = ERROR_STRING_MAX_BYTES[key] ?? ERROR_OTHER_STRING_MAX_BYTES;
  // A UTF-16 code unit is at most 3 bytes of UTF-8, so most strings need no measuring.
  const bytes = text.length * 3 <= max ? 0 : utf8Length(text);
  if (bytes > max) {
    text = truncateUtf8(text, max);
    altered.push(`${key}: cut to ${utf8Length(text)} of ${bytes} bytes`);
  }
  return text;
}

function storableKey(key: string, altered: string[]): string {
  const fixed = storableText(key);
  if (fixed !== key) altered.push(`key ${JSON.stringify(fixed)}: ${UNSTORABLE_NOTE}`);
  return fixed;
}

/** Strings anywhere in a (small, entry-sized) JSON value, keys included. */
function storableValue(value: unknown, path: string, altered: string[]): unknown {
  if (typeof value === 'string') {
    const fixed = storableText(value);
    if (fixed !== value) altered.push(`${path}: ${UNSTORABLE_NOTE}`);
    return fixed;
  }
  if (Array.isArray(value)) return value.map((v, i) => storableValue(v, `${path}[${i}]`, altered));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableKey(k, altered), storableValue(v, `${path}.${k}`, altered)]));
  }
  return value;
}

const UNSTORABLE_NOTE = 'U+0000 or lone surrogates replaced by U+FFFD';

/**
 * PostgreSQL text and jsonb cannot hold U+0000, and a lone UTF-16 surrogate has no UTF-8 encoding:
 * either makes the whole statement fail. Both become U+FFFD, the character Unicode reserves for
 * "a character that could not be represented" (what a UTF-8 decoder substitutes too), so the text
 * keeps its length and shape and the spot stays visible.
 */
export function storableText(text: string): string {
  return text.includes('\0') || !isWellFormed(text) ? text.replace(UNSTORABLE_CHARS, '\uFFFD') : text;
}

// With u, a class of surrogates matches only unpaired ones (as in canonical.ts's isWellFormed).
const UNSTORABLE_CHARS = /\0|[\uD800-\uDFFF]/gu;

/**
 * The same for JSON text as JSON.stringify writes it, where U+0000 and lone surrogates appear only as
 * `\u0000` / `\udXXX` escapes. An escape counts only after an even run of backslashes (an escaped
 * backslash followed by "u0000" is ordinary text); an escaped surrogate pair is kept.
 */
export function storableJsonText(text: string): { text: string; replaced: number } {
  if (!text.includes('\\u')) return { text, replaced: 0 };
  let replaced = 0;
  const fixed = text.replace(UNSTORABLE_ESCAPE, (match, backslashes: string, code: string) => {
    if (code.length > 4) return match; // a high surrogate escape followed by its low half
    replaced++;
    return `${backslashes}\uFFFD`;
  });
  return { text: fixed, replaced };
}

const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|d[89ab][0-9a-f]{2}(?:\\ud[c-f][0-9a-f]{2})?|d[c-f][0-9a-f]{2})/gi;

/** Upstream's summary: message, else kind, else the raw JSON; cut on a character boundary. */
export function summarizeError(entry: Record<string, unknown>): string {
  const text =
    'message' in entry ? String(entry.message) : 'kind' in entry ? String(entry.kind) : JSON.stringify(entry);
  return truncateUtf8(text, LAST_ERROR_MAX_BYTES);
}

/** Truncates to at most `maxBytes` of UTF-8 without splitting a character (upstream cuts bytes). */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (utf8Length(text) <= maxBytes) return text;
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const size = encoder.encode(ch).byteLength;
    if (bytes + size > maxBytes) break;
    bytes += size;
    out += ch;
  }
  return out;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}
