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

export function canonicalJson(value: CanonicalValue): string {
  const out: string[] = [];
  write(value, { out, path: [], stack: new Set() });
  return out.join('');
}

interface Ctx {
  out: string[];
  path: (string | number)[];
  stack: Set<object>;
}

function fail(ctx: { path: (string | number)[] }, message: string): never {
  throw new CanonicalJsonError(formatPath(ctx.path), message);
}

function formatPath(path: readonly (string | number)[]): string {
  return path.length === 0 ? '$' : path.map(String).join('.');
}

function write(v: unknown, ctx: Ctx): void {
  switch (typeof v) {
    case 'string':
      ctx.out.push(quote(v, ctx));
      return;
    case 'boolean':
      ctx.out.push(v ? 'true' : 'false');
      return;
    case 'number':
      ctx.out.push(formatNumber(v, ctx));
      return;
    case 'bigint':
      ctx.out.push(v.toString());
      return;
    case 'object':
      if (v === null) {
        ctx.out.push('null');
        return;
      }
      if (v instanceof PyFloat) {
        if (!Number.isFinite(v.value)) fail(ctx, 'NaN and Infinity are not valid in PostgreSQL jsonb');
        ctx.out.push(pyFloatRepr(v.value));
        return;
      }
      if (v instanceof Date) {
        ctx.out.push(quote(djangoDatetime(v, formatPath(ctx.path)), ctx));
        return;
      }
      writeContainer(v, ctx);
      return;
    default:
      fail(ctx, `a ${typeof v} is not JSON-serializable`);
  }
}

function writeContainer(v: object, ctx: Ctx): void {
  const isArray = Array.isArray(v);
  if (!isArray) {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      fail(ctx, `a ${name} is not JSON-serializable (use plain objects, arrays, Date, bigint or PyFloat)`);
    }
  }
  if (ctx.stack.has(v)) fail(ctx, 'circular reference');
  ctx.stack.add(v);
  if (isArray) {
    const arr = v as readonly unknown[];
    ctx.out.push('[');
    for (let i = 0; i < arr.length; i++) {
      if (i > 0) ctx.out.push(',');
      ctx.path.push(i);
      write(arr[i], ctx);
      ctx.path.pop();
    }
    ctx.out.push(']');
  } else {
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj).sort(compareCodePoints);
    ctx.out.push('{');
    keys.forEach((key, i) => {
      if (i > 0) ctx.out.push(',');
      ctx.path.push(key);
      ctx.out.push(quote(key, ctx), ':');
      write(obj[key], ctx);
      ctx.path.pop();
    });
    ctx.out.push('}');
  }
  ctx.stack.delete(v);
}

// With u, a class of surrogates matches only unpaired ones: pairs are read as one code point.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** JSON.stringify escapes exactly like Python with ensure_ascii=False once strings are well formed. */
function quote(s: string, ctx: { path: (string | number)[] }): string {
  if (!isWellFormed(s)) fail(ctx, 'string contains a lone UTF-16 surrogate (not encodable as UTF-8)');
  return JSON.stringify(s);
}

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

function formatNumber(n: number, ctx: { path: (string | number)[] }): string {
  if (!Number.isFinite(n)) fail(ctx, 'NaN and Infinity are not valid in PostgreSQL jsonb');
  if (Number.isInteger(n)) {
    if (!Number.isSafeInteger(n)) {
      fail(ctx, `integer ${n} is beyond 2^53 and may be rounded: pass a bigint (Python int) or PyFloat (Python float)`);
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

/** `YYYY-MM-DDTHH:MM:SS` in UTC; Python datetimes exist only for years 1–9999. */
export function utcDateTimeBase(d: Date, field = '$'): string {
  if (Number.isNaN(d.getTime())) throw new CanonicalJsonError(field, 'invalid Date');
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw new CanonicalJsonError(field, `year ${year} is outside 1..9999`);
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
