/** Text for the dashboard's cells: counts, durations and times, all in UTC. */

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 42 s, 3 min, 2 h 5 min, 3 d 4 h. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86_400)} d${s % 86_400 >= 3600 ? ` ${Math.floor((s % 86_400) / 3600)} h` : ''}`;
}

export function toDate(v: Date | string | null | undefined): Date | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** 2026-05-01 12:34:56 UTC */
export function utc(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "3 min ago" or "in 5 min", relative to `now`. */
export function relative(d: Date, now: Date): string {
  const s = (d.getTime() - now.getTime()) / 1000;
  if (Math.abs(s) < 1) return 'now';
  return s > 0 ? `in ${duration(s)}` : `${duration(-s)} ago`;
}
