import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from './errors.ts';

/**
 * Upstream's cron dialect (robfig/cron v3 with Minute|Hour|Dom|Month|Dow), checked here and then
 * evaluated by cron-parser. cron-parser alone is too lenient for a row a Go beat also reads: it
 * takes 4 or 6 fields, an empty string, `@daily`, `L`/`W`/`#`, dow 7, and an unknown time zone
 * (which it only reports at `.next()`). Rejecting those at write time keeps every stored
 * expression one that both beats evaluate the same way:
 * - exactly 5 fields `minute hour dom month dow`, after an optional `TZ=Zone ` / `CRON_TZ=Zone `;
 * - `*`, `?` (= `*`), lists, ranges, steps; `N/step` runs from N to the field's maximum;
 * - month names jan–dec and day names sun–sat, any case; dow 0–6 (7 is rejected, as in Go);
 * - no descriptors (`@hourly`, `@every`): robfig's five-field parser rejects them;
 * - UTC unless a zone is given; when dom and dow are both restricted, either may match.
 */
export class CronExpressionError extends ValidationError {
  override name = 'CronExpressionError';
  constructor(message: string, field = 'cron_expr') {
    super(field, message);
  }
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

export interface CronSchedule {
  /** The expression as stored. */
  readonly expression: string;
  /** IANA zone the fields are read in (`UTC` without a prefix). */
  readonly timezone: string;
  /** The five fields as explicit value lists (or `*`), as handed to cron-parser. */
  readonly fields: string;
  /** The first run strictly after `after`. */
  next(after: Date): Date;
  /** Up to `max` runs in (`after`, `upTo`], newest first. */
  runsBetween(after: Date, upTo: Date, max: number): Date[];
}

const TZ_PREFIX = /^(?:CRON_TZ|TZ)=(\S*)\s*/;

// Parsing dominates a beat tick over many tasks; schedules are immutable, so they are shared.
const CACHE_MAX = 1000;
const cache = new Map<string, CronSchedule>();

/** Parses and validates; throws CronExpressionError naming `field`. */
export function parseCron(expression: string, field = 'cron_expr'): CronSchedule {
  const hit = cache.get(expression);
  if (hit && field === 'cron_expr') return hit;
  const schedule = buildSchedule(expression, field);
  if (cache.size >= CACHE_MAX) cache.clear();
  if (field === 'cron_expr') cache.set(expression, schedule);
  return schedule;
}

function buildSchedule(expression: string, field: string): CronSchedule {
  let rest = expression.trim();
  let timezone = 'UTC';
  const tz = TZ_PREFIX.exec(rest);
  if (tz) {
    timezone = tz[1]!;
    rest = rest.slice(tz[0].length);
    if (!isTimeZone(timezone)) throw new CronExpressionError(`unknown time zone ${JSON.stringify(timezone)}`, field);
  }
  if (rest.startsWith('@')) throw new CronExpressionError(`descriptors such as ${rest.split(/\s/)[0]} are not accepted; use 5 fields`, field);
  const parts = rest.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new CronExpressionError(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`, field);
  }
  const fields = parts.map((p, i) => normalizeField(p, FIELDS[i]!, field)).join(' ');
  const schedule: CronSchedule = {
    expression,
    timezone,
    fields,
    next(after) {
      const d = nextRun(fields, timezone, after, field);
      if (!d) throw new CronExpressionError(`${JSON.stringify(expression)} never fires`, field);
      return d;
    },
    runsBetween(after, upTo, max) {
      // Runs fall on whole minutes, so walking back from (minute of upTo) + 1 s starts at the last one <= upTo.
      const probe = new Date(Math.floor(upTo.getTime() / 60_000) * 60_000 + 1000);
      const it = CronExpressionParser.parse(fields, { currentDate: probe, tz: timezone });
      const runs: Date[] = [];
      while (runs.length < max) {
        const run = previous(it);
        if (!run || run <= after) break;
        runs.push(run);
      }
      return runs;
    },
  };
  schedule.next(new Date()); // an expression that can never fire (`0 0 31 2 *`) is refused now
  return schedule;
}

function nextRun(fields: string, tz: string, from: Date, field: string): Date | null {
  try {
    return CronExpressionParser.parse(fields, { currentDate: from, tz }).next().toDate();
  } catch (err) {
    const msg = (err as Error).message;
    if (/out of the time span|loop limit/i.test(msg)) return null;
    throw new CronExpressionError(msg, field);
  }
}

/** cron-parser throws once the search span is exhausted. */
function previous(it: { prev(): { toDate(): Date } }): Date | null {
  try {
    return it.prev().toDate();
  } catch {
    return null;
  }
}

/**
 * One field as cron-parser should read it: `*` stays `*` (the day rule depends on it), anything
 * else becomes its explicit sorted list of values, so lists with repeats (`1,jan`), which robfig
 * accepts and cron-parser refuses, mean the same to both.
 */
function normalizeField(text: string, spec: FieldSpec, field: string): string {
  const bad = (why: string) => new CronExpressionError(`${spec.name} ${JSON.stringify(text)}: ${why}`, field);
  const values = new Set<number>();
  let star = false;
  for (const item of text.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '') throw bad('malformed list item');
    if (step !== undefined && !/^\d+$/.test(step)) throw bad('step must be a number');
    const by = step === undefined ? 1 : Number(step);
    if (by < 1) throw bad('step must be positive');
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      // `*/1` is a plain `*` for robfig too.
      if (by === 1) star = true;
      [lo, hi] = [spec.min, spec.max];
    } else {
      const ends = range.split('-');
      if (ends.length > 2) throw bad('malformed range');
      lo = value(ends[0]!, spec, bad);
      // robfig: a single value with a step runs to the field's maximum.
      hi = ends.length === 2 ? value(ends[1]!, spec, bad) : step !== undefined ? spec.max : lo;
      if (lo > hi) throw bad('range start is after its end');
    }
    for (let v = lo; v <= hi; v += by) values.add(v);
  }
  return star ? '*' : [...values].sort((a, b) => a - b).join(',');
}

function value(v: string, spec: FieldSpec, bad: (why: string) => Error): number {
  const named = spec.names?.indexOf(v.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + spec.min : /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (Number.isNaN(n)) throw bad(`${JSON.stringify(v)} is not a number${spec.names ? ' or a name' : ''}`);
  if (n < spec.min || n > spec.max) throw bad(`${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function isTimeZone(tz: string): boolean {
  if (tz === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
