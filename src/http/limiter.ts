/**
 * Upstream's auth failure limiter (reproq-worker internal/web): it counts only denied requests,
 * per client host, in a fixed window. The first `limit` denials of a window get their 401/403;
 * after that the host gets 429 until the window rolls over. State lives in memory, so on a
 * serverless platform it is per instance (a Worker isolate, a warm Lambda): it slows a guesser
 * down, it is not a global quota.
 */
export interface LimiterOptions {
  limit: number;
  windowMs: number;
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  windowStart: number;
  count: number;
  lastSeen: number;
}

export class AuthFailureLimiter {
  readonly #entries = new Map<string, Entry>();
  readonly #opts: Required<LimiterOptions>;
  #lastCleanup = -Infinity;

  constructor(opts: LimiterOptions) {
    this.#opts = { ...opts, now: opts.now ?? (() => Date.now()) };
  }

  /** Records a denial for `host`; true when the host is over the limit (answer 429). */
  deny(host: string): boolean {
    const { limit, windowMs, now } = this.#opts;
    const t = now();
    this.#cleanup(t);
    const key = host || 'unknown';
    let entry = this.#entries.get(key);
    if (!entry || t - entry.windowStart >= windowMs) {
      entry = { windowStart: t, count: 0, lastSeen: t };
      this.#entries.set(key, entry);
    }
    entry.lastSeen = t;
    if (entry.count >= limit) return true;
    entry.count++;
    return false;
  }

  get size(): number {
    return this.#entries.size;
  }

  #cleanup(t: number): void {
    const { windowMs, maxEntries } = this.#opts;
    // Before an insert that would pass the cap, and at least once per window.
    if (this.#entries.size < maxEntries && t - this.#lastCleanup < windowMs) return;
    this.#lastCleanup = t;
    for (const [key, e] of this.#entries) if (t - e.lastSeen >= 2 * windowMs) this.#entries.delete(key);
    // Still over the cap: drop the oldest inserted, as upstream drops arbitrary ones.
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < maxEntries) break;
      this.#entries.delete(key);
    }
  }
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go duration text (`1m`, `90s`, `1m30s`) as validated by the config schema → milliseconds. */
export function goDurationMs(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * UNIT_MS[unit!]!;
  return total;
}
