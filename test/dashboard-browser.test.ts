/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core, against the Node
 * server over real HTTP and a seeded PostgreSQL. Skipped with the reason where Chromium is not
 * installed; under CI=true a missing browser fails the run (test/support/needs.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.ts';
import { type NodeServer, startNodeServer } from '../workers/node.ts';
import { CHROMIUM, hasChromium, launchChromium, pngSpread } from './support/browser.ts';
import { SEEDED, seedDashboard } from './support/dashboard.ts';
import { useTestDb } from './support/db.ts';
import { needs } from './support/needs.ts';
import { TOKEN, httpConfig, testRegistry } from './support/http.ts';
import { row } from './support/queue.ts';

describe('dashboard in Chromium', () => {
  const t = useTestDb('pg', 'task_runs, periodic_tasks, reproq_workers, reproq_queue_controls, workflow_runs');
  let server: NodeServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startNodeServer({
      config: httpConfig(),
      registry: testRegistry(),
      db: t.db,
      logger: silentLogger,
      port: 0,
      hostname: '127.0.0.1',
    });
    base = `http://127.0.0.1:${server.port}/dashboard`;
    if (hasChromium) browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  beforeEach(async (ctx) => {
    needs(ctx, hasChromium, `Chromium is not installed at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run does)`);
    await seedDashboard(t.db);
  });

  /** A fresh context (cookies and all), signed in through the form. */
  async function signedIn(options: { javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, ...options });
    const page = await context.newPage();
    await page.goto(base);
    expect(page.url()).toBe(`${base}/login?next=%2Fdashboard`);
    await page.fill('input[name=token]', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(base);
    return { context, page };
  }

  /** The text of each cell of the table row whose first cell is `key`. */
  async function rowCells(page: Page, key: string): Promise<string[]> {
    const tr = page.locator('tbody tr', { has: page.locator('td:first-child', { hasText: new RegExp(`^${key}$`) }) });
    return (await tr.locator('td').allInnerTexts()).map((s) => s.trim());
  }

  const n = (x: number) => x.toLocaleString('en-US');
  const idOf = async (sql: string) => (await row<{ id: string }>(t.db, sql)).id;

  it('refuses a browser that has not signed in, and a wrong token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const path of ['', '/failed', '/workers']) {
      await page.goto(`${base}${path}`);
      expect(new URL(page.url()).pathname).toBe('/dashboard/login');
      await expect(page.locator('input[name=token]').count()).resolves.toBe(1);
      await expect(page.locator('table').count()).resolves.toBe(0);
    }
    const post = await page.request.post(`${base}/queues/default/pause`, {
      form: { reason: 'x' },
      headers: { origin: `http://127.0.0.1:${server.port}` },
    });
    expect(post.status()).toBe(401);
    await page.fill('input[name=token]', 'not-the-token');
    await page.click('button[type=submit]');
    await expect(page.locator('.problem').innerText()).resolves.toContain('not the operator token');
    expect((await t.db.query('SELECT 1 FROM reproq_queue_controls WHERE paused AND queue_name = $1', ['default'])).rowCount).toBe(0);
    await context.close();
  });

  it('shows the seeded numbers in every view', async () => {
    const { context, page } = await signedIn();
    const d = SEEDED.default;
    const def = await rowCells(page, 'default');
    // Queue, state, ready, due, oldest, running, waiting, retrying, done 1 h, failed 1 h.
    expect([def[0], def[1], def[2], def[3], def[5], def[8], def[9]]).toEqual([
      'default',
      'active',
      n(d.ready),
      n(d.due),
      n(d.running),
      n(d.succeededHour),
      n(d.failedHour),
    ]);
    expect(def[4]).toMatch(/^1[23] min$/);
    const emails = await rowCells(page, 'emails');
    expect([emails[2], emails[3], emails[7], emails[8], emails[9]]).toEqual([
      n(8),
      n(3),
      n(SEEDED.emails.retrying),
      n(SEEDED.emails.succeededHour),
      n(2),
    ]);
    const reports = await rowCells(page, 'reports');
    expect([reports[1], reports[2], reports[11]]).toEqual(['paused', n(12), 'Resume']);
    const hooks = await rowCells(page, 'webhooks');
    expect([hooks[2], hooks[5], hooks[6]]).toEqual(['1', '1', '2']);
    const succeeded = d.succeededHour + SEEDED.emails.succeededHour + SEEDED.reports.succeededHour + 1;
    await expect(page.locator('.stat', { hasText: 'Done 1 h' }).locator('b').innerText()).resolves.toBe(n(succeeded));
    await expect(page.locator('svg.chart').getAttribute('aria-label')).resolves.toBe(`${n(succeeded + 6)} tasks finished in the last 60 minutes`);
    await expect(page.locator('svg.chart rect.bar-bad').count()).resolves.toBeGreaterThan(0);

    await page.click('nav >> text=Failed & retrying');
    await expect(page.locator('tbody tr').count()).resolves.toBe(50);
    await expect(page.locator('tbody tr').first().innerText()).resolves.toContain(SEEDED.traced.taskPath);
    await page.click('text=Older →');
    await expect(page.locator('tbody tr').count()).resolves.toBe(SEEDED.failedTotal - 50);
    await page.click('.tabs >> text=Retrying');
    await expect(page.locator('tbody tr').count()).resolves.toBe(SEEDED.emails.retrying);

    await page.goto(`${base}/failed`);
    await page.locator('tbody tr').first().locator('a').first().click();
    await expect(page.locator('h1').innerText()).resolves.toMatch(/^Task \d+\s+FAILED/);
    await expect(page.locator('details[open] pre').innerText()).resolves.toContain(`${SEEDED.traced.exception}: insufficient funds`);
    await expect(page.locator('details summary').allInnerTexts()).resolves.toHaveLength(3);
    await expect(page.locator(`a[href="${SEEDED.traced.logsUri}"]`).count()).resolves.toBe(1);

    await page.goto(`${base}/tasks/${await idOf(`SELECT result_id AS id FROM task_runs WHERE task_path = 'hooks.transform'`)}`);
    await expect(page.locator('.card', { hasText: 'Workflow · Chain' }).locator('tbody tr').count()).resolves.toBe(SEEDED.chain.length);

    await page.click('nav >> text=Periodic');
    await expect(page.locator('tbody tr').count()).resolves.toBe(SEEDED.periodic.names.length);
    expect((await rowCells(page, SEEDED.periodic.overdue)).at(-1)).toBe('overdue');
    expect((await rowCells(page, SEEDED.periodic.disabled)).at(-1)).toBe('disabled');

    await page.click('nav >> text=Workers');
    await expect(page.locator('tbody tr').count()).resolves.toBe(SEEDED.workers.ids.length);
    await expect(page.locator('.stat', { hasText: 'Alive' }).locator('b').innerText()).resolves.toBe(String(SEEDED.workers.alive));
    expect((await rowCells(page, 'worker-old')).at(-1)).toBe('stale');
    await context.close();
  });

  it('reads every view with JavaScript off', async () => {
    const { context, page } = await signedIn({ javaScriptEnabled: false });
    const traced = await idOf(`SELECT result_id AS id FROM task_runs WHERE task_path = '${SEEDED.traced.taskPath}'`);
    for (const [path, heading, text] of [
      ['', 'Queues', 'webhooks'],
      ['/failed', 'Failed tasks', SEEDED.traced.taskPath],
      ['/failed?kind=retrying', 'Retrying tasks', 'SMTPServerDisconnected'],
      [`/tasks/${traced}`, `Task ${traced}`, 'raise CardDeclined'],
      ['/periodic', 'Periodic tasks', 'hourly-sync'],
      ['/workers', 'Workers and invocations', 'worker-a1'],
    ]) {
      const res = await page.goto(`${base}${path}`);
      expect(res!.status()).toBe(200);
      await expect(page.locator('h1').innerText()).resolves.toContain(heading);
      await expect(page.locator('main').innerText()).resolves.toContain(text);
    }
    // Forms work without script too: sign out.
    await page.click('text=Sign out');
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.goto(base);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await context.close();
  });

  it('retries, cancels, replays, pauses and resumes through confirm pages', async () => {
    const { context, page } = await signedIn({ javaScriptEnabled: false });
    const confirm = async (path: string, button: string) => {
      await page.goto(`${base}${path}`);
      await page.click(`form[method=post] button:has-text("${button}")`);
      await expect(page.locator('.notice').count()).resolves.toBe(1);
    };
    const traced = await idOf(`SELECT result_id AS id FROM task_runs WHERE task_path = '${SEEDED.traced.taskPath}'`);
    await page.goto(`${base}/tasks/${traced}`);
    await page.click('.actions >> text=Retry');
    expect(page.url()).toBe(`${base}/tasks/${traced}/retry`);
    await page.click('form[method=post] button:has-text("Retry")');
    expect(page.url()).toBe(`${base}/tasks/${traced}?done=retried`);
    expect(
      await row(t.db, 'SELECT status, attempts, jsonb_array_length(errors_json) AS errors FROM task_runs WHERE result_id = $1', [traced]),
    ).toEqual({ status: 'READY', attempts: 0, errors: 3 });

    const ready = await idOf(`SELECT result_id AS id FROM task_runs WHERE status = 'READY' AND queue_name = 'default' ORDER BY result_id LIMIT 1`);
    await confirm(`/tasks/${ready}/cancel`, 'Cancel the task');
    expect(await row(t.db, 'SELECT status FROM task_runs WHERE result_id = $1', [ready])).toEqual({ status: 'CANCELLED' });

    const digest = await idOf(`SELECT result_id AS id FROM task_runs WHERE task_path = 'mail.send_digest' LIMIT 1`);
    await confirm(`/tasks/${digest}/replay`, 'Replay');
    const copy = /\/tasks\/(\d+)\?done=replayed$/.exec(page.url())![1]!;
    expect(copy).not.toBe(digest);
    expect(await row(t.db, 'SELECT status, task_path FROM task_runs WHERE result_id = $1', [copy])).toEqual({
      status: 'READY',
      task_path: 'mail.send_digest',
    });

    await page.goto(base);
    await page.locator('tbody tr', { hasText: 'emails' }).locator('a', { hasText: 'Pause' }).click();
    await page.fill('input[name=reason]', 'provider outage');
    await page.click('form[method=post] button:has-text("Pause")');
    expect(await row(t.db, `SELECT paused, reason FROM reproq_queue_controls WHERE queue_name = 'emails'`)).toEqual({
      paused: true,
      reason: 'provider outage',
    });
    expect((await rowCells(page, 'emails'))[1]).toBe('paused');

    await confirm('/queues/reports/resume', 'Resume');
    expect(await row(t.db, `SELECT paused FROM reproq_queue_controls WHERE queue_name = 'reports'`)).toEqual({ paused: false });
    await context.close();
  });

  it('refuses a form another site makes the signed-in browser post', async () => {
    // Another origin on the same host: the same site, so the SameSite=Strict cookie is sent along.
    const evil: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<form method="post" action="${base}/queues/default/pause"><input type="hidden" name="_csrf" value="guess"><button>Win a prize</button></form>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const { context, page } = await signedIn();
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const [response] = await Promise.all([page.waitForNavigation(), page.click('text=Win a prize')]);
      expect(response!.status()).toBe(403);
      await expect(page.locator('h1').innerText()).resolves.toBe('Refused');
      expect((await t.db.query(`SELECT 1 FROM reproq_queue_controls WHERE queue_name = 'default'`)).rowCount).toBe(0);
      await context.close();
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
  });

  it('renders a screenshot that is not blank', async () => {
    const { context, page } = await signedIn();
    const shot = pngSpread(await page.screenshot({ fullPage: true }));
    await page.goto('about:blank');
    const blank = pngSpread(await page.screenshot());
    expect(blank.colours).toBe(1);
    expect(shot.width).toBe(1360);
    expect(shot.height).toBeGreaterThan(900);
    expect(shot.colours).toBeGreaterThan(100);
    expect(shot.variance).toBeGreaterThan(100);
    await context.close();
  });
});
