import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createClient, ReproqHttpError, type ReproqClient } from '../src/client.ts';
import { ENDPOINTS, type EndpointName } from '../src/http/endpoints.ts';
import { openApiDocument } from '../src/http/openapi.ts';
import { silentLogger } from '../src/logger.ts';
import { defineTask, TaskRegistry } from '../src/tasks/registry.ts';
import { startNodeServer, type NodeServer } from '../workers/node.ts';
import { useTestDb } from './support/db.ts';
import { echo, httpConfig, METRICS, TOKEN } from './support/http.ts';
import { documentChecker } from './support/openapi.ts';

const t = useTestDb('pg', 'task_runs, reproq_workers, periodic_tasks, reproq_queue_controls');
const config = httpConfig({ METRICS_AUTH_TOKEN: METRICS, REPROQ_ROUTE_PREFIX: '/reproq' });
const boom = defineTask({ path: 'tasks.boom', handler: () => { throw new Error('boom'); } });
const doc = openApiDocument(config);
const checker = documentChecker(doc);

/** Every answer the server sent, checked against the document; and the routes that answered 2xx. */
const mismatches: string[] = [];
const succeeded = new Set<string>();
async function checkedFetch(url: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  const copy = res.clone();
  const type = copy.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await copy.json() : await copy.text();
  mismatches.push(...checker.check(init.method!, url, res.status, type, body));
  if (res.ok) succeeded.add(checker.operation(init.method!, url)!.op.operationId);
  return res;
}

let server: NodeServer;
let client: ReproqClient;
beforeAll(async () => {
  server = await startNodeServer({ config, registry: new TaskRegistry([echo, boom]), db: t.db, logger: silentLogger, port: 0, hostname: '127.0.0.1' });
  client = createClient({ baseUrl: `http://127.0.0.1:${server.port}/reproq`, token: TOKEN, fetch: checkedFetch });
});
afterAll(() => server?.close());
afterEach(() => {
  expect(mismatches.splice(0)).toEqual([]);
});

/** The client's error for a refused call. */
async function refusal(call: Promise<unknown>): Promise<ReproqHttpError> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ReproqHttpError);
  return err as ReproqHttpError;
}

describe('the typed client against a real server and PostgreSQL, every answer checked against /openapi.json', () => {
  it('enqueues one task and a bulk array, reads them, drains them and reads the results', async () => {
    const one = await client.enqueue({ json: { taskPath: 'tasks.echo', args: [1, 'two'] } });
    expectTypeOf(one.resultId).toEqualTypeOf<number>();
    expect(one).toMatchObject({ resultId: expect.any(Number), deduplicated: false, registered: true });
    const bulk = await client.enqueue({ json: [{ taskPath: 'tasks.echo', args: [3] }, { taskPath: 'other.tasks.elsewhere', queue: 'other' }] });
    expect(bulk.results).toHaveLength(2);
    expect(bulk.results[1]).toMatchObject({ registered: false, note: expect.stringContaining('not registered') });

    const before = await client.getTask({ param: { id: one.resultId } });
    expectTypeOf(before.status).toEqualTypeOf<string>();
    expect(before).toMatchObject({ result_id: one.resultId, status: 'READY', args: [1, 'two'], attempts: 0 });

    const drained = await client.drain({ json: { queues: ['default'], batchSize: 10 } });
    expectTypeOf(drained.stoppedBecause).toEqualTypeOf<'empty' | 'budget' | 'max_tasks' | 'aborted' | 'db_error' | 'rate_limited'>();
    expect(drained).toMatchObject({ claimed: 2, succeeded: 2, stoppedBecause: 'empty' });
    expect(await client.getTask({ param: { id: one.resultId } })).toMatchObject({ status: 'SUCCESSFUL', attempts: 1, return_json: { echoed: [1, 'two'] } });
  });

  it('cancels, retries and replays tasks, lists and retries the dead-letter queue, and says why it refuses', async () => {
    const { resultId: ready } = await client.enqueue({ json: { taskPath: 'tasks.echo', args: ['cancel me'] } });
    expect(await client.cancel({ param: { id: ready } })).toEqual({ resultId: ready, before: 'READY', after: 'CANCELLED', changed: true, outcome: 'cancelled', dependants: 0 });
    expect(await refusal(client.retry({ param: { id: ready } }))).toMatchObject({ status: 409, code: 'invalid_state', field: 'id' });

    const replay = await client.replay({ param: { id: ready } });
    expect(replay).toMatchObject({ sourceId: ready, resultId: expect.any(Number) });
    expect(await client.getTask({ param: { id: replay.resultId } })).toMatchObject({ status: 'READY', args: ['cancel me'] });

    const failed = await Promise.all([1, 2].map((n) => client.enqueue({ json: { taskPath: 'tasks.boom', args: [n], maxAttempts: 1 } })));
    expect(await client.drain({ json: { queues: ['default'] } })).toMatchObject({ failed: 2 });
    const listed = await client.listFailed({ query: { limit: 10 } });
    expect(listed.tasks.map((x) => x.result_id).sort()).toEqual(failed.map((f) => f.resultId).sort());
    expect(await client.retry({ param: { id: failed[0]!.resultId } })).toEqual({ retried: [failed[0]!.resultId], resumed: 0 });
    expect(await client.retryFailed()).toEqual({ retried: [failed[1]!.resultId], resumed: 0 });

    expect(await refusal(client.getTask({ param: { id: 999_999 } }))).toMatchObject({ status: 404, code: 'not_found', field: 'id' });
    expect(await refusal(client.listFailed({ query: { limit: 0 } }))).toMatchObject({ status: 400, code: 'invalid_input', field: 'limit' });
  });

  it('lists queues, pauses and resumes one', async () => {
    await client.enqueue({ json: { taskPath: 'tasks.echo', queue: 'mail' } });
    expect(await client.pause({ param: { queue: 'mail' }, json: { reason: 'deploy' } })).toMatchObject({ queue: 'mail', paused: true, reason: 'deploy' });
    expect((await client.queues()).queues).toEqual([expect.objectContaining({ queue: 'mail', ready: 1, paused: true, reason: 'deploy' })]);
    expect(await client.drain({ json: { queues: ['mail'] } })).toMatchObject({ claimed: 0 });
    expect(await client.resume({ param: { queue: 'mail' } })).toEqual({ queue: 'mail', paused: false, pausedAt: null, reason: '' });
    expect(await client.pause({ param: { queue: 'other' } })).toMatchObject({ queue: 'other', paused: true, reason: '' });
  });

  it('manages periodic tasks, and beat enqueues the due one', async () => {
    const due = new Date(Date.now() - 60_000);
    const put = await client.putPeriodic({ param: { name: 'nightly' }, json: { cronExpr: '0 3 * * *', taskPath: 'tasks.echo', args: ['night'], nextRunAt: due } });
    expect(put).toMatchObject({ name: 'nightly', cronExpr: '0 3 * * *', enabled: true, nextRunAt: due.toISOString() });
    expect(await refusal(client.putPeriodic({ param: { name: 'broken' }, json: { cronExpr: '61 * * * *', taskPath: 'tasks.echo' } }))).toMatchObject({
      status: 400,
      field: 'cronExpr',
    });
    const beat = await client.beat({ json: { budgetMs: 5_000 } });
    expect(beat).toMatchObject({ due: 1, enqueued: 1, errors: [] });
    expect(await client.getTask({ param: { id: beat.enqueuedIds[0]! } })).toMatchObject({ task_path: 'tasks.echo', args: ['night'] });
    expect(await client.disablePeriodic({ param: { name: 'nightly' } })).toMatchObject({ enabled: false });
    expect(await client.enablePeriodic({ param: { name: 'nightly' } })).toMatchObject({ enabled: true });
    expect((await client.listPeriodic()).periodicTasks.map((p) => p.name)).toEqual(['nightly']);
    expect(await client.deletePeriodic({ param: { name: 'nightly' } })).toEqual({ deleted: true });
    expect(await refusal(client.deletePeriodic({ param: { name: 'nightly' } }))).toMatchObject({ status: 404, field: 'name' });
  });

  it('reclaims expired leases', async () => {
    const { resultId } = await client.enqueue({ json: { taskPath: 'tasks.echo' } });
    await t.db.query(`UPDATE task_runs SET status = 'RUNNING', leased_by = 'gone', leased_until = NOW() - interval '1 hour', attempts = 1 WHERE result_id = $1`, [resultId]);
    expect(await client.reclaim({ json: { dryRun: true } })).toEqual({ matched: 1, requeued: 0, failed: 0, ids: [resultId], dependantsEnded: 0, callbacksReleased: 0, dryRun: true });
    expect(await client.reclaim()).toMatchObject({ matched: 1, requeued: 1, ids: [resultId], dryRun: false });
    expect(await client.getTask({ param: { id: resultId } })).toMatchObject({ status: 'READY' });
  });

  it('reads metrics, stats, health and the document itself', async () => {
    await client.enqueue({ json: { taskPath: 'tasks.echo', args: ['waiting'] } });
    const metrics = await client.metrics();
    expectTypeOf(metrics).toEqualTypeOf<string>();
    expect(metrics).toMatch(/^reproq_queue_depth 1$/m);
    expect(await client.stats()).toMatchObject({ tasks: { READY: 1 }, queues: { default: { READY: 1 } } });
    expect(await client.healthz()).toBe('ok');
    expect(await client.openapi()).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('sends the bearer token: a wrong one is a 401 the client names', async () => {
    const stranger = createClient({ baseUrl: `http://127.0.0.1:${server.port}/reproq/`, token: 'not-the-token', fetch: checkedFetch });
    expect(await refusal(stranger.getTask({ param: { id: 1 } }))).toMatchObject({ status: 401, code: 'unauthorized', field: 'authorization' });
    expect(await refusal(stranger.stats())).toMatchObject({ status: 401 });
    // The document needs no credential.
    expect(await stranger.openapi()).toMatchObject({ openapi: '3.1.0' });
  });

  it('round-tripped every route of the API', () => {
    expect([...succeeded].sort()).toEqual((Object.keys(ENDPOINTS) as EndpointName[]).sort());
  });
});
