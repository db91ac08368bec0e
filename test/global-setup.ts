import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { pgDb } from '../src/db/pg.ts';
import { startWsProxy } from '../src/dev/wsproxy.ts';
import { migrate } from '../src/migrate.ts';
import { startTestServer, TestServerError, withDatabase, type TestServer } from './support/postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    wsProxyPort: number;
    templateDb: string;
  }
}

/**
 * Chooses the PostgreSQL server (see test/support/postgres.ts), starts the WebSocket proxy (and
 * the Neon HTTP shim on the same port) and builds a migrated template database; each test file
 * clones it, so files run in parallel without sharing rows. A server that cannot be used stops
 * the run with one line: the suite never skips the database.
 */
export default async function setup(project: TestProject) {
  let server: TestServer;
  try {
    server = await startTestServer();
  } catch (err) {
    if (!(err instanceof TestServerError)) throw err;
    console.error(`\nreproq tests: ${err.message}\n`);
    process.exit(1);
  }
  console.log(`reproq tests use ${server.description}`);
  // Test workers are forked after this and inherit it (test/support/urls.ts reads it).
  process.env.DATABASE_URL = server.url;

  const templateDb = `reproq_tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
  await admin.query(`CREATE DATABASE ${templateDb}`);
  const db = pgDb({ connectionString: withDatabase(server.url, templateDb) });
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
    await server.stop();
  };
}
