import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { pgDb } from '../src/db/pg.ts';
import { startWsProxy } from '../src/dev/wsproxy.ts';
import { migrate } from '../src/migrate.ts';
import { ADMIN_URL, databaseUrl } from './support/urls.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    wsProxyPort: number;
    templateDb: string;
  }
}

/**
 * Starts the WebSocket proxy (and the Neon HTTP shim on the same port) and builds a migrated
 * template database; each test file clones it, so files run in parallel without sharing rows.
 * An unreachable server fails here: the suite never skips the database.
 */
export default async function setup(project: TestProject) {
  const templateDb = `reproq_tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
  await admin.query(`CREATE DATABASE ${templateDb}`);
  const db = pgDb({ connectionString: databaseUrl(templateDb) });
  await migrate(db);
  await db.close();

  const proxy = await startWsProxy({ port: 0 });
  project.provide('wsProxyPort', proxy.port);
  project.provide('templateDb', templateDb);

  return async () => {
    await proxy.close();
    const leftovers = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [templateDb],
    );
    for (const { datname } of leftovers.rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.end();
  };
}
