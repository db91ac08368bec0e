import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { pgDb } from '../src/db/pg.ts';
import type { Db } from '../src/db/types.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { TOKEN, bearer } from './support/http.ts';

/**
 * The Worker inside workerd (Miniflare), bundled as wrangler would (browser platform, workerd
 * conditions), reaching Postgres through the Neon driver and the local WebSocket proxy.
 */
let tdb: TestDatabase;
let db: Db;
let script: string;
let withDashboard: string;

/** Bundled as wrangler would (browser platform, workerd conditions). */
async function bundle(entry: string): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    write: false,
    platform: 'browser',
    mainFields: ['browser', 'module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
  });
  return out.outputFiles[0]!.text;
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = pgDb({ connectionString: tdb.url });
  [script, withDashboard] = await Promise.all([bundle('test/fixtures/cloudflare-worker.ts'), bundle('test/fixtures/cloudflare-worker-dashboard.ts')]);
});
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});
beforeEach(async () => {
  await db.query('TRUNCATE task_runs, reproq_workers, periodic_tasks RESTART IDENTITY');
});

async function worker(bindings: Record<string, unknown> = {}, source = script) {
  const mf = new Miniflare({
    modules: true,
    script: source,
    compatibilityDate: '2026-04-01',
    cf: false,
    bindings: {
      DATABASE_URL: tdb.url,
      WS_PROXY: `127.0.0.1:${inject('wsProxyPort')}`,
      REPROQ_AUTH_TOKEN: TOKEN,
      REPROQ_CRONS: { '* * * * *': 'drain', '*/5 * * * *': 'reclaim', '0 3 * * *': ['beat', 'drain'] },
      ...bindings,
    },
  });
  await mf.ready;
  return mf;
}

const scheduled = async (mf: Miniflare, cron: string) =>
  (await mf.getWorker()).scheduled({ cron, scheduledTime: new Date('2026-01-01T03:00:00Z') });

describe('Cloudflare Worker in workerd', () => {
  it('serves the app over fetch, through the Neon driver', async () => {
    const mf = await worker();
    try {
      const h = await mf.dispatchFetch('http://worker/healthz');
      expect([h.status, await h.text()]).toEqual([200, 'ok']);
      const denied = await mf.dispatchFetch('http://worker/drain', { method: 'POST' });
      expect(denied.status).toBe(401);
      // The OpenAPI document is built inside workerd too, without credentials.
      const doc = await mf.dispatchFetch('http://worker/openapi.json');
      expect([doc.status, ((await doc.json()) as { openapi: string }).openapi]).toEqual([200, '3.1.0']);
      // The dashboard is opt-in on Workers.
      expect((await mf.dispatchFetch('http://worker/dashboard', { headers: bearer(TOKEN) })).status).toBe(404);
    } finally {
      await mf.dispose();
    }
  });

  it('serves the dashboard when the Worker is given it', async () => {
    const mf = await worker({}, withDashboard);
    try {
      const page = await mf.dispatchFetch('http://worker/dashboard', { headers: bearer(TOKEN) });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await page.text()).toContain('Queues');
    } finally {
      await mf.dispose();
    }
  });

  it('end to end: enqueue over HTTP, drain on the cron trigger, read the result over HTTP', async () => {
    const mf = await worker();
    try {
      const put = await mf.dispatchFetch('http://worker/enqueue', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(TOKEN) },
        body: JSON.stringify({ taskPath: 'tasks.echo', args: ['over the edge'] }),
      });
      expect(put.status).toBe(201);
      const { resultId } = (await put.json()) as { resultId: number };

      expect(await scheduled(mf, '* * * * *')).toMatchObject({ outcome: 'ok' });

      const res = await mf.dispatchFetch(`http://worker/tasks/${resultId}`, { headers: bearer(TOKEN) });
      expect(await res.json()).toMatchObject({ status: 'SUCCESSFUL', return_json: { echoed: ['over the edge'] } });
      const leasedBy = await db.query<{ worker_ids: string[] }>('SELECT worker_ids FROM task_runs WHERE result_id = $1', [resultId]);
      expect(leasedBy.rows[0]!.worker_ids[0]).toMatch(/\/cron-\d+\/[0-9a-f]{12}$/);
    } finally {
      await mf.dispose();
    }
  });

  it('maps each cron expression to its jobs', async () => {
    const mf = await worker();
    try {
      // reclaim: an expired lease goes back to READY, and nothing is drained.
      await db.query(`INSERT INTO task_runs (spec_json, spec_hash, task_path, status, leased_by, leased_until, attempts)
                      VALUES ('{"task_path":"tasks.echo","args":[],"kwargs":{}}', repeat('a', 64), 'tasks.echo', 'RUNNING', 'gone', now() - interval '1 minute', 1)`);
      expect(await scheduled(mf, '*/5 * * * *')).toMatchObject({ outcome: 'ok' });
      expect((await db.query(`SELECT status FROM task_runs`)).rows).toEqual([{ status: 'READY' }]);

      // beat then drain: the periodic task's run is enqueued and drained in the same event.
      await db.query(`INSERT INTO periodic_tasks (name, cron_expr, task_path, payload_json, next_run_at)
                      VALUES ('nightly', '0 3 * * *', 'tasks.echo', '["from beat"]', now() - interval '1 second')`);
      expect(await scheduled(mf, '0 3 * * *')).toMatchObject({ outcome: 'ok' });
      const rows = await db.query<{ status: string; args: unknown }>(`SELECT status, spec_json->'args' AS args FROM task_runs ORDER BY result_id`);
      expect(rows.rows).toEqual([
        { status: 'SUCCESSFUL', args: [] },
        { status: 'SUCCESSFUL', args: ['from beat'] },
      ]);

      // A cron with no mapping fails the event, naming the setting.
      expect(await scheduled(mf, '*/7 * * * *')).toMatchObject({ outcome: 'exception' });
    } finally {
      await mf.dispose();
    }
  });

  it('fails at startup on a missing DATABASE_URL or a bad REPROQ_CRONS, naming the variable', async () => {
    for (const [bindings, variable] of [
      [{ DATABASE_URL: '' }, 'DATABASE_URL'],
      [{ REPROQ_CRONS: { '* * * * *': 'sweep' } }, 'REPROQ_CRONS'],
      [{ REPROQ_BATCH_SIZE: 'many' }, 'REPROQ_BATCH_SIZE'],
    ] as const) {
      const mf = await worker(bindings);
      try {
        const res = await mf.dispatchFetch('http://worker/healthz');
        expect(res.status).toBe(500);
        expect(((await res.json()) as { error: { field: string } }).error.field).toBe(variable);
      } finally {
        await mf.dispose();
      }
    }
  });
});

describe('wrangler', () => {
  it('bundles wrangler.toml with `deploy --dry-run` (offline, no account)', async () => {
    const outdir = await mkdtemp(path.join(tmpdir(), 'reproq-wrangler-'));
    try {
      const { stdout } = await promisify(execFile)('node_modules/.bin/wrangler', ['deploy', '--dry-run', '--minify', '--outdir', outdir], {
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' },
      });
      const size = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout);
      expect(size, stdout).not.toBeNull();
      console.log(`worker bundle (minified): ${size![1]} KiB, gzip ${size![2]} KiB`);
      expect(stdout).toContain('env.REPROQ_CRONS');
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  });
});
