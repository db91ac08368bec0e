/** Upstream's retry delay: min(base·2^(attempt−1), cap) seconds; `jitter` spreads it over [d/2, d]. */
export interface RetryPolicy {
  baseSeconds: number;
  maxSeconds: number;
  jitter: boolean;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseSeconds: 30, maxSeconds: 3600, jitter: false };

export function retryDelaySeconds(attempt: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY, random = Math.random): number {
  const exponent = Math.max(attempt - 1, 0);
  // 2^exponent overflows to Infinity long before it matters; the cap keeps the result finite.
  const delay = Math.min(policy.baseSeconds * 2 ** exponent, policy.maxSeconds);
  return policy.jitter ? delay / 2 + random() * (delay / 2) : delay;
}
