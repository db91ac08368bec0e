import { describe, expect, it } from 'vitest';
import { CronExpressionError, parseCron } from '../src/cron.ts';
import { parseDuration } from '../src/duration.ts';
import { ValidationError } from '../src/errors.ts';

const at = (iso: string) => new Date(iso);

describe('parseCron (upstream robfig dialect)', () => {
  it.each([
    ['*/10 * * * *', '2026-01-01T12:10:00Z', '2026-01-01T12:20:00Z'],
    ['5/15 * * * *', '2026-01-01T12:00:30Z', '2026-01-01T12:05:00Z'], // N/step runs to the maximum
    ['0 9 * jan-MAR Mon-fri', '2026-01-01T12:00:00Z', '2026-01-02T09:00:00Z'],
    ['0 0 1 * 1', '2026-01-01T12:00:00Z', '2026-01-05T00:00:00Z'], // dom and dow restricted: either matches
    ['0 0 ? * *', '2026-01-01T12:00:00Z', '2026-01-02T00:00:00Z'],
    ['TZ=Europe/Paris 0 9 * * *', '2026-01-01T12:00:00Z', '2026-01-02T08:00:00Z'],
    ['CRON_TZ=Asia/Kolkata 30 0 * * *', '2026-01-01T12:00:00Z', '2026-01-01T19:00:00Z'],
    // Both day fields restricted: either matches, also right after a month change.
    ['35 * 1 * 1', '2026-02-27T09:28:46Z', '2026-03-01T00:35:00Z'],
    ['TZ=Europe/Paris 35 * 1,13 * 1', '2026-02-27T09:28:46Z', '2026-02-28T23:35:00Z'],
  ])('%s after %s is %s', (expr, after, next) => {
    expect(parseCron(expr).next(at(after)).toISOString()).toBe(at(next).toISOString());
  });

  it('next is strictly after; runsBetween lists (after, upTo] newest first', () => {
    const s = parseCron('*/10 * * * *');
    expect(s.next(at('2026-01-01T12:10:00Z')).toISOString()).toBe('2026-01-01T12:20:00.000Z');
    const runs = s.runsBetween(at('2026-01-01T12:00:00Z'), at('2026-01-01T12:30:00Z'), 10).map((d) => d.toISOString());
    expect(runs).toEqual(['2026-01-01T12:30:00.000Z', '2026-01-01T12:20:00.000Z', '2026-01-01T12:10:00.000Z']);
    expect(s.runsBetween(at('2026-01-01T12:00:00Z'), at('2026-01-01T12:30:00Z'), 2)).toHaveLength(2);
  });

  it.each([
    ['* * * *', /5 fields/],
    ['', /5 fields/],
    ['0 * * * * *', /5 fields/],
    ['@daily', /descriptors/],
    ['0 0 * * 7', /outside 0-6/],
    ['0 0 L * *', /not a number/],
    ['0 0 1W * *', /not a number/],
    ['0 0 * * 1#2', /not a number/],
    ['TZ=Mars/Olympus 0 0 * * *', /unknown time zone/],
    ['*/0 * * * *', /step must be positive/],
    ['60 * * * *', /outside 0-59/],
    ['0 0 31 2 *', /day of month/],
    ['5-1 * * * *', /after its end/],
  ])('rejects %j', (expr, why) => {
    const err = (() => {
      try {
        parseCron(expr);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CronExpressionError);
    expect((err as CronExpressionError).field).toBe('cron_expr');
    expect((err as Error).message).toMatch(why);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['300ms', 300],
    [' 0 ', 0],
    ['1.5s', 1500],
    ['1h30m', 5_400_000],
    ['2us', 0.002],
  ])('%j is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '30', 'abc', '5 m', '-1s', '1x', '1h 30m', 'ms'])('rejects %j naming the flag', (text) => {
    const err = (() => {
      try {
        parseDuration(text, '--older-than');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('--older-than');
  });
});
