/**
 * Databases for the benchmark: one server (loopback only), a template per system filled once,
 * and a fresh clone of it for every measured run, so no run sees another's dead tuples or cache.
 */
import pg from 'pg';
import { ADMIN_URL, databaseUrl } from '../support/urls.ts';
import { isLoopback } from '../../src/dev/wsproxy.ts';

/** Every database this run creates starts with this, so cleanup finds leftovers of a crash too. */
export const PREFIX = 'reproq_bench_';

export function serverUrl(): string {
  const host = new URL(ADMIN_URL).hostname.replace(/^\[(.*)\]$/, '$1');
  if (!isLoopback(host)) throw new Error(`the benchmark only talks to 127.0.0.1; DATABASE_URL points at ${host}`);
  return ADMIN_URL;
}

export async function admin<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export interface BenchDb {
  name: string;
  url: string;
  drop(): Promise<void>;
}

let seq = 0;

/** An empty database, or a clone of `template` (which must have no open connections). */
export async function createDb(label: string, template?: string): Promise<BenchDb> {
  const name = `${PREFIX}${label}_${process.pid}_${seq++}`;
  await admin(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  return { name, url: databaseUrl(name), drop: async () => void (await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
}

/**
 * Drops this run's databases and those of runs that died without cleaning up (their pid is gone);
 * a benchmark running alongside keeps its own.
 */
export async function dropOwnAndOrphans(): Promise<void> {
  const rows = await admin<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [PREFIX]);
  for (const { datname } of rows) {
    const pid = Number(/_(\d+)_\d+$/.exec(datname)?.[1]);
    if (pid === process.pid || !alive(pid)) await admin(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function serverVersion(): Promise<string> {
  const [row] = await admin<{ v: string }>(`SELECT current_setting('server_version') AS v`);
  return row!.v;
}
