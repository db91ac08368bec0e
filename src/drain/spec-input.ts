import { getUnsafeNumberReason, isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { canonicalJson, type CanonicalValue } from '../spec/canonical.ts';
import type { AnyTask } from '../tasks/registry.ts';

/** A claimed task's spec, read for its handler: the spec object and the arguments its schema checked. */
export interface SpecInput {
  spec: Record<string, unknown>;
  args: unknown;
  kwargs: unknown;
}

/**
 * Reads spec_json (as PostgreSQL prints it) into a handler's input, or says why the row cannot run
 * (the reason becomes its `invalid_spec` entry). Other clients write rows we never validated: the
 * spec may be JSON null (Django's None), an array or a scalar; args must be a list and kwargs an
 * object when present (null or absent means empty, as upstream's executor reads them).
 *
 * Numbers: by default a handler gets plain JS numbers, and a spec number that a double cannot hold
 * without losing information (an integer beyond 2^53 such as 9007199254740993, a decimal with more
 * digits than a double keeps, a value that overflows to Infinity or underflows to 0) fails the task,
 * naming where it is: silently rounding a user's value is not an option. `1.0` is not such a number:
 * it is the same double as `1`, only its spelling differs. Tasks defined with `numbers: 'lossless'`
 * get every number as a lossless-json LosslessNumber (exact digits, spelling kept) instead.
 */
export function readSpec(def: AnyTask, specText: string): SpecInput | { error: string } {
  let spec: unknown;
  try {
    spec = def.numbers === 'lossless' ? parseLossless(specText) : JSON.parse(specText);
  } catch (err) {
    return { error: `spec_json cannot be read: ${(err as Error).message}` };
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    return { error: `spec_json is not a JSON object (got ${jsonType(spec)})` };
  }
  const s = spec as Record<string, unknown>;
  const args = s.args ?? [];
  const kwargs = s.kwargs ?? {};
  if (!Array.isArray(args)) return { error: `spec_json.args is not a list (got ${jsonType(args)})` };
  if (typeof kwargs !== 'object' || Array.isArray(kwargs) || isLosslessNumber(kwargs)) {
    return { error: `spec_json.kwargs is not an object (got ${jsonType(kwargs)})` };
  }
  if (def.numbers !== 'lossless' && MAY_HOLD_UNSAFE_NUMBER.test(specText)) {
    let unsafe: ReturnType<typeof unsafeNumbers>;
    try {
      unsafe = unsafeNumbers(specText);
    } catch (err) {
      return { error: `spec_json numbers cannot be checked: ${(err as Error).message}` };
    }
    if (unsafe.length > 0) {
      const listed = unsafe.slice(0, 5).map((u) => `${u.path} (${u.text.length > 40 ? `${u.text.slice(0, 40)}…` : u.text}: ${u.reason})`);
      return {
        error:
          `spec_json holds ${unsafe.length} number(s) JavaScript cannot represent exactly: ${listed.join(', ')}` +
          `${unsafe.length > 5 ? ', …' : ''}; define the task with numbers: 'lossless' to receive them exactly`,
      };
    }
  }
  return { spec: s, args, kwargs };
}

/**
 * Enqueue's arguments as a lossless task will read them back from spec_json, so its schemas can be
 * checked before the row is written (a bigint or PyFloat becomes the LosslessNumber of its digits).
 * A value the spec cannot hold is left as it is: building the spec refuses it with its own message.
 */
export function readLossless<T extends { args: unknown; kwargs: unknown }>(input: T): { args: unknown; kwargs: unknown } {
  try {
    return parseLossless(canonicalJson(input as unknown as CanonicalValue)) as { args: unknown; kwargs: unknown };
  } catch {
    return input;
  }
}

/**
 * Every number with at most 15 significant digits round-trips through a double, and PostgreSQL
 * prints jsonb numbers without exponents, so only a run of 16 digits (a decimal point may sit
 * among them) or a 3-digit exponent can hold a number that does not: a cheap test on the text
 * before the exact check. A match inside a string only costs the exact check.
 */
const MAY_HOLD_UNSAFE_NUMBER = /\d(?:\.?\d){15}|\d[eE][+-]?\d{3}/;

/** Each number of the JSON text that a double does not hold exactly, with its path and why. */
export function unsafeNumbers(text: string): { path: string; text: string; reason: string }[] {
  const found: { path: string; text: string; reason: string }[] = [];
  const visit = (value: unknown, path: string): void => {
    if (isLosslessNumber(value)) {
      const reason = getUnsafeNumberReason(value.value);
      if (reason) found.push({ path, text: value.value, reason });
    } else if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}[${i}]`));
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}${keyPath(k)}` : keyPath(k).replace(/^\./, ''));
    }
  };
  visit(parseLossless(text), '');
  return found;
}

function keyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isLosslessNumber(value)) return 'a number';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
