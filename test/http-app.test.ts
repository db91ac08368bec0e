import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { pgDb } from '../src/db/pg.ts';
import { createApp, type AppOptions } from '../src/http/app.ts';
import { jobBudgetMs } from '../src/jobs.ts';
import { consoleLogger, silentLogger } from '../src/logger.ts';
import { openDb, useTestDb } from './support/db.ts';
import { CRON, TOKEN, bearer, dbSnapshot, httpConfig, recordingOps, testRegistry } from './support/http.ts';

const t = useTestDb('pg', 'task_runs, reproq_workers, periodic_tasks');

function app(env: Record<string, string> = {}, extra: Partial<AppOptions> = {}) {
  return createApp({ config: httpConfig(env), registry: testRegistry(), db: t.db, logger: silentLogger, ...extra });
}

const json = (body: unknown, headers: Record<string, string> = bearer(TOKEN)) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe('routes', () => {
  it('enqueue over HTTP, drain, then read the result', async () => {
    const a = app();
    const put = await a.request('/enqueue', json({ taskPath: 'tasks.echo', args: [1, 'two'] }));
    expect(put.status).toBe(201);
    const created = await put.json() as any;
    expect(put.headers.get('location')).toBe(`/tasks/${created.resultId}`);
    expect(created).toMatchObject({ resultId: 1, deduplicated: false });

    const before = await (await a.request(`/tasks/${created.resultId}`, { headers: bearer(TOKEN) })).json() as any;
    expect(before).toMatchObject({ result_id: 1, status: 'READY', attempts: 0, return_json: null });

    const drained = await a.request('/drain', json({ queues: ['default'], batchSize: 10, budgetMs: 5_000 }));
    expect(drained.status).toBe(200);
    expect(await drained.json() as any).toMatchObject({ claimed: 1, succeeded: 1, stoppedBecause: 'empty' });

    const after = await (await a.request(`/tasks/${created.resultId}`, { headers: bearer(TOKEN) })).json() as any;
    expect(after).toMatchObject({ status: 'SUCCESSFUL', attempts: 1, return_json: { echoed: [1, 'two'] }, errors_json: [] });
  });

  it('bulk enqueue is all or nothing, naming the bad item', async () => {
    const a = app();
    const ok = await a.request('/enqueue', json([{ taskPath: 'tasks.echo', args: [1] }, { taskPath: 'tasks.echo', args: [2] }]));
    expect(ok.status).toBe(201);
    expect((await ok.json() as any).results).toHaveLength(2);
    const before = await dbSnapshot(t.db);
    const bad = await a.request('/enqueue', json([{ taskPath: 'tasks.echo', args: [3] }, { taskPath: 'tasks.echo', priority: 'high' }]));
    expect(bad.status).toBe(400);
    expect(await bad.json() as any).toMatchObject({ error: { code: 'invalid_input', field: '[1].priority' } });
    expect(await dbSnapshot(t.db)).toBe(before);
  });

  it('reads drain parameters from the query string, capped by config', async () => {
    const a = app({ REPROQ_BATCH_SIZE: '7' });
    const res = await a.request('/drain?queues=default,other&batchSize=5&concurrency=2&budgetMs=1000', { method: 'POST', headers: bearer(TOKEN) });
    expect(res.status).toBe(200);
    const over = await a.request('/drain?batchSize=501', { method: 'POST', headers: bearer(TOKEN) });
    expect(over.status).toBe(400);
    expect(await over.json() as any).toMatchObject({ error: { field: 'batchSize' } });
  });

  it.each([
    ['an over-cap budget', json({ budgetMs: 60_001 }), 400, 'budgetMs'],
    ['an unknown key', json({ batchsize: 5 }), 400, 'batchsize'],
    ['a bad queue name', json({ queues: ['no spaces'] }), 400, 'queues.0'],
    ['a wrong type', json({ concurrency: '3' }), 400, 'concurrency'],
    ['malformed JSON', { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(TOKEN) }, body: '{"queues": [' }, 400, 'body'],
  ])('rejects %s with 400 naming the field', async (_name, init, status, field) => {
    const before = await dbSnapshot(t.db);
    const res = await app().request('/drain', init);
    expect(res.status).toBe(status);
    expect((await res.json() as any).error.field).toBe(field);
    expect(await dbSnapshot(t.db)).toBe(before);
  });

  it('refuses a body over http.max_body_bytes with 413', async () => {
    const res = await app({}).request('/enqueue', json({ taskPath: 'tasks.echo', args: ['x'.repeat(1024 * 1024 + 1)] }));
    expect(res.status).toBe(413);
    expect(await res.json() as any).toMatchObject({ error: { code: 'body_too_large', field: 'body' } });
  });

  it('refuses a non-JSON enqueue with 415 and a bad task id with 400', async () => {
    const a = app();
    const res = await a.request('/enqueue', { method: 'POST', headers: { 'content-type': 'text/plain', ...bearer(TOKEN) }, body: '{}' });
    expect(res.status).toBe(415);
    const id = await a.request('/tasks/abc', { headers: bearer(TOKEN) });
    expect(id.status).toBe(400);
    expect((await id.json() as any).error.field).toBe('id');
    expect((await a.request('/tasks/99', { headers: bearer(TOKEN) })).status).toBe(404);
  });

  it('runs beat and reclaim through injected ops', async () => {
    const ops = recordingOps();
    const a = app({}, { ops });
    expect(await (await a.request('/beat', json({ budgetMs: 2_000 }))).json() as any).toEqual({ op: 'beat' });
    expect((await a.request('/reclaim?dryRun=true&limit=5', { method: 'POST', headers: bearer(TOKEN) })).status).toBe(200);
    expect(ops.calls).toEqual([
      { op: 'beat', options: { budgetMs: 2_000 } },
      { op: 'reclaim', options: { dryRun: true, limit: 5, olderThanSeconds: undefined, action: undefined } },
    ]);
  });

  it('ticks the real beat: a due periodic task is enqueued, then drained', async () => {
    await t.db.query(`INSERT INTO periodic_tasks (name, cron_expr, task_path, payload_json, next_run_at)
                      VALUES ('every-minute', '* * * * *', 'tasks.echo', '["tick"]', now() - interval '1 second')`);
    const a = app();
    expect(await (await a.request('/beat', json({}))).json() as any).toMatchObject({ due: 1, enqueued: 1 });
    expect(await (await a.request('/drain', json({}))).json() as any).toMatchObject({ succeeded: 1 });
    const res = await t.db.query(`SELECT status, return_json FROM task_runs`);
    expect(res.rows).toEqual([{ status: 'SUCCESSFUL', return_json: { echoed: ['tick'] } }]);
  });

  it('reclaims an expired lease with the real reclaim', async () => {
    await t.db.query(`INSERT INTO task_runs (spec_json, spec_hash, task_path, status, leased_by, leased_until, attempts)
                      VALUES ('{"task_path":"tasks.echo","args":[],"kwargs":{}}', repeat('a', 64), 'tasks.echo', 'RUNNING', 'gone', now() - interval '1 minute', 1)`);
    const res = await app().request('/reclaim', json({ olderThanSeconds: 0 }));
    expect(await res.json() as any).toMatchObject({ matched: 1, requeued: 1, ids: [1] });
  });

  it('serves metrics, stats and healthz', async () => {
    const a = app();
    await a.request('/enqueue', json({ taskPath: 'tasks.echo' }));
    const m = await a.request('/metrics');
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await m.text()).toMatch(/^reproq_queue_depth 1$/m);
    expect(await (await a.request('/stats')).json() as any).toMatchObject({ tasks: { READY: 1 }, queues: { default: { READY: 1 } } });
    const h = await a.request('/healthz');
    expect([h.status, await h.text()]).toEqual([200, 'ok']);
  });

  it('mounts under REPROQ_ROUTE_PREFIX, or inside a user app', async () => {
    const prefixed = app({ REPROQ_ROUTE_PREFIX: '/api/queue' });
    expect((await prefixed.request('/api/queue/healthz')).status).toBe(200);
    expect((await prefixed.request('/healthz')).status).toBe(404);
    const put = await prefixed.request('/api/queue/enqueue', json({ taskPath: 'tasks.echo' }));
    expect(put.headers.get('location')).toMatch(/^\/api\/queue\/tasks\/\d+$/);
    const user = new Hono().get('/', (c) => c.text('home')).route('/jobs', app());
    expect(await (await user.request('/jobs/healthz')).text()).toBe('ok');
    expect(await (await user.request('/')).text()).toBe('home');
  });
});

describe('database outage', () => {
  // A port nothing listens on: every query fails to connect.
  const down = () => pgDb({ connectionString: 'postgres://postgres@127.0.0.1:1/none', max: 1 });

  it('answers 503 with Retry-After on every route, leaking no driver message', async () => {
    const dead = down();
    const a = app({}, { db: dead });
    for (const [path, init] of [
      ['/enqueue', json({ taskPath: 'tasks.echo' })],
      ['/drain', json({})],
      ['/beat', json({})],
      ['/reclaim', json({})],
      ['/tasks/1', { headers: bearer(TOKEN) }],
      ['/metrics', {}],
      ['/stats', {}],
    ] as const) {
      const res = await a.request(path, init);
      expect(res.status, path).toBe(503);
      expect(res.headers.get('retry-after'), path).toBe('5');
      expect(await res.text(), path).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    }
    const h = await a.request('/healthz');
    expect([h.status, await h.text()]).toEqual([503, 'unhealthy']);
    await dead.close();
  });

  it('logs a Neon WebSocket failure by its message, not as [object Object]', async () => {
    const lines: string[] = [];
    const logger = consoleLogger({}, (line) => lines.push(line));
    const dead = await openDb('neon-ws', 'postgres://postgres@127.0.0.1:1/none', 1);
    try {
      const res = await app({}, { db: dead, logger }).request('/enqueue', json({ taskPath: 'tasks.echo' }));
      expect(res.status).toBe(503);
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; error?: string }).find((l) => l.msg === 'request failed');
      expect(logged?.error).toBeTruthy();
      expect(logged?.error).not.toMatch(/\[object /);
    } finally {
      await dead.close();
    }
  });

  it('a per-request connection that cannot be opened is a 503 too', async () => {
    const a = createApp({ config: httpConfig(), registry: testRegistry(), connect: () => down(), logger: silentLogger });
    const res = await a.request('/enqueue', json({ taskPath: 'tasks.echo' }));
    expect(res.status).toBe(503);
  });
});

describe('operator auth', () => {
  it.each([
    ['no header', {}, 401],
    ['a wrong token', bearer('nope'), 401],
    ['a malformed header', { Authorization: 'Token abc' }, 400],
    ['the metrics token', bearer('metrics-token-789'), 401],
  ])('refuses %s', async (_name, headers, status) => {
    const res = await app({ METRICS_AUTH_TOKEN: 'metrics-token-789' }).request('/enqueue', json({ taskPath: 'tasks.echo' }, headers));
    expect(res.status).toBe(status);
    expect((await res.json() as any).error.code).toBe('unauthorized');
  });

  it('accepts CRON_SECRET on the cron routes only', async () => {
    const a = app({ CRON_SECRET: CRON });
    expect((await a.request('/drain', json({}, bearer(CRON)))).status).toBe(200);
    expect((await a.request('/beat', json({}, bearer(CRON)))).status).toBe(200);
    expect((await a.request('/enqueue', json({ taskPath: 'tasks.echo' }, bearer(CRON)))).status).toBe(401);
    expect((await a.request('/tasks/1', { headers: bearer(CRON) })).status).toBe(401);
  });

  it('refuses to serve mutating routes with no token configured, unless allow_insecure', async () => {
    const config = httpConfig({ REPROQ_AUTH_TOKEN: '' });
    const closed = createApp({ config, registry: testRegistry(), db: t.db, logger: silentLogger });
    const res = await closed.request('/enqueue', json({ taskPath: 'tasks.echo' }, {}));
    expect(res.status).toBe(503);
    expect((await res.json() as any).error).toMatchObject({ code: 'auth_not_configured', message: expect.stringContaining('REPROQ_AUTH_TOKEN') });
    expect((await closed.request('/healthz')).status).toBe(200);
    const open = app({ REPROQ_AUTH_TOKEN: '', REPROQ_ALLOW_INSECURE: 'true' });
    expect((await open.request('/enqueue', json({ taskPath: 'tasks.echo' }, {}))).status).toBe(201);
  });
});

describe('job budget', () => {
  it('is the asked budget, else drain.budget_ms, never above what the platform has left', () => {
    const config = httpConfig({ REPROQ_BUDGET_MS: '20000' });
    expect(jobBudgetMs(config, undefined)).toBe(20_000);
    expect(jobBudgetMs(config, 5_000)).toBe(5_000);
    expect(jobBudgetMs(config, 50_000, 27_000)).toBe(27_000);
    expect(jobBudgetMs(config, undefined, 400.7)).toBe(400);
    // A platform nearly out of time still yields a budget the drain accepts (it then stops at once).
    expect(jobBudgetMs(config, undefined, -50)).toBe(100);
  });
});
