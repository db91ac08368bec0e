/**
 * Parsers for flag values, used as commander's argParser: a bad value becomes commander's "option '--x'
 * argument 'v' is invalid" usage error (exit 2), which names the flag.
 */
import { InvalidArgumentError } from 'commander';
import * as z from 'zod/mini';
import { describeError } from '../db/errors.ts';
import { parseDuration } from '../duration.ts';
import { ReproqError, ValidationError } from '../errors.ts';

function zodParser<T>(schema: z.ZodMiniType<T>): (value: string) => T {
  return (value) => {
    const r = schema.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(r.error.issues[0]?.message ?? 'invalid value');
    return r.data;
  };
}

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  zodParser(z.coerce.number({ error: 'not a number' }).check(z.int('not an integer'), z.minimum(min), z.maximum(max)));

export const number = (min: number) => zodParser(z.coerce.number({ error: 'not a number' }).check(z.minimum(min)));

/** A task_runs.result_id. */
export const resultId = int(1);

/**
 * An age for `--older-than`: Django's `30s`/`5m`/`2h`/`7d` (days are not a Go unit, but Django's prune
 * defaults use them) or any Go duration; empty means 0, as in Django. Returns seconds.
 */
export function ageSeconds(value: string): number {
  const days = /^\s*(\d+)\s*d\s*$/.exec(value);
  if (days) return Number(days[1]) * 86_400;
  if (value.trim() === '') return 0;
  try {
    return parseDuration(value) / 1000;
  } catch (err) {
    if (err instanceof ReproqError) throw new InvalidArgumentError('not a duration (use e.g. 30s, 5m, 2h, 7d, 1h30m)');
    throw err;
  }
}

/** A comma-separated list, trimmed, empties dropped (upstream's list parsing). */
export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export const TASK_STATUSES = ['READY', 'RUNNING', 'WAITING', 'SUCCESSFUL', 'FAILED', 'CANCELLED'] as const;

/** Statuses, upper-cased and trimmed as Django does; unknown ones are a usage error. */
export function statuses(value: string): string[] {
  const out = list(value).map((s) => s.toUpperCase());
  const unknown = out.filter((s) => !(TASK_STATUSES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown status ${unknown.join(', ')} (expected ${TASK_STATUSES.join(', ')})`);
  if (out.length === 0) throw new InvalidArgumentError('no status given');
  return out;
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** A JSON flag value (`--args '[1]'`); bad JSON names the flag. */
export function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(flag, `not JSON: ${describeError(err)}`);
  }
}
