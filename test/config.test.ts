import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.ts';
import { configFromEnv, effectiveDsn, envLayer, flatten, resolveConfig } from '../src/config.ts';

const fileLayer = (obj: Record<string, unknown>) => ({ values: flatten(obj), source: () => 'file:reproq.yaml' as const });

describe('config', () => {
  it('has upstream defaults', () => {
    const c = configFromEnv({});
    expect(c.worker).toMatchObject({ queues: ['default'], concurrency: 10, lease_seconds: 300, priority_aging_factor: 60 });
    expect(c.metrics).toMatchObject({ auth_limit: 30, auth_window: '1m', auth_max_entries: 1000 });
    expect(c.http).toMatchObject({ allow_insecure: false, trust_proxy: 'none', route_prefix: '' });
  });

  it('parses env lists like upstream: trims, drops empties, ignores set-but-empty', () => {
    const c = configFromEnv({ QUEUE_NAMES: 'alpha, beta,,gamma', ALLOWED_TASK_MODULES: '', REPROQ_ALLOW_INSECURE: 'yes' });
    expect(c.worker.queues).toEqual(['alpha', 'beta', 'gamma']);
    expect(c.worker.allowed_task_modules).toEqual([]);
    expect(c.http.allow_insecure).toBe(true);
  });

  it('applies defaults < file < env < flags and records each source', () => {
    const flags = { values: { 'worker.concurrency': 7 }, source: () => 'flag:--concurrency' as const };
    const { config, sources } = resolveConfig([
      fileLayer({ dsn: 'postgres://file', worker: { concurrency: 4, queues: ['q1'] } }),
      envLayer({ DATABASE_URL: 'postgres://env' }),
      flags,
    ]);
    expect(config.dsn).toBe('postgres://env');
    expect(config.worker.concurrency).toBe(7);
    expect(config.worker.queues).toEqual(['q1']);
    expect(sources).toMatchObject({ dsn: 'env:DATABASE_URL', 'worker.concurrency': 'flag:--concurrency', 'worker.queues': 'file:reproq.yaml' });
  });

  it('lets worker.dsn override dsn, and names DATABASE_URL when there is none', () => {
    const { config } = resolveConfig([fileLayer({ dsn: 'postgres://a', worker: { dsn: 'postgres://b' } })]);
    expect(effectiveDsn(config)).toBe('postgres://b');
    expect(() => effectiveDsn(configFromEnv({}))).toThrow(/DATABASE_URL/);
  });

  it.each([
    [() => configFromEnv({ METRICS_AUTH_LIMIT: 'x' }), 'METRICS_AUTH_LIMIT'],
    [() => configFromEnv({ REPROQ_TRUST_PROXY: 'maybe' }), 'env:REPROQ_TRUST_PROXY'],
    [() => resolveConfig([fileLayer({ worker: { concurency: 3 } })]), 'worker.concurency (file:reproq.yaml)'],
    [() => resolveConfig([fileLayer({ worker: { concurrency: 'many' } })]), 'worker.concurrency (file:reproq.yaml)'],
    [() => resolveConfig([fileLayer({ beat: { interval: '5x' } })]), 'beat.interval'],
  ])('rejects bad values naming the key and its source (%#)', (fn, name) => {
    const err = (() => {
      try {
        fn();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toContain(name);
  });
});
