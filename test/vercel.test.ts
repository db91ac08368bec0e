import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/logger.ts';
import { createVercelHandlers } from '../workers/vercel.ts';
import { useTestDb } from './support/db.ts';
import { CRON, METRICS, TOKEN, bearer, testRegistry } from './support/http.ts';

const t = useTestDb('pg', 'task_runs, reproq_workers, periodic_tasks');
afterAll(() => vi.unstubAllEnvs());

/** What Vercel Cron sends: GET on the path, with the project's CRON_SECRET as bearer. */
const cron = (path: string, secret?: string) =>
  new Request(`https://app.vercel.app${path}`, { headers: { 'user-agent': 'vercel-cron/1.0', ...(secret ? bearer(secret) : {}) } });

describe('Vercel', () => {
  it('the one-line api/ re-exports serve the app: enqueue, cron drain, read the result', async () => {
    vi.stubEnv('DATABASE_URL', t.url);
    vi.stubEnv('REPROQ_AUTH_TOKEN', TOKEN);
    vi.stubEnv('CRON_SECRET', CRON);
    vi.stubEnv('REPROQ_ROUTE_PREFIX', '/api/reproq');
    const enqueueFn = await import('../api/reproq/enqueue.ts');
    const drainFn = await import('../api/reproq/drain.ts');
    const taskFn = await import('../api/reproq/tasks/[id].ts');

    const put = await enqueueFn.POST(
      new Request('https://app.vercel.app/api/reproq/enqueue', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(TOKEN) },
        body: JSON.stringify({ taskPath: 'tasks.send_email', kwargs: { to: 'ada@example.com', subject: 'hi' } }),
      }),
    );
    expect(put.status).toBe(201);
    const { resultId } = (await put.json()) as { resultId: number };

    const drained = await drainFn.GET(cron('/api/reproq/drain', CRON));
    expect(drained.status).toBe(200);
    expect(await drained.json()).toMatchObject({ claimed: 1, succeeded: 1 });

    const got = await taskFn.GET(new Request(`https://app.vercel.app/api/reproq/tasks/${resultId}`, { headers: bearer(TOKEN) }));
    expect(await got.json()).toMatchObject({ status: 'SUCCESSFUL', return_json: { delivered: true, to: 'ada@example.com' } });

    const replayFn = await import('../api/reproq/tasks/[id]/replay.ts');
    const replayed = await replayFn.POST(new Request(`https://app.vercel.app/api/reproq/tasks/${resultId}/replay`, { method: 'POST', headers: bearer(TOKEN) }));
    expect(replayed.status).toBe(201);
    expect(await replayed.json()).toMatchObject({ sourceId: resultId });
  });

  it('checks CRON_SECRET when it is set', async () => {
    const h = createVercelHandlers(testRegistry(), {
      env: { DATABASE_URL: t.url, REPROQ_AUTH_TOKEN: TOKEN, CRON_SECRET: CRON, METRICS_AUTH_TOKEN: METRICS },
      openDb: () => t.db,
      logger: silentLogger,
    });
    for (const job of ['drain', 'beat', 'reclaim', 'metrics']) {
      expect((await h.GET(cron(`/${job}`, CRON))).status, job).toBe(200);
      expect((await h.GET(cron(`/${job}`, 'wrong'))).status, job).toBe(401);
      expect((await h.GET(cron(`/${job}`))).status, job).toBe(401);
    }
  });

  it('without CRON_SECRET, a cron call needs REPROQ_AUTH_TOKEN (or is refused when none is set)', async () => {
    const h = createVercelHandlers(testRegistry(), {
      env: { DATABASE_URL: t.url, REPROQ_AUTH_TOKEN: TOKEN },
      openDb: () => t.db,
      logger: silentLogger,
    });
    expect((await h.GET(cron('/drain', CRON))).status).toBe(401);
    expect((await h.GET(cron('/drain', TOKEN))).status).toBe(200);
    const none = createVercelHandlers(testRegistry(), { env: { DATABASE_URL: t.url }, openDb: () => t.db, logger: silentLogger });
    expect((await none.GET(cron('/drain'))).status).toBe(503);
  });

  it('a cron GET carrying content-type: application/json and no body runs its job', async () => {
    const h = createVercelHandlers(testRegistry(), {
      env: { DATABASE_URL: t.url, CRON_SECRET: CRON },
      openDb: () => t.db,
      logger: silentLogger,
    });
    const get = new Request('https://app.vercel.app/drain', { headers: { ...bearer(CRON), 'content-type': 'application/json' } });
    const res = await h.GET(get);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ stoppedBecause: 'empty' });
  });

  it('fails on load without DATABASE_URL, naming it', () => {
    expect(() => createVercelHandlers(testRegistry(), { env: {} })).toThrow(/DATABASE_URL/);
  });
});
