import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import { ipRestriction } from 'hono/ip-restriction';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { Config } from '../config.ts';
import { describeError } from '../db/errors.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { jsonError } from './errors.ts';
import { AuthFailureLimiter, goDurationMs } from './limiter.ts';
import { verifyTuiToken } from './tui-jwt.ts';

export interface AuthSetup {
  config: Config;
  clientIp: (c: Context) => string | undefined;
  limiter: AuthFailureLimiter;
  log: Logger;
}

export function createLimiter(config: Config, now?: () => number): AuthFailureLimiter {
  const m = config.metrics;
  return new AuthFailureLimiter({ limit: m.auth_limit, windowMs: goDurationMs(m.auth_window), maxEntries: m.auth_max_entries, now });
}

/** True when `presented` equals one of `tokens`; every token is compared, each in constant time. */
export async function matchesAny(presented: string, tokens: readonly string[]): Promise<boolean> {
  const results = await Promise.all(tokens.map((t) => timingSafeEqual(t, presented)));
  return results.includes(true);
}

/** Counts and logs one refused request of this client; true when it is over the limit (answer 429). */
export function countDenial(c: Context, auth: AuthSetup): boolean {
  const host = auth.clientIp(c) ?? 'unknown';
  const limited = auth.limiter.deny(host);
  auth.log.warn('request denied', { path: c.req.path, method: c.req.method, remote_host: host, rate_limited: limited });
  return limited;
}

/**
 * Answers a refused request as upstream does: the denial is counted per client, and past the
 * limit the answer is 429 instead of 401/403, so guessing a token gets slow.
 */
function deny(c: Context, auth: AuthSetup, status: 400 | 401 | 403, headers?: Record<string, string>): Response {
  if (countDenial(c, auth)) {
    const retry = String(Math.ceil(goDurationMs(auth.config.metrics.auth_window) / 1000));
    return jsonError(c, 429, 'rate_limited', 'too many failed authentications; retry later', undefined, { 'Retry-After': retry });
  }
  if (status === 403) return jsonError(c, 403, 'forbidden', 'this client address is not allowed');
  const message = status === 400 ? 'the Authorization header is not "Bearer <token>"' : 'a valid bearer token is required';
  return jsonError(c, status, 'unauthorized', message, 'authorization', headers);
}

/**
 * Runs one of hono's guards with its refusals counted by the limiter and answered in the app's
 * JSON. Only the guard's own refusal is a denial; an error from the route behind it passes through.
 */
function counted(guard: MiddlewareHandler, auth: AuthSetup, refuse: (c: Context, err: HTTPException) => Response): MiddlewareHandler {
  return async (c, next) => {
    let passed = false;
    try {
      return await guard(c, async () => {
        passed = true;
        await next();
      });
    } catch (err) {
      if (passed || !(err instanceof HTTPException)) throw err;
      return refuse(c, err);
    }
  };
}

function bearer(auth: AuthSetup, verifyToken: (token: string) => Promise<boolean>): MiddlewareHandler {
  return counted(bearerAuth({ verifyToken }), auth, (c, err) => {
    const challenge = err.getResponse().headers.get('WWW-Authenticate');
    return deny(c, auth, err.status === 400 ? 400 : 401, challenge ? { 'WWW-Authenticate': challenge } : undefined);
  });
}

/**
 * Routes that change the queue or read task results: REPROQ_AUTH_TOKEN, and on the routes a
 * platform cron calls, Vercel's CRON_SECRET too. With no credential configured they refuse to
 * serve (503) unless `http.allow_insecure` says this is a development server.
 */
export function operatorAuth(auth: AuthSetup, opts: { cron: boolean }): MiddlewareHandler {
  const { auth_token, cron_secret, allow_insecure } = auth.config.http;
  const tokens = [auth_token, opts.cron ? cron_secret : undefined].filter((t): t is string => !!t);
  if (tokens.length === 0) {
    return async (c, next) => {
      if (allow_insecure) return next();
      return jsonError(
        c,
        503,
        'auth_not_configured',
        'this route needs REPROQ_AUTH_TOKEN to be set (or REPROQ_ALLOW_INSECURE=true on a development server)',
      );
    };
  }
  return bearer(auth, (token) => matchesAny(token, tokens));
}

/**
 * /metrics, /stats and /healthz, as upstream's `authorize`: first the CIDR allowlist
 * (METRICS_ALLOW_CIDRS), then, if METRICS_AUTH_TOKEN is set, a bearer that is that token or an
 * HS256 JWT signed with it (the TUI's). The operator token and CRON_SECRET are also accepted: a
 * holder of either may already do more than read metrics.
 */
export function metricsAuth(auth: AuthSetup): MiddlewareHandler[] {
  const { allow_cidrs, auth_token: metricsToken } = auth.config.metrics;
  const guards: MiddlewareHandler[] = [];
  const allowList = allow_cidrs.flatMap((e) => (e.trim() === 'localhost' ? ['127.0.0.1/32', '::1/128'] : [e.trim()])).filter(Boolean);
  if (allowList.length > 0) {
    let restrict: MiddlewareHandler;
    try {
      restrict = ipRestriction((c) => auth.clientIp(c) ?? '', { allowList }, (_remote, c) => deny(c, auth, 403));
    } catch (err) {
      throw new ConfigError('METRICS_ALLOW_CIDRS', `invalid metrics allowlist entry: ${describeError(err)}`);
    }
    // An unknown or unparsable address is refused like a disallowed one (hono throws for those).
    guards.push(counted(restrict, auth, (c) => deny(c, auth, 403)));
  }
  if (metricsToken) {
    const tokens = [metricsToken, auth.config.http.auth_token, auth.config.http.cron_secret].filter((t): t is string => !!t);
    guards.push(bearer(auth, async (token) => (await matchesAny(token, tokens)) || (await verifyTuiToken(token, metricsToken))));
  }
  return guards;
}
