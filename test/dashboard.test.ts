import { Hono } from 'hono';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { dashboard } from '../src/dashboard/routes.tsx';
import { createApp } from '../src/http/app.ts';
import { pgDb } from '../src/db/pg.ts';
import { Sessions, SESSION_SECONDS } from '../src/dashboard/session.ts';
import { silentLogger } from '../src/logger.ts';
import { SEEDED, seedDashboard } from './support/dashboard.ts';
import { useTestDb } from './support/db.ts';
import { TOKEN, bearer, httpConfig, testRegistry } from './support/http.ts';
import { row } from './support/queue.ts';

const t = useTestDb('pg', 'task_runs, periodic_tasks, reproq_workers, reproq_queue_controls, workflow_runs');
const ORIGIN = 'http://localhost';

function app(env: Record<string, string> = {}) {
  return createApp({ config: httpConfig(env), registry: testRegistry(), db: t.db, logger: silentLogger, dashboard });
}

type App = ReturnType<typeof app>;

/** Signs in through the form; returns the cookie header and the CSRF token of the page it lands on. */
async function signIn(a: App, prefix = ''): Promise<{ cookie: string; csrf: string }> {
  const res = await a.request(`${prefix}/dashboard/login`, {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: TOKEN, next: `${prefix}/dashboard` }),
  });
  expect(res.status).toBe(303);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await a.request(`${prefix}/dashboard`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)![1]! };
}

function post(a: App, path: string, fields: Record<string, string>, headers: Record<string, string>) {
  return a.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
}

const failedId = async (path: string) =>
  (await row<{ id: string }>(t.db, `SELECT result_id AS id FROM task_runs WHERE task_path = $1 AND status = 'FAILED' LIMIT 1`, [path])).id;
const statusOf = async (id: string) =>
  await row<{ status: string; attempts: number }>(t.db, 'SELECT status, attempts FROM task_runs WHERE result_id = $1', [id]);

describe('dashboard auth', () => {
  it('sends a browser without credentials to the sign-in form, and refuses a POST or a wrong bearer', async () => {
    const a = app();
    const page = await a.request('/dashboard/failed?queue=emails');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/dashboard/login?next=${encodeURIComponent('/dashboard/failed?queue=emails')}`);
    const form = await a.request('/dashboard/login?next=/dashboard/failed');
    expect(await form.text()).toContain('name="token"');
    expect((await post(a, '/dashboard/queues/default/pause', {}, { origin: ORIGIN })).status).toBe(401);
    expect((await a.request('/dashboard', { headers: bearer('wrong') })).status).toBe(401);
    expect((await t.db.query('SELECT 1 FROM reproq_queue_controls')).rowCount).toBe(0);
  });

  it('signs in with the operator token into an HttpOnly, SameSite=Strict cookie that is not the token', async () => {
    const a = app();
    const res = await post(a, '/dashboard/login', { token: TOKEN, next: '/dashboard/workers' }, { origin: ORIGIN });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/workers');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/dashboard(;|$)/);
    expect(cookie).toMatch(new RegExp(`Max-Age=${SESSION_SECONDS}`));
    expect(cookie).not.toMatch(/Secure/);
    expect(cookie).not.toContain(TOKEN);
    expect(atob(cookie.split('=')[1]!.split('.')[1]!)).not.toContain(TOKEN);
    const over = await (
      await a.request('https://localhost/dashboard/login', {
        method: 'POST',
        headers: { origin: 'https://localhost', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: TOKEN }),
      })
    ).headers.get('set-cookie');
    expect(over).toMatch(/Secure/);
    // Another site as `next` is ignored.
    const elsewhere = await post(a, '/dashboard/login', { token: TOKEN, next: '//evil.example/x' }, { origin: ORIGIN });
    expect(elsewhere.headers.get('location')).toBe('/dashboard');
  });

  it('counts wrong tokens with the API refusals and answers 429 past the limit', async () => {
    const a = app({ METRICS_AUTH_LIMIT: '2' });
    const tries = [];
    for (let i = 0; i < 3; i++) tries.push((await post(a, '/dashboard/login', { token: 'guess' }, { origin: ORIGIN })).status);
    expect(tries).toEqual([401, 401, 429]);
  });

  it('keeps a session until it expires, and signing out deletes the cookie', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const probe = (sessions: Sessions) =>
      new Hono()
        .get('/start', async (c) => (await sessions.start(c, '/'), c.text('ok')))
        .get('/read', async (c) => c.text((await sessions.read(c)) ? 'yes' : 'no'));
    const ours = probe(new Sessions(httpConfig(), () => now));
    const cookie = (await ours.request('/start')).headers.get('set-cookie')!.split(';')[0]!;
    const read = async (p = ours, c = cookie) => (await p.request('/read', { headers: { cookie: c } })).text();
    expect(await read()).toBe('yes');
    expect(await read(ours, `${cookie}x`)).toBe('no');
    // Rotating the operator token ends every session.
    expect(await read(probe(new Sessions(httpConfig({ REPROQ_AUTH_TOKEN: 'rotated' }), () => now)))).toBe('no');
    now += (SESSION_SECONDS - 1) * 1000;
    expect(await read()).toBe('yes');
    now += 2000;
    expect(await read()).toBe('no');

    const a = app();
    const { cookie: session, csrf } = await signIn(a);
    const out = await post(a, '/dashboard/logout', { _csrf: csrf }, { origin: ORIGIN, cookie: session });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/reproq_dashboard=;.*Max-Age=0/);
  });

  it('refuses a signed-in POST from another origin or without the form token, and accepts a bearer POST from a script', async () => {
    await seedDashboard(t.db);
    const a = app();
    const { cookie, csrf } = await signIn(a);
    const id = await failedId(SEEDED.traced.taskPath);
    const url = `/dashboard/tasks/${id}/retry`;
    expect((await post(a, url, {}, { origin: ORIGIN, cookie })).status).toBe(403);
    expect((await post(a, url, { _csrf: 'guess' }, { origin: ORIGIN, cookie })).status).toBe(403);
    expect((await post(a, url, { _csrf: csrf }, { origin: 'http://evil.example', cookie })).status).toBe(403);
    expect((await post(a, url, { _csrf: csrf }, { 'sec-fetch-site': 'same-site', origin: 'http://other.localhost', cookie })).status).toBe(403);
    expect(await statusOf(id)).toMatchObject({ status: 'FAILED' });
    const ok = await post(a, url, { _csrf: csrf }, { origin: ORIGIN, cookie });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/dashboard/tasks/${id}?done=retried`);
    expect(await statusOf(id)).toEqual({ status: 'READY', attempts: 0 });

    const other = await failedId('mail.send_digest');
    const script = await post(a, `/dashboard/tasks/${other}/retry`, {}, bearer(TOKEN));
    expect(script.status).toBe(303);
    expect(await statusOf(other)).toMatchObject({ status: 'READY' });
  });

  it('is open on a development server with no token, and says how to configure one otherwise', async () => {
    const open = createApp({
      config: httpConfig({ REPROQ_AUTH_TOKEN: '', REPROQ_ALLOW_INSECURE: 'true' }),
      registry: testRegistry(),
      db: t.db,
      logger: silentLogger,
      dashboard,
    });
    expect((await open.request('/dashboard')).status).toBe(200);
    expect((await open.request('/dashboard/login')).status).toBe(303);
    expect((await post(open, '/dashboard/queues/default/pause', {}, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(open, '/dashboard/queues/default/pause', {}, { origin: ORIGIN })).status).toBe(303);

    const closed = createApp({ config: httpConfig({ REPROQ_AUTH_TOKEN: '' }), registry: testRegistry(), db: t.db, logger: silentLogger, dashboard });
    expect((await closed.request('/dashboard')).headers.get('location')).toBe('/dashboard/login');
    const login = await closed.request('/dashboard/login');
    expect(login.status).toBe(503);
    expect(await login.text()).toContain('REPROQ_AUTH_TOKEN');
  });
});

describe('dashboard responses', () => {
  it('carry a strict Content-Security-Policy: no script, styles from the served stylesheet only', async () => {
    const a = app();
    const { cookie } = await signIn(a);
    const responses = await Promise.all(
      ['/dashboard', '/dashboard/login', '/dashboard/style.css', '/dashboard/nowhere', '/dashboard/tasks/999999', '/dashboard/tasks/x'].map((p) =>
        a.request(p, { headers: { cookie } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 303, 200, 404, 404, 400]);
    for (const res of responses) {
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe|script-src/);
    }
    const page = await responses[0]!.text();
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).not.toMatch(/<script|style=|\son[a-z]+=/i);
    expect(responses[0]!.headers.get('cache-control')).toBe('no-store');
    expect(responses[2]!.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('answers a database outage with 503 and Retry-After, and a missing table with a 500 that says to migrate', async () => {
    const down = pgDb({ connectionString: 'postgres://postgres:postgres@127.0.0.1:1/none' });
    try {
      const outage = await createApp({ config: httpConfig(), registry: testRegistry(), db: down, logger: silentLogger, dashboard }).request(
        '/dashboard/workers',
        {
          headers: bearer(TOKEN),
        },
      );
      expect(outage.status).toBe(503);
      expect(outage.headers.get('retry-after')).toBe('5');
      expect(outage.headers.get('content-security-policy')).toContain("default-src 'none'");
    } finally {
      await down.close();
    }
    await t.db.query('ALTER TABLE workflow_runs RENAME TO workflow_runs_away');
    try {
      const missing = await app().request(`/dashboard/tasks/1`, { headers: bearer(TOKEN) });
      expect(missing.status).toBe(500);
      expect(await missing.text()).toContain('SQLSTATE 42P01');
    } finally {
      await t.db.query('ALTER TABLE workflow_runs_away RENAME TO workflow_runs');
    }
  });

  it('keeps the route prefix in every link and in the cookie path', async () => {
    const a = app({ REPROQ_ROUTE_PREFIX: '/reproq' });
    const login = await post(a, '/reproq/dashboard/login', { token: TOKEN }, { origin: ORIGIN });
    expect(login.headers.get('set-cookie')).toMatch(/Path=\/reproq\/dashboard(;|$)/);
    const { cookie } = await signIn(a, '/reproq');
    const page = await (await a.request('/reproq/dashboard', { headers: { cookie } })).text();
    const links = [...page.matchAll(/(?:href|action)="([^"]+)"/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(4);
    for (const l of links) expect(l.startsWith('/reproq/dashboard')).toBe(true);
  });
});

describe('dashboard views', () => {
  it('pages through failed tasks newest first by keyset, with filters', async () => {
    await seedDashboard(t.db);
    // A FAILED row another client wrote without failed_at comes first, where the index puts it.
    await t.db.query(
      `INSERT INTO task_runs (queue_name, task_path, spec_json, spec_hash, status) VALUES ('default', 'legacy.job', '{}', repeat('a', 64), 'FAILED')`,
    );
    const a = app();
    const ids = (html: string) => [...html.matchAll(/<td class="mono"><a href="\/dashboard\/tasks\/(\d+)">/g)].map((m) => m[1]!);
    const first = await (await a.request('/dashboard/failed', { headers: bearer(TOKEN) })).text();
    const next = /href="(\/dashboard\/failed\?[^"]*id=\d+)"/.exec(first)![1]!.replaceAll('&amp;', '&');
    const second = await (await a.request(next, { headers: bearer(TOKEN) })).text();
    const shown = [...ids(first), ...ids(second)];
    const expected = (
      await t.db.query<{ id: string }>(`SELECT result_id::text AS id FROM task_runs WHERE status = 'FAILED' ORDER BY failed_at DESC, result_id DESC`)
    ).rows.map((r) => r.id);
    expect(ids(first)).toHaveLength(50);
    expect(shown).toEqual(expected);
    expect(shown).toHaveLength(SEEDED.failedTotal + 1);
    expect(second).not.toContain('Older');

    const emails = await (await a.request('/dashboard/failed?queue=emails', { headers: bearer(TOKEN) })).text();
    expect(ids(emails)).toHaveLength(2);
    const traced = await (await a.request(`/dashboard/failed?task=${SEEDED.traced.taskPath}`, { headers: bearer(TOKEN) })).text();
    expect(ids(traced)).toHaveLength(1);
    const retrying = await (await a.request('/dashboard/failed?kind=retrying', { headers: bearer(TOKEN) })).text();
    expect(ids(retrying)).toHaveLength(SEEDED.emails.retrying);
    expect(retrying).toContain('SMTPServerDisconnected: Connection unexpectedly closed');
    expect((await a.request('/dashboard/failed?queue=no%20such', { headers: bearer(TOKEN) })).status).toBe(400);
    expect((await a.request('/dashboard/failed?id=5&at=yesterday', { headers: bearer(TOKEN) })).status).toBe(400);
  });

  it('shows a task with its tracebacks, logs and workflow, and text that is not JSON the way it is stored', async () => {
    await seedDashboard(t.db);
    const a = app();
    const id = await failedId(SEEDED.traced.taskPath);
    const page = await (await a.request(`/dashboard/tasks/${id}`, { headers: bearer(TOKEN) })).text();
    expect(page).toContain('Attempt 3');
    expect(page).toContain('raise CardDeclined(response.reason)');
    expect(page).toContain(`href="${SEEDED.traced.logsUri}"`);
    const chain = await row<{ id: string }>(t.db, `SELECT result_id AS id FROM task_runs WHERE task_path = 'hooks.transform'`);
    const chainPage = await (await a.request(`/dashboard/tasks/${chain.id}`, { headers: bearer(TOKEN) })).text();
    expect(chainPage).toContain('Workflow · Chain');
    expect(chainPage).toMatch(/parent<\/td><td class="mono">hooks.fetch/);
    expect(chainPage).toMatch(/next in chain<\/td><td class="mono">hooks.deliver/);
    const callback = await row<{ id: string }>(t.db, `SELECT result_id AS id FROM task_runs WHERE task_path = 'reports.merge'`);
    const chordPage = await (await a.request(`/dashboard/tasks/${callback.id}`, { headers: bearer(TOKEN) })).text();
    expect(chordPage).toContain('Workflow · Chord');
    expect(chordPage).toContain('2 of 3 members succeeded');
    expect(chordPage.match(/>member</g)).toHaveLength(SEEDED.chord.members);

    // Exact numbers and a non-array errors_json, as another client may have written them.
    const odd = await row<{ id: string }>(
      t.db,
      `INSERT INTO task_runs (task_path, spec_json, spec_hash, status, return_json, errors_json)
      VALUES ('odd.job', '{"n": 12345678901234567890.5}', repeat('b', 64), 'SUCCESSFUL', '{"big": 98765432109876543210}', '{"oops": "<b>not a list</b>"}')
      RETURNING result_id AS id`,
    );
    const oddPage = await (await a.request(`/dashboard/tasks/${odd.id}`, { headers: bearer(TOKEN) })).text();
    expect(oddPage).toContain('98765432109876543210');
    expect(oddPage).toContain('12345678901234567890.5');
    expect(oddPage).toContain('errors_json is not an array');
    expect(oddPage).toContain('&lt;b&gt;not a list&lt;/b&gt;');
  });
});

describe('dashboard actions', () => {
  it('retry, cancel, replay, pause and resume change the database, and refuse what the state does not allow', async () => {
    await seedDashboard(t.db);
    const a = app();
    const act = (path: string, fields: Record<string, string> = {}) => post(a, `/dashboard${path}`, fields, bearer(TOKEN));

    const ready = await row<{ id: string }>(t.db, `SELECT result_id AS id FROM task_runs WHERE status = 'READY' AND queue_name = 'default' LIMIT 1`);
    expect((await act(`/tasks/${ready.id}/retry`)).status).toBe(409);
    expect((await act(`/tasks/${ready.id}/cancel`)).headers.get('location')).toBe(`/dashboard/tasks/${ready.id}?done=cancelled`);
    expect(await statusOf(ready.id)).toMatchObject({ status: 'CANCELLED' });
    expect((await act(`/tasks/${ready.id}/cancel`)).status).toBe(409);

    const running = await row<{ id: string }>(t.db, `SELECT result_id AS id FROM task_runs WHERE status = 'RUNNING' LIMIT 1`);
    expect((await act(`/tasks/${running.id}/cancel`)).headers.get('location')).toBe(`/dashboard/tasks/${running.id}?done=cancel_requested`);
    expect(await row(t.db, 'SELECT status, cancel_requested FROM task_runs WHERE result_id = $1', [running.id])).toEqual({
      status: 'RUNNING',
      cancel_requested: true,
    });

    const failed = await failedId(SEEDED.traced.taskPath);
    const replayed = await act(`/tasks/${failed}/replay`);
    const copy = /\/tasks\/(\d+)\?done=replayed$/.exec(replayed.headers.get('location')!)![1]!;
    expect(
      await row(
        t.db,
        'SELECT status, task_path, spec_hash = (SELECT spec_hash FROM task_runs WHERE result_id = $2) AS same FROM task_runs WHERE result_id = $1',
        [copy, failed],
      ),
    ).toEqual({
      status: 'READY',
      task_path: SEEDED.traced.taskPath,
      same: true,
    });
    // The copy is active: retrying the original would make two active rows with one spec.
    const refused = await act(`/tasks/${failed}/retry`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('same spec_hash');
    expect((await act('/tasks/999999/replay')).status).toBe(404);

    expect((await act('/queues/emails/pause', { reason: 'provider outage' })).headers.get('location')).toBe('/dashboard?done=paused&queue=emails');
    expect(await row(t.db, `SELECT paused, reason FROM reproq_queue_controls WHERE queue_name = 'emails'`)).toEqual({
      paused: true,
      reason: 'provider outage',
    });
    expect((await act('/queues/reports/resume')).status).toBe(303);
    expect(await row(t.db, `SELECT paused FROM reproq_queue_controls WHERE queue_name = 'reports'`)).toEqual({ paused: false });
    expect((await act('/queues/bad%20name/pause')).status).toBe(400);
  });
});

describe('dashboard on Vercel', () => {
  afterAll(() => vi.unstubAllEnvs());

  it('is served by the one-line api/ re-exports, the page and its subpaths', async () => {
    vi.stubEnv('DATABASE_URL', t.url);
    vi.stubEnv('REPROQ_AUTH_TOKEN', TOKEN);
    vi.stubEnv('REPROQ_ROUTE_PREFIX', '/api/reproq');
    const home = await import('../api/reproq/dashboard.ts');
    const sub = await import('../api/reproq/dashboard/[...path].ts');
    const get = (fn: typeof home, path: string) =>
      fn.GET(new Request(`https://app.vercel.app/api/reproq/dashboard${path}`, { headers: bearer(TOKEN) }));
    await expect((await get(home, '')).text()).resolves.toContain('<h1>Queues</h1>');
    await expect((await get(sub, '/workers')).text()).resolves.toContain('Workers and invocations');
  });
});
