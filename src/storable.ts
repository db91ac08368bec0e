import * as z from 'zod/mini';
import { isWellFormed, type JsonValue } from './spec/canonical.ts';

/**
 * Input that PostgreSQL can store and Django can read back, checked before anything is sent, so
 * a bad value is a ValidationError naming its exact path (`kwargs.note`, `args.2.x`) and never a
 * database error that fails the whole statement. The enqueue and periodic-task schemas use these
 * pieces; the HTTP routes reach them through enqueue.
 */

/**
 * Deeper JSON than any real payload. The bound keeps every parser on the way (ours, PostgreSQL's
 * jsonb, Python's json with its ~1,000-frame recursion limit) far from its stack limit.
 */
export const MAX_JSON_DEPTH = 100;

interface JsonIssue {
  path: (string | number)[];
  message: string;
}

/** Why a string cannot be stored as text or jsonb, or null. */
function textIssue(s: string): string | null {
  if (s.includes('\u0000')) return 'contains U+0000, which PostgreSQL text and jsonb cannot store';
  if (!isWellFormed(s)) return 'contains a lone UTF-16 surrogate (not encodable as UTF-8)';
  return null;
}

/**
 * The first value of `value` that is not storable plain JSON, depth first, or null. The path is
 * built only on the way out of a refusal (every enqueue checks its args, kwargs and metadata), and
 * the recursion stops at MAX_JSON_DEPTH, so a value nested 100,000 deep is refused without
 * exhausting the JS stack.
 */
function jsonIssue(value: unknown, depth = 0): JsonIssue | null {
  switch (typeof value) {
    case 'string': {
      const why = textIssue(value);
      return why ? { path: [], message: why } : null;
    }
    case 'boolean':
      return null;
    case 'number':
      if (!Number.isFinite(value)) return { path: [], message: 'NaN and Infinity are not JSON' };
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        return { path: [], message: `integer ${value} is beyond 2^53 and may already be rounded; send it as a string` };
      }
      return null;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_JSON_DEPTH) return { path: [], message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const issue = jsonIssue(value[i], depth + 1);
          if (issue) return within(i, issue);
        }
        return null;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
        return { path: [], message: `a ${typeof name === 'string' ? name : 'non-plain object'} is not plain JSON` };
      }
      // Every key before any value, as a refused key is reported before the values beside it.
      const keys = Object.keys(value);
      for (const key of keys) {
        const why = textIssue(key);
        if (why) return { path: [key], message: `key ${why}` };
      }
      for (const key of keys) {
        const issue = jsonIssue((value as Record<string, unknown>)[key], depth + 1);
        if (issue) return within(key, issue);
      }
      return null;
    }
    default:
      return { path: [], message: `a ${typeof value} is not JSON` };
  }
}

function within(key: string | number, issue: JsonIssue): JsonIssue {
  issue.path.unshift(key);
  return issue;
}

/** Adds an issue the way a zod/mini check or transform reports one (relative to the value). */
function report(payload: z.core.ParsePayload, message: string, path: (string | number)[] = []): void {
  payload.issues.push({ code: 'custom', input: payload.value, path, message });
}

const checkJson = z.check<unknown>((payload) => {
  const issue = jsonIssue(payload.value);
  if (issue) report(payload, issue.message, issue.path);
});

const isPlainObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** A JSON array (args); an issue carries the path inside the value. */
export const JsonArraySchema = z.custom<JsonValue[]>(Array.isArray, 'expected an array').check(checkJson);
/** A JSON object (kwargs, metadata); its keys are checked like its strings. */
export const JsonObjectSchema = z.custom<Record<string, JsonValue>>(isPlainObject, 'expected an object').check(checkJson);

const storableText = z.check<string>((payload) => {
  const why = textIssue(payload.value);
  if (why) report(payload, why);
});

/** An integer in [min, max], `fallback` when absent: the int columns of task_runs and periodic_tasks. */
export function boundedInt(min: number, max: number, fallback: number) {
  return z._default(z.int().check(z.minimum(min), z.maximum(max)), fallback);
}

/** Text PostgreSQL stores exactly as given: no U+0000, no lone surrogate (the driver would write U+FFFD). */
export function storable<S extends z.ZodMiniString>(schema: S): S {
  return schema.check(storableText);
}

/**
 * Longest delay or lifetime accepted: anything further is a unit mistake, and a time past year
 * 9999 could not be read back by Django.
 */
export const MAX_OFFSET_SECONDS = 100 * 365 * 24 * 3600;

const ISO_INSTANT = z.iso.datetime({ offset: true });
const ISO_NAIVE = z.iso.datetime({ local: true });
const ISO_DATE = z.iso.date();

/**
 * The instant rule: a Date, or ISO-8601 / RFC 3339 text with `Z` or an offset
 * (`2025-01-01T12:00:00Z`, `2025-01-01T12:00:00.250+02:00`). A naive time
 * (`2025-01-01T12:00:00`) or a bare date is refused, since it would be read in whatever zone the
 * server runs in; numbers, booleans and arrays are refused rather than coerced. Digits below the
 * millisecond must be zero (a JS Date keeps milliseconds, and dropping the rest would change
 * the time and its spec_hash silently). Years 1..9999, what Python's datetime can hold.
 */
export function parseInstant(value: unknown): Date | string {
  let d: Date;
  if (value instanceof Date) d = value;
  else if (typeof value === 'string') {
    if (!ISO_INSTANT.safeParse(value).success) {
      const naive = ISO_NAIVE.safeParse(value).success || ISO_DATE.safeParse(value).success;
      return naive
        ? `${JSON.stringify(value)} has no time zone: add Z (UTC) or an offset such as +02:00`
        : `${JSON.stringify(value)} is not an ISO-8601 instant such as 2025-01-01T12:00:00Z or 2025-01-01T12:00:00+02:00`;
    }
    const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
    if (/[1-9]/.test(fraction.slice(3))) return `${JSON.stringify(value)} has digits below the millisecond; send at most 3 fractional digits`;
    d = new Date(value);
  } else {
    return `expected a Date or an ISO-8601 string with Z or an offset, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`;
  }
  if (Number.isNaN(d.getTime())) return 'is not a valid date';
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) return `year ${year} (UTC) is outside 1..9999, what Python's datetime (and so Django) can read`;
  return d;
}

function toInstant(value: unknown, payload: z.core.ParsePayload): Date {
  const parsed = parseInstant(value);
  if (typeof parsed === 'string') {
    report(payload, parsed);
    return z.NEVER;
  }
  return parsed;
}

/** A Date or ISO-8601 text with an offset, parsed to a Date (see parseInstant). */
export const InstantSchema = z.pipe(z.custom<Date | string>(), z.transform<Date | string, Date>(toInstant));

/** A number of seconds from now (zod numbers are finite), at most MAX_OFFSET_SECONDS. */
export const OffsetSecondsSchema = z.number().check(z.maximum(MAX_OFFSET_SECONDS, `is more than 100 years (${MAX_OFFSET_SECONDS} seconds)`));

const DelaySchema = z.strictObject({ delaySeconds: OffsetSecondsSchema.check(z.minimum(0, 'must not be negative')) });

/** An instant (InstantSchema), or `{delaySeconds}` from now. */
export const RunAfterSchema = z.pipe(
  z.custom<Date | string | { delaySeconds: number }>(),
  z.transform<Date | string | { delaySeconds: number }, Date | { delaySeconds: number }>((value, payload) => {
    if (!isPlainObject(value)) return toInstant(value, payload);
    const delay = DelaySchema.safeParse(value);
    if (delay.success) return delay.data;
    for (const issue of delay.error.issues) report(payload, issue.message, issue.path as (string | number)[]);
    return z.NEVER;
  }),
);
