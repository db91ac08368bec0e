import * as z from 'zod/mini';
import { z as z4 } from 'zod';
import { defineTask, TaskRegistry } from '../src/tasks/registry.ts';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/http/app.ts';
import { EnqueueResponseSchema } from '../src/http/api.ts';
import { ROUTES } from '../src/http/task-routes.ts';
import { silentLogger } from '../src/logger.ts';
import { useTestDb } from './support/db.ts';
import { TOKEN, bearer, dbSnapshot, httpConfig, testRegistry } from './support/http.ts';

const t = useTestDb('pg', 'task_runs, reproq_workers, periodic_tasks, reproq_queue_controls');
const app = () => createApp({ config: httpConfig(), registry: testRegistry(), db: t.db, logger: silentLogger });

/** Sends a request and checks the answer against the route's response schema when it succeeds. */
async function call(route: keyof typeof ROUTES, path: string, init: RequestInit = {}) {
  const spec = ROUTES[route];
  const res = await app().request(path, { method: spec.method.toUpperCase(), ...init, headers: { ...bearer(TOKEN), ...init.headers } });
  const body = (await res.json()) as any;
  if (res.status < 300) {
    expect(res.status).toBe(spec.status);
    const parsed = z.safeParse(spec.response, body);
    expect(parsed.success, `${route}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
  }
  return { status: res.status, body, headers: res.headers };
}
const jsonBody = (body: unknown): RequestInit => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function task(status = 'READY', extra = ''): Promise<number> {
  const r = await t.db.query<{ result_id: number }>(
    `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, attempts ${extra ? ', last_error, failed_at' : ''})
     VALUES (jsonb_build_object('task_path', 'tasks.echo', 'args', jsonb_build_array(random()), 'kwargs', '{}'::jsonb), md5(random()::text) || md5(random()::text), 'tasks.echo', $1, 0 ${extra ? `, '${extra}', NOW()` : ''})
     RETURNING result_id`,
    [status],
  );
  return r.rows[0]!.result_id;
}

describe('POST /enqueue checks the arguments of the tasks this process has', () => {
  const sendEmail = defineTask({ path: 'app.tasks.send_email', kwargs: z4.object({ to: z4.email() }), handler: () => null });
  const post = (body: unknown) =>
    createApp({ config: httpConfig(), registry: new TaskRegistry([sendEmail]), db: t.db, logger: silentLogger }).request('/enqueue', {
      method: 'POST',
      headers: { ...bearer(TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('a registered task with a bad argument is a 400 naming the field, and nothing is written', async () => {
    const before = await dbSnapshot(t.db);
    const bad = await post({ taskPath: 'app.tasks.send_email', kwargs: { to: 1 } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_input', field: 'kwargs.to' } });
    const bulk = await post([{ taskPath: 'app.tasks.send_email', kwargs: { to: 'ada@example.com' } }, { taskPath: 'app.tasks.send_email', kwargs: { to: 'nope' } }]);
    expect(await bulk.json()).toMatchObject({ error: { field: '[1].kwargs.to' } });
    expect(await dbSnapshot(t.db)).toBe(before);
  });

  it('says whether the task is registered here; an unregistered one is accepted with a note', async () => {
    const ok = await post({ taskPath: 'app.tasks.send_email', kwargs: { to: 'ada@example.com' } });
    const okBody = await ok.json();
    expect([ok.status, okBody]).toEqual([201, expect.objectContaining({ registered: true })]);
    expect(okBody).not.toHaveProperty('note');
    const other = await post({ taskPath: 'billing.tasks.invoice', kwargs: { to: 1 } });
    const body = await other.json();
    expect(other.status).toBe(201);
    expect(body).toMatchObject({ registered: false, note: expect.stringContaining('billing.tasks.invoice is not registered in this process') });
    expect(z.safeParse(EnqueueResponseSchema, body).success).toBe(true);
  });
});

describe('the domain API over HTTP', () => {
  it('GET /tasks/:id answers the core task view; 404 names the id', async () => {
    const id = await task();
    const got = await call('getTask', `/tasks/${id}`);
    expect(got.body).toMatchObject({ result_id: id, status: 'READY', args: [expect.any(Number)], kwargs: {}, workflow: null });
    expect(await call('getTask', '/tasks/9999')).toMatchObject({ status: 404, body: { error: { code: 'not_found', field: 'id' } } });
  });

  it('cancel, retry and replay answer 200/201 with the core results, 409 when the state forbids it', async () => {
    const [ready, failed] = [await task(), await task('FAILED', 'boom')];
    expect((await call('cancel', `/tasks/${ready}/cancel`)).body).toEqual({ resultId: ready, before: 'READY', after: 'CANCELLED', changed: true, outcome: 'cancelled', dependants: 0 });
    expect(await call('retry', `/tasks/${ready}/retry`)).toMatchObject({ status: 409, body: { error: { code: 'invalid_state', field: 'id' } } });
    expect((await call('retry', `/tasks/${failed}/retry`)).body).toEqual({ retried: [failed], resumed: 0 });

    const replay = await call('replay', `/tasks/${ready}/replay`);
    expect(replay.body).toMatchObject({ sourceId: ready });
    expect(replay.headers.get('location')).toBe(`/tasks/${replay.body.resultId}`);
    // The copy is READY with the same spec: a second copy would be a second active row.
    expect(await call('replay', `/tasks/${ready}/replay`)).toMatchObject({ status: 409, body: { error: { code: 'active_spec_conflict' } } });
    expect(await call('cancel', '/tasks/0/cancel')).toMatchObject({ status: 400, body: { error: { field: 'id' } } });
  });

  it('lists and retries the dead-letter queue', async () => {
    const [a, b] = [await task('FAILED', 'one'), await task('FAILED', 'two')];
    expect((await call('listFailed', '/tasks/failed?limit=10')).body.tasks.map((x: { result_id: number }) => x.result_id).sort()).toEqual([a, b].sort());
    expect(await call('listFailed', '/tasks/failed?limit=0')).toMatchObject({ status: 400, body: { error: { field: 'limit' } } });
    expect((await call('retryFailed', '/tasks/failed/retry')).body.retried.sort()).toEqual([a, b].sort());
  });

  it('pauses and resumes queues, with or without a body', async () => {
    await task();
    expect((await call('pause', '/queues/default/pause', jsonBody({ reason: 'deploy' }))).body).toMatchObject({ queue: 'default', paused: true, reason: 'deploy' });
    expect((await call('queues', '/queues')).body.queues).toEqual([expect.objectContaining({ queue: 'default', ready: 1, paused: true, reason: 'deploy' })]);
    expect((await call('resume', '/queues/default/resume')).body).toEqual({ queue: 'default', paused: false, pausedAt: null, reason: '' });
    expect((await call('pause', '/queues/other/pause')).body).toMatchObject({ queue: 'other', paused: true, reason: '' });
    expect(await call('pause', '/queues/other/pause', jsonBody({ reson: 'typo' }))).toMatchObject({ status: 400, body: { error: { field: 'reson' } } });
  });

  it('manages periodic tasks; a bad cron expression is a 400 naming cronExpr and writes nothing', async () => {
    const put = await call('putPeriodic', '/periodic/nightly', { method: 'PUT', ...jsonBody({ cronExpr: '0 3 * * *', taskPath: 'tasks.echo', kwargs: { full: true } }) });
    expect(put.body).toMatchObject({ name: 'nightly', cronExpr: '0 3 * * *', payload: { args: [], kwargs: { full: true } }, enabled: true });
    const before = await dbSnapshot(t.db);
    expect(await call('putPeriodic', '/periodic/broken', { method: 'PUT', ...jsonBody({ cronExpr: '61 * * * *', taskPath: 'tasks.echo' }) })).toMatchObject({ status: 400, body: { error: { field: 'cronExpr' } } });
    expect(await dbSnapshot(t.db)).toBe(before);
    expect((await call('disablePeriodic', '/periodic/nightly/disable')).body).toMatchObject({ name: 'nightly', enabled: false });
    expect((await call('enablePeriodic', '/periodic/nightly/enable')).body).toMatchObject({ enabled: true });
    expect((await call('listPeriodic', '/periodic')).body.periodicTasks).toHaveLength(1);
    expect((await call('deletePeriodic', '/periodic/nightly')).body).toEqual({ deleted: true });
    expect(await call('deletePeriodic', '/periodic/nightly')).toMatchObject({ status: 404, body: { error: { field: 'name' } } });
  });

  it('every route needs the operator token, and every schema converts to JSON Schema', async () => {
    for (const [name, spec] of Object.entries(ROUTES)) {
      const res = await app().request(spec.path.replace(':id', '1').replace(':queue', 'q').replace(':name', 'n'), { method: spec.method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: spec.method === 'get' ? undefined : '{}' });
      expect(res.status, name).toBe(401);
      for (const schema of [spec.response, 'params' in spec ? spec.params : undefined, 'query' in spec ? spec.query : undefined, 'body' in spec ? spec.body : undefined]) {
        if (schema) expect(() => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), name).not.toThrow();
      }
    }
  });
});
