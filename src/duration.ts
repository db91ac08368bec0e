import { ValidationError } from './errors.ts';

/** Milliseconds per unit of Go's time.ParseDuration. */
const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration as upstream's Go worker does (`300ms`, `1h30m`, `1.5s`; units ns/us/µs/ms/s/m/h)
 * and, as upstream's REPROQ_MEMORY_LOG_INTERVAL does, bare digits as seconds. Returns milliseconds.
 * A malformed value is a ValidationError naming `field` (the flag or key it came from).
 */
export function parseDuration(text: string, field = 'duration'): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const part = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = part.lastIndex;
  }
  if (s === '' || matched !== s.length) {
    throw new ValidationError(field, `${JSON.stringify(text)} is not a duration (use e.g. 300ms, 30s, 5m, 1h30m, or seconds)`);
  }
  return total;
}
