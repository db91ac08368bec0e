import { ValidationError } from '../errors.ts';
import { CanonicalJsonError, compareCodePoints, isWellFormed, shortestDigits, utcDateTimeBase, type JsonValue } from './canonical.ts';
import { sha256Hex } from './hash.ts';

/**
 * The spec bytes reproq-worker's Go beat hashes (internal/queue/periodic.go): `json.Marshal` of a
 * struct in fixed field order, where args/kwargs are jsonb's text of `payload_json` parts, compacted
 * and HTML-escaped by Go. Byte parity lets a TS beat and a Go beat dedup the same tick.
 *
 * From parsed JSON, jsonb's number text can only be rebuilt from the JS value (shortest digits,
 * positional): trailing zeros (`1.50`), more than 17 significant digits or integers above 2^53 in
 * the stored payload are not reproducible. Pass `RawJson` (the text of `payload_json->'args'`) for
 * exact bytes in those cases.
 */

/** Text from Postgres (`(payload_json->'args')::text`), kept verbatim apart from Go's compaction. */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export type PeriodicJson = JsonValue | bigint | RawJson;

export interface PeriodicSpecFields {
  taskPath: string;
  args: PeriodicJson;
  kwargs: PeriodicJson;
  /** "" becomes "default", as in Go. */
  queueName: string;
  priority: number;
  concurrencyKey: string | null;
  concurrencyLimit: number;
  periodicName: string;
  /** periodic_tasks.next_run_at; rendered RFC 3339 in UTC, fraction truncated. */
  scheduledAt: Date;
  /** <= 0 becomes 3, as in Go. */
  maxAttempts: number;
}

/** Go beat's step b normalisation; the row columns must use the same values as the spec. */
export function normalizePeriodicFields<T extends Pick<PeriodicSpecFields, 'queueName' | 'maxAttempts'>>(f: T): T {
  return { ...f, queueName: f.queueName === '' ? 'default' : f.queueName, maxAttempts: f.maxAttempts <= 0 ? 3 : f.maxAttempts };
}

/** The exact spec text; its UTF-8 encoding is Go's byte slice. Store it as `$n::jsonb`. */
export function goPeriodicSpecBytes(fields: PeriodicSpecFields): string {
  const f = normalizePeriodicFields(fields);
  const int = (name: string, n: number) => {
    if (!Number.isSafeInteger(n)) throw new ValidationError(name, `must be an integer, got ${n}`);
    return String(n);
  };
  return (
    `{"task_path":${goString(f.taskPath, 'task_path')}` +
    `,"args":${goJsonb(f.args, 'args')}` +
    `,"kwargs":${goJsonb(f.kwargs, 'kwargs')}` +
    `,"queue_name":${goString(f.queueName, 'queue_name')}` +
    `,"priority":${int('priority', f.priority)}` +
    `,"concurrency_key":${f.concurrencyKey === null ? 'null' : goString(f.concurrencyKey, 'concurrency_key')}` +
    `,"concurrency_limit":${int('concurrency_limit', f.concurrencyLimit)}` +
    `,"periodic_name":${goString(f.periodicName, 'periodic_name')}` +
    `,"scheduled_at":"${goRfc3339Utc(f.scheduledAt)}"` +
    `,"exec":{"timeout_seconds":900,"max_attempts":${int('max_attempts', f.maxAttempts)}}}`
  );
}

/** spec_hash of a Go-beat periodic row. */
export function goPeriodicSpecHash(fields: PeriodicSpecFields): Promise<string> {
  return sha256Hex(goPeriodicSpecBytes(fields));
}

/** Go's `time.RFC3339` of a UTC time: `2026-01-01T12:00:00Z`. */
export function goRfc3339Utc(d: Date): string {
  return `${utcDateTimeBase(d, 'scheduled_at')}Z`;
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const htmlEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Go's string encoding with HTML escaping. For well-formed text it equals JSON.stringify (which is
 * also Postgres's escape_json) plus `< > & U+2028 U+2029` as `\u003c`-style escapes.
 */
export function goString(s: string, field = '$'): string {
  // Postgres text is always valid UTF-8, so a lone surrogate can only be a caller's bug.
  if (!isWellFormed(s)) throw new CanonicalJsonError(field, 'string contains a lone UTF-16 surrogate');
  return JSON.stringify(s).replace(HTML_UNSAFE, htmlEscape);
}

/** jsonb's text rendering of a parsed value, then Go's compaction: keys by UTF-8 length, then bytes. */
export function goJsonb(v: PeriodicJson, field = '$'): string {
  if (v instanceof RawJson) return goCompactJsonText(v.text, field);
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return goString(v, field);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return jsonbNumber(v, field);
    case 'object':
      if (Array.isArray(v)) return `[${v.map((x, i) => goJsonb(x, `${field}.${i}`)).join(',')}]`;
      return `{${Object.keys(v)
        .sort(compareJsonbKeys)
        .map((k) => `${goString(k, field)}:${goJsonb(v[k]!, `${field}.${k}`)}`)
        .join(',')}}`;
    default:
      throw new CanonicalJsonError(field, `a ${typeof v} is not JSON`);
  }
}

/** Postgres numeric text never uses an exponent; -0 prints as 0. */
function jsonbNumber(n: number, field: string): string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(field, 'NaN and Infinity are not valid in jsonb');
  if (n === 0) return '0';
  const { digits, decpt } = shortestDigits(n);
  const sign = n < 0 ? '-' : '';
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt < digits.length) return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  return `${sign}${digits}${'0'.repeat(decpt - digits.length)}`;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4; // a pair; the low half is skipped
      i++;
    } else n += 3;
  }
  return n;
}

/** jsonb key order: shorter UTF-8 first, then bytewise (which is code point order). */
export function compareJsonbKeys(a: string, b: string): number {
  return utf8Length(a) - utf8Length(b) || compareCodePoints(a, b);
}

/** Go's `json.Compact` with HTML escaping (what json.Marshal does to a RawMessage). */
export function goCompactJsonText(text: string, field = '$'): string {
  try {
    JSON.parse(text);
  } catch {
    throw new CanonicalJsonError(field, 'raw JSON text is not valid JSON');
  }
  if (!isWellFormed(text)) throw new CanonicalJsonError(field, 'raw JSON contains a lone UTF-16 surrogate');
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') {
        out += c + text[++i]!;
        continue;
      }
      if (c === '"') inString = false;
      out += c === '<' || c === '>' || c === '&' || c === '\u2028' || c === '\u2029' ? htmlEscape(c) : c;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') {
      out += c;
    }
  }
  return out;
}

/** Go beat rejected a row's payload_json (step a); the row stays due and is retried. */
export class PeriodicPayloadError extends ValidationError {
  override name = 'PeriodicPayloadError';
  constructor(message: string) {
    super('payload_json', message);
  }
}

export interface PeriodicPayload {
  /** null only when the payload says so literally (`{"args": null}`, or a bare `null`). */
  args: JsonValue[] | null;
  kwargs: Record<string, JsonValue> | null;
}

const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Go's parsePeriodicPayload over the parsed jsonb value: an object with `args` and/or `kwargs` is an
 * envelope (missing side → [] / {}, other keys ignored); else an array is args; else an object is
 * kwargs; anything else is an error. `undefined` (no payload) gives [] and {}. JSON `null` decodes
 * into a Go slice, so a bare `null` payload is args=null.
 */
export function parsePeriodicPayload(payload: unknown): PeriodicPayload {
  if (payload === undefined) return { args: [], kwargs: {} };
  if (isObject(payload) && (Object.hasOwn(payload, 'args') || Object.hasOwn(payload, 'kwargs'))) {
    const args = Object.hasOwn(payload, 'args') ? payload.args : [];
    const kwargs = Object.hasOwn(payload, 'kwargs') ? payload.kwargs : {};
    if (args !== null && !Array.isArray(args)) {
      throw new PeriodicPayloadError(`invalid periodic args: expected a JSON array, got ${describe(args)}`);
    }
    if (kwargs !== null && !isObject(kwargs)) {
      throw new PeriodicPayloadError(`invalid periodic kwargs: expected a JSON object, got ${describe(kwargs)}`);
    }
    return { args: args ?? null, kwargs: kwargs ?? null };
  }
  if (payload === null) return { args: null, kwargs: {} };
  if (Array.isArray(payload)) return { args: payload as JsonValue[], kwargs: {} };
  if (isObject(payload)) return { args: [], kwargs: payload };
  throw new PeriodicPayloadError(`invalid payload JSON: expected an array or object, got ${describe(payload)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
