import type { Context } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/http/app.ts';
import { AuthFailureLimiter } from '../src/http/limiter.ts';
import { silentLogger } from '../src/logger.ts';
import { useTestDb } from './support/db.ts';
import { METRICS, TOKEN, bearer, httpConfig, testRegistry, tuiToken } from './support/http.ts';

// The comparison must be hono's constant-time one: wrap it to see it called with what was presented.
const compared = vi.hoisted(() => [] as [unknown, unknown][]);
vi.mock('hono/utils/buffer', async (original) => {
  const mod = await original<typeof import('hono/utils/buffer')>();
  return {
    ...mod,
    timingSafeEqual: (a: string, b: string) => {
      compared.push([a, b]);
      return mod.timingSafeEqual(a, b);
    },
  };
});

const t = useTestDb('pg', 'task_runs, reproq_workers, periodic_tasks');

/** The peer address a runtime adapter would report (a socket, API Gateway's sourceIp). */
const peer = (address: string) => (_c: Context) => ({ remote: { address } });

function app(env: Record<string, string>, connInfo = peer('192.0.2.10'), limiter?: AuthFailureLimiter) {
  return createApp({ config: httpConfig(env), registry: testRegistry(), db: t.db, logger: silentLogger, connInfo, limiter });
}

describe('timing-safe comparison', () => {
  it('compares bearer tokens with hono timingSafeEqual, against every configured token', async () => {
    compared.length = 0;
    const a = app({ CRON_SECRET: 'cron-secret' });
    expect((await a.request('/drain', { method: 'POST', headers: bearer('guess') })).status).toBe(401);
    expect(compared).toEqual([
      [TOKEN, 'guess'],
      ['cron-secret', 'guess'],
    ]);
    compared.length = 0;
    expect((await a.request('/drain', { method: 'POST', headers: bearer(TOKEN) })).status).toBe(200);
    expect(compared).toContainEqual([TOKEN, TOKEN]);
  });
});

describe('metrics CIDR allowlist', () => {
  const allow = { METRICS_ALLOW_CIDRS: '10.0.0.0/8, localhost, 2001:db8::/32' };

  it.each([
    ['none: the peer address', {}, peer('10.1.2.3'), {}, 200],
    ['none: a disallowed peer', {}, peer('192.0.2.1'), {}, 403],
    ['none: loopback via localhost', {}, peer('127.0.0.1'), {}, 200],
    ['none: an IPv4-mapped peer', {}, peer('::ffff:10.9.9.9'), {}, 200],
    ['none: IPv6 in range', {}, peer('2001:db8::1'), {}, 200],
    ['none: ignores X-Forwarded-For', {}, peer('192.0.2.1'), { 'x-forwarded-for': '10.0.0.1' }, 403],
    ['none: ignores CF-Connecting-IP', {}, peer('192.0.2.1'), { 'cf-connecting-ip': '10.0.0.1' }, 403],
    ['cf-connecting-ip: allowed', { REPROQ_TRUST_PROXY: 'cf-connecting-ip' }, peer('192.0.2.1'), { 'cf-connecting-ip': '10.0.0.1' }, 200],
    ['cf-connecting-ip: denied', { REPROQ_TRUST_PROXY: 'cf-connecting-ip' }, peer('10.0.0.1'), { 'cf-connecting-ip': '192.0.2.1' }, 403],
    ['cf-connecting-ip: missing', { REPROQ_TRUST_PROXY: 'cf-connecting-ip' }, peer('10.0.0.1'), {}, 403],
    ['x-forwarded-for, 1 hop: last entry', { REPROQ_TRUST_PROXY: 'x-forwarded-for' }, peer('192.0.2.1'), { 'x-forwarded-for': '192.0.2.7, 10.0.0.5' }, 200],
    ['x-forwarded-for, 1 hop: a forged left entry', { REPROQ_TRUST_PROXY: 'x-forwarded-for' }, peer('10.0.0.1'), { 'x-forwarded-for': '10.0.0.5, 192.0.2.7' }, 403],
    ['x-forwarded-for, 2 hops', { REPROQ_TRUST_PROXY: 'x-forwarded-for', REPROQ_TRUSTED_HOPS: '2' }, peer('192.0.2.1'), { 'x-forwarded-for': '1.1.1.1, 10.0.0.5, 192.0.2.9' }, 200],
    ['x-forwarded-for, 2 hops: denied', { REPROQ_TRUST_PROXY: 'x-forwarded-for', REPROQ_TRUSTED_HOPS: '2' }, peer('10.0.0.1'), { 'x-forwarded-for': '10.0.0.5, 192.0.2.8, 10.0.0.9' }, 403],
    ['x-forwarded-for: garbage', { REPROQ_TRUST_PROXY: 'x-forwarded-for' }, peer('10.0.0.1'), { 'x-forwarded-for': 'not-an-ip' }, 403],
  ])('%s', async (_name, env, connInfo, headers, status) => {
    const res = await app({ ...allow, ...env }, connInfo).request('/stats', { headers });
    expect(res.status).toBe(status);
    if (status === 403) expect((await res.json() as any).error.code).toBe('forbidden');
  });

  it('applies to healthz and metrics too, not to the operator routes', async () => {
    const a = app(allow, peer('192.0.2.1'));
    expect((await a.request('/healthz')).status).toBe(403);
    expect((await a.request('/metrics')).status).toBe(403);
    expect((await a.request('/tasks/1', { headers: bearer(TOKEN) })).status).toBe(404);
  });

  it('fails at startup on an invalid entry, naming the variable', () => {
    expect(() => app({ METRICS_ALLOW_CIDRS: '10.0.0.0/99' })).toThrow(/METRICS_ALLOW_CIDRS/);
  });
});

describe('metrics token and TUI JWT', () => {
  const env = { METRICS_AUTH_TOKEN: METRICS };
  const now = () => Math.floor(Date.now() / 1000);

  it('is open with no METRICS_AUTH_TOKEN, as upstream', async () => {
    expect((await app({}).request('/metrics')).status).toBe(200);
  });

  it.each([
    ['the metrics token', async () => METRICS, 200],
    ['the operator token', async () => TOKEN, 200],
    ['a valid TUI JWT', () => tuiToken(METRICS), 200],
    ['a JWT for reproq-worker', () => tuiToken(METRICS, { aud: 'reproq-worker' }), 200],
    ['a JWT with an audience list', () => tuiToken(METRICS, { aud: ['x', 'reproq-tui'] }), 200],
    ['a JWT without iss', () => tuiToken(METRICS, { iss: undefined }), 200],
    ['an expired JWT', () => tuiToken(METRICS, { exp: now() - 10 }), 401],
    ['a JWT for another audience', () => tuiToken(METRICS, { aud: 'grafana' }), 401],
    ['a JWT without aud', () => tuiToken(METRICS, { aud: undefined }), 401],
    ['a JWT from another issuer', () => tuiToken(METRICS, { iss: 'someone' }), 401],
    ['a JWT of a non-superuser', () => tuiToken(METRICS, { superuser: false }), 401],
    ['a JWT signed with another secret', () => tuiToken('other-secret'), 401],
    ['a wrong token', async () => 'nope', 401],
  ])('%s → %i', async (_name, token, status) => {
    const res = await app(env).request('/metrics', { headers: bearer(await token()) });
    expect(res.status).toBe(status);
  });

  it('refuses a missing header', async () => {
    const res = await app(env).request('/stats');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

describe('auth failure rate limit', () => {
  it('answers 429 after METRICS_AUTH_LIMIT denials per client in a window, then recovers', async () => {
    let t = 0;
    const limiter = new AuthFailureLimiter({ limit: 3, windowMs: 60_000, maxEntries: 100, now: () => t });
    const a = app({ METRICS_AUTH_LIMIT: '3', METRICS_AUTH_WINDOW: '1m' }, peer('198.51.100.1'), limiter);
    const other = app({}, peer('198.51.100.2'), limiter);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await a.request('/enqueue', { method: 'POST', headers: bearer('guess') })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const limited = await a.request('/drain', { method: 'POST', headers: bearer('guess') });
    expect(limited.headers.get('retry-after')).toBe('60');
    expect((await limited.json() as any).error.code).toBe('rate_limited');
    // Another client is not affected; a correct token is never counted.
    expect((await other.request('/drain', { method: 'POST', headers: bearer('guess') })).status).toBe(401);
    expect((await a.request('/drain', { method: 'POST', headers: bearer(TOKEN) })).status).toBe(200);
    t += 60_000;
    expect((await a.request('/drain', { method: 'POST', headers: bearer('guess') })).status).toBe(401);
  });

  it('counts CIDR denials too, and keeps at most auth_max_entries hosts', async () => {
    const limiter = new AuthFailureLimiter({ limit: 1, windowMs: 60_000, maxEntries: 2, now: () => 0 });
    const a = app({ METRICS_ALLOW_CIDRS: '10.0.0.0/8' }, peer('192.0.2.1'), limiter);
    expect((await a.request('/metrics')).status).toBe(403);
    expect((await a.request('/metrics')).status).toBe(429);
    for (const host of ['a', 'b', 'c', 'd']) limiter.deny(host);
    expect(limiter.size).toBeLessThanOrEqual(2);
  });
});
