import pg from 'pg';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { Db } from '../../src/db/types.ts';
import { ADMIN_URL, databaseUrl } from './urls.ts';

export type TestDriver = 'pg' | 'neon-ws' | 'neon-http' | 'pglite';
/** The drivers every queue suite runs on: node-postgres and the Neon WebSocket Pool via the proxy. */
export const QUEUE_DRIVERS: readonly TestDriver[] = ['pg', 'neon-ws'];

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${inject('templateDb')}_${Math.random().toString(36).slice(2, 10)}`;
  await admin(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDb')}`);
  return {
    name,
    url: databaseUrl(name),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * Opens `url` with the driver. Neon goes through the local proxy (WebSocket, or its /sql endpoint
 * for HTTP); PGlite ignores the URL and opens a fresh, migrated in-memory database.
 */
export async function openDb(driver: TestDriver, url: string, max = 10): Promise<Db> {
  const proxy = `127.0.0.1:${inject('wsProxyPort')}`;
  switch (driver) {
    case 'pg': {
      const { pgDb } = await import('../../src/db/pg.ts');
      return pgDb({ connectionString: url, max });
    }
    case 'neon-ws': {
      const { neonNodePoolDb } = await import('../../src/db/neon-node.ts');
      return neonNodePoolDb({ connectionString: url, max, wsProxy: proxy });
    }
    case 'neon-http': {
      const { neonHttpDb } = await import('../../src/db/neon.ts');
      return neonHttpDb({ connectionString: url, fetchEndpoint: `http://${proxy}/sql` });
    }
    case 'pglite': {
      const { pgliteDb } = await import('../../src/db/pglite.ts');
      const { migrate } = await import('../../src/migrate.ts');
      const db = await pgliteDb();
      await migrate(db);
      return db;
    }
  }
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs one statement on the admin database (CREATE/DROP DATABASE). */
export async function admin(sql: string): Promise<void> {
  await withAdmin((client) => client.query(sql));
}

export const NO_PG_CRON = 'the server has no pg_cron extension (Debian: apt-get install postgresql-15-cron; .ci/run does)';

/** Whether the server can create pg_cron (installed, not necessarily preloaded). */
export async function pgCronAvailable(): Promise<boolean> {
  const r = await withAdmin((client) => client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron'`));
  return (r.rowCount ?? 0) > 0;
}

/**
 * A database for one describe block: cloned before it, dropped after it, with `truncate` (a
 * comma-separated table list) emptied before each test. Read `db` and `url` inside tests.
 */
export function useTestDb(driver: TestDriver, truncate: string, max = 20): { readonly db: Db; readonly url: string } {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDb(driver, tdb.url, max);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });
  beforeEach(async () => {
    await db.query(`TRUNCATE ${truncate} RESTART IDENTITY`);
  });
  return {
    get db() {
      return db;
    },
    get url() {
      return tdb.url;
    },
  };
}
