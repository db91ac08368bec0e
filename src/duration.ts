import { ValidationError } from './errors.ts';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/y;

/**
 * Milliseconds of a duration flag. Accepts Go's syntax (`300ms`, `1m30s`, what reproq-worker's
 * `--interval` takes) and Django's (`30s`, `5m`, `2h`, `1d`, what `reproq reclaim --older-than`
 * takes), plus a bare `0`. `field` names the flag in the error.
 */
export function parseDuration(text: string, field = 'duration'): number {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') throw new ValidationError(field, 'empty duration; use forms like 30s, 5m, 2h, 1d, 1m30s');
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) {
      throw new ValidationError(field, `invalid duration ${JSON.stringify(text)}; use forms like 30s, 5m, 2h, 1d, 1m30s`);
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Math.round(total);
}
