import { Cron } from 'croner';
import { ValidationError } from './errors.ts';

/**
 * Upstream's cron dialect (robfig/cron v3 with Minute|Hour|Dom|Month|Dow), checked and normalized
 * here, then evaluated by croner (no dependencies, time zones through Intl: a Worker bundle does
 * not carry a date library for it). A cron library alone is too lenient for a row a Go beat also
 * reads: it takes 6 or 7 fields, `@daily`, `L`/`W`/`#`, dow 7. Rejecting those at write time keeps
 * every stored expression one that both beats evaluate the same way:
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
  /** The five fields as explicit value lists (or `*`), as handed to croner. */
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
  const normalized = parts.map((p, i) => normalizeField(p, FIELDS[i]!, field));
  checkDaysExist(normalized, field);
  const fields = normalized.join(' ');
  const crons = schedulesOf(normalized, timezone);
  const schedule: CronSchedule = {
    expression,
    timezone,
    fields,
    next(after) {
      const runs = crons.map((c) => c.nextRun(after)).filter((d): d is Date => d !== null);
      if (runs.length === 0) throw new CronExpressionError(`${JSON.stringify(expression)} never fires`, field);
      return new Date(Math.min(...runs.map((d) => d.getTime())));
    },
    runsBetween(after, upTo, max) {
      // Runs fall on whole minutes, so walking back from (minute of upTo) + 1 s starts at the last one <= upTo.
      const probe = new Date(Math.floor(upTo.getTime() / 60_000) * 60_000 + 1000);
      const times = new Set(crons.flatMap((c) => c.previousRuns(max, probe)).map((d) => d.getTime()));
      return [...times]
        .filter((t) => t > after.getTime())
        .sort((a, b) => b - a)
        .slice(0, max)
        .map((t) => new Date(t));
    },
  };
  schedule.next(new Date()); // an expression that can never fire (`0 0 31 2 *`) is refused now
  return schedule;
}

/**
 * One field as croner should read it: `*` stays `*` (the day rule depends on it), anything else
 * becomes its explicit sorted list of values, so robfig's forms that cron libraries read otherwise
 * or refuse (`N/step` to the maximum, lists with repeats such as `1,jan`) mean the same to both.
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

/**
 * The croner schedules whose union is the expression. With both day fields restricted either may
 * match (robfig's rule), which is the union of one schedule per day field; croner 11 evaluates
 * that OR itself but misses a day-of-month match just after a month change (`35 * 1 * 1` after
 * Feb 27 gives Mar 2, not Mar 1), so each schedule here restricts one day field only. No callback
 * is given, so croner schedules nothing: only its run-time arithmetic is used.
 */
function schedulesOf([minute, hour, dom, month, dow]: string[], timezone: string): Cron[] {
  const cron = (d: string, w: string) => new Cron(`${minute} ${hour} ${d} ${month} ${w}`, { timezone, mode: '5-part' });
  return dom !== '*' && dow !== '*' ? [cron(dom!, '*'), cron('*', dow!)] : [cron(dom!, dow!)];
}

/** Longest month lengths, February with the leap day. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A day of month no listed month has (`0 0 31 2 *`) can never fire unless the day of week lets it. */
function checkDaysExist([, , dom, month, dow]: string[], field: string): void {
  if (dom === '*' || month === '*' || dow !== '*') return;
  const days = dom!.split(',').map(Number);
  const months = month!.split(',').map(Number);
  if (!months.some((m) => days.some((d) => d <= MONTH_DAYS[m - 1]!))) {
    throw new CronExpressionError(`day of month ${dom} never occurs in month ${month}`, field);
  }
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
