import { ValidationError } from '../errors.ts';

/**
 * Canonical JSON, byte-identical to reproq-django's
 * `json.dumps(v, sort_keys=True, separators=(',', ':'), ensure_ascii=False, cls=DjangoJSONEncoder)`.
 *
 * Numbers: a JS number that is an integer is a Python int (so Python float `1.0` needs `PyFloat`);
 * a non-integral number is a Python float printed with `repr`; integers beyond 2^53 are refused
 * (ambiguous and probably already rounded): pass a `bigint` or a `PyFloat`. NaN/±Infinity are refused
 * because PostgreSQL jsonb would reject the row. Strings with lone surrogates are refused: Python emits
 * them raw and then fails to encode UTF-8, and TextEncoder would silently hash U+FFFD instead.
 */

/** Plain JSON, as JSON.parse returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What canonicalJson accepts: JSON plus the Python-side types a caller may need for hash parity. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | Date
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

/** Forces Python float formatting for a number (`new PyFloat(1)` → `1.0`, `new PyFloat(1e16)` → `1e+16`). */
export class PyFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  /** JSON.stringify falls back to the plain number (loses `.0`, never the value). */
  toJSON(): number {
    return this.value;
  }
}

/** A value that has no canonical JSON form; `field` is the dotted path of the value (`$` = root). */
export class CanonicalJsonError extends ValidationError {
  override name = 'CanonicalJsonError';
}

/** `at` names `value` in a refusal, so a part of a larger document reports its place in it. */
export function canonicalJson(value: CanonicalValue, at = '$'): string {
  try {
    return write(value, new Set());
  } catch (err) {
    if (err instanceof PathFailure) throw new CanonicalJsonError(formatPath(at, err.path), err.message);
    throw err;
  }
}

/** A string as canonicalJson writes it, without the walk; `field` names it in a refusal. */
export function canonicalString(s: string, field: string): string {
  if (!isWellFormed(s)) throw new CanonicalJsonError(field, LONE_SURROGATE_MESSAGE);
  return JSON.stringify(s);
}

/**
 * A refusal on its way out: each container it passes adds its key, so the happy path tracks no
 * path at all (enqueue hashes every spec it writes).
 */
class PathFailure extends Error {
  readonly path: (string | number)[] = [];
}

function fail(message: string): never {
  throw new PathFailure(message);
}

function formatPath(at: string, path: readonly (string | number)[]): string {
  if (path.length === 0) return at;
  const inner = path.map(String).join('.');
  return at === '$' ? inner : `${at}.${inner}`;
}

function write(v: unknown, stack: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return formatNumber(v);
    case 'bigint':
      return v.toString();
    case 'object':
      if (v === null) return 'null';
      if (v instanceof PyFloat) {
        if (!Number.isFinite(v.value)) fail('NaN and Infinity are not valid in PostgreSQL jsonb');
        return pyFloatRepr(v.value);
      }
      if (v instanceof Date) {
        const why = dateIssue(v);
        return why ? fail(why) : quote(djangoDatetime(v));
      }
      return writeContainer(v, stack);
    default:
      return fail(`a ${typeof v} is not JSON-serializable`);
  }
}

function writeContainer(v: object, stack: Set<object>): string {
  const isArray = Array.isArray(v);
  if (!isArray) {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      fail(`a ${name} is not JSON-serializable (use plain objects, arrays, Date, bigint or PyFloat)`);
    }
  }
  if (stack.has(v)) fail('circular reference');
  stack.add(v);
  let at: string | number = '';
  let out: string;
  try {
    if (isArray) {
      const arr = v as readonly unknown[];
      out = '[';
      for (let i = 0; i < arr.length; i++) {
        at = i;
        out += (i > 0 ? ',' : '') + write(arr[i], stack);
      }
      out += ']';
    } else {
      const obj = v as Record<string, unknown>;
      const keys = sortedKeys(obj);
      out = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = (at = keys[i]!);
        out += (i > 0 ? ',' : '') + quote(key) + ':' + write(obj[key], stack);
      }
      out += '}';
    }
  } catch (err) {
    if (err instanceof PathFailure) err.path.unshift(at);
    throw err;
  }
  stack.delete(v);
  return out;
}

/** Keys in Python's order; the code-point comparison is needed only when a key reaches U+D800. */
function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj).sort();
  for (const key of keys) if (ABOVE_SURROGATES.test(key)) return keys.sort(compareCodePoints);
  return keys;
}

const ABOVE_SURROGATES = /[\uD800-\uFFFF]/;

// With u, a class of surrogates matches only unpaired ones: pairs are read as one code point.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** JSON.stringify escapes exactly like Python with ensure_ascii=False once strings are well formed. */
function quote(s: string): string {
  if (!isWellFormed(s)) fail(LONE_SURROGATE_MESSAGE);
  return JSON.stringify(s);
}

const LONE_SURROGATE_MESSAGE = 'string contains a lone UTF-16 surrogate (not encodable as UTF-8)';

/**
 * Python's str order (code points). UTF-16 unit order agrees except between a surrogate
 * (astral char) and U+E000–U+FFFF, so those two ranges are swapped at the first difference.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x < 0xe000 ? x + 0x2000 : x - 0x800;
        y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) fail('NaN and Infinity are not valid in PostgreSQL jsonb');
  if (Number.isInteger(n)) {
    if (!Number.isSafeInteger(n)) {
      fail(`integer ${n} is beyond 2^53 and may be rounded: pass a bigint (Python int) or PyFloat (Python float)`);
    }
    return String(n); // -0 prints 0: an integral JS number is a Python int
  }
  return pyFloatRepr(n);
}

/** Shortest round-trip digits of |x| and the decimal point position: |x| = 0.DIGITS × 10^decpt. */
export function shortestDigits(x: number): { digits: string; decpt: number } {
  const [mantissa = '', exp = '0'] = String(Math.abs(x)).split('e');
  const dot = mantissa.indexOf('.');
  const intPart = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let digits = intPart + (dot < 0 ? '' : mantissa.slice(dot + 1));
  let decpt = intPart.length + Number(exp);
  const lead = /^0*/.exec(digits)![0].length;
  digits = digits.slice(lead).replace(/0+$/, '');
  decpt -= lead;
  return { digits: digits || '0', decpt: digits ? decpt : 1 };
}

/**
 * Python float as json.dumps writes it (`repr`): the same shortest digits as JS, exponent form when the decimal exponent
 * is < -4 or >= 16 (sign and at least two digits), otherwise positional with at least `.0`.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  const { digits, decpt } = shortestDigits(x);
  if (decpt <= -4 || decpt > 16) {
    const e = decpt - 1;
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt < digits.length) return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Why a Date has no Python datetime (invalid, or a year outside 1–9999), or null. */
function dateIssue(d: Date): string | null {
  if (Number.isNaN(d.getTime())) return 'invalid Date';
  const year = d.getUTCFullYear();
  return year < 1 || year > 9999 ? `year ${year} is outside 1..9999` : null;
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC; Python datetimes exist only for years 1–9999. */
export function utcDateTimeBase(d: Date, field = '$'): string {
  const why = dateIssue(d);
  if (why) throw new CanonicalJsonError(field, why);
  const year = d.getUTCFullYear();
  return (
    `${pad(year, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/**
 * DjangoJSONEncoder's aware-UTC datetime: isoformat cut to milliseconds, `+00:00` → `Z`, and no
 * fraction at all when the microseconds are 0 (JS Dates carry ms, so this is exact).
 */
export function djangoDatetime(d: Date, field = '$'): string {
  const ms = d.getUTCMilliseconds();
  return `${utcDateTimeBase(d, field)}${ms ? `.${pad(ms, 3)}` : ''}Z`;
}
