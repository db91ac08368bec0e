/**
 * Renders docs/dashboard.png, the README's screenshot: an in-memory PGlite database with the test
 * suite's seeded queues, the real app on a local port, and Debian's Chromium.
 *   npx tsx scripts/dashboard-screenshot.ts [out.png]
 */
import { writeFile } from 'node:fs/promises';
import { configFromEnv } from '../src/config.ts';
import { pgliteDb } from '../src/db/pglite.ts';
import { silentLogger } from '../src/logger.ts';
import { migrate } from '../src/migrate.ts';
import { registryFromModule } from '../src/tasks/registry.ts';
import { startNodeServer } from '../workers/node.ts';
import { launchChromium } from '../test/support/browser.ts';
import { seedDashboard } from '../test/support/dashboard.ts';

const out = process.argv[2] ?? 'docs/dashboard.png';
const token = crypto.randomUUID();
const db = await pgliteDb();
await migrate(db);
await seedDashboard(db);
const server = await startNodeServer({
  config: configFromEnv({ REPROQ_AUTH_TOKEN: token }),
  registry: registryFromModule({}),
  db,
  logger: silentLogger,
  port: 0,
  hostname: '127.0.0.1',
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(`http://127.0.0.1:${server.port}/dashboard`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/dashboard$/);
  for (const [path, file] of (process.env.SHOTS ?? `/dashboard=${out}`).split(',').map((s) => s.split('='))) {
    await page.goto(`http://127.0.0.1:${server.port}${path}`);
    await writeFile(file!, await page.screenshot({ fullPage: true }));
    console.log(`wrote ${file}`);
  }
} finally {
  await browser.close();
  await server.close();
  await db.close();
}
