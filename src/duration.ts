import { ValidationError } from './errors.ts';

/** Milliseconds per unit: Go's time.ParseDuration units plus Django's `d`. */
const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Milliseconds of a duration flag or key. Accepts Go's syntax (`300ms`, `1h30m`, `1.5s`: what
 * reproq-worker's `--interval` takes), Django's (`30s`, `5m`, `2h`, `1d`: what
 * `reproq reclaim --older-than` takes). A malformed value is a ValidationError naming `field`.
 */
export function parseDuration(text: string, field = 'duration'): number {
  const s = text.trim();
  // Go's ParseDuration wants a unit on every number but a lone 0.
  if (s === '0') return 0;
  const part = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/y;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = part.lastIndex;
  }
  if (s === '' || matched !== s.length) {
    throw new ValidationError(field, `${JSON.stringify(text)} is not a duration (use e.g. 300ms, 30s, 5m, 1h30m, 1d)`);
  }
  return total;
}
