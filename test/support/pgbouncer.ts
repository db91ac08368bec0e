/**
 * A private PgBouncer in transaction mode in front of the test server, on a free port, with its
 * own config and auth file: what serverless apps connect through (Supabase's pooler, RDS Proxy
 * and Neon's pooled URLs are transaction-mode poolers too). Debian: apt-get install pgbouncer.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './postgres.ts';

export const PGBOUNCER = ['/usr/sbin/pgbouncer', 'pgbouncer'].find((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
export const NO_PGBOUNCER = 'pgbouncer is not installed (Debian: apt-get install pgbouncer; .ci/run does)';

export interface PgBouncer {
  port: number;
  /** `server` (a postgres:// URL of the real server) with host and port swapped for the pooler's. */
  url(server: string): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Server connections per database and user (PgBouncer's default_pool_size). */
  poolSize?: number;
}

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => (s.end(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts PgBouncer in front of the server `server` points at (any database name passes through). */
export async function startPgBouncer(server: string, opts: PgBouncerOptions = {}): Promise<PgBouncer> {
  if (!PGBOUNCER) throw new Error(NO_PGBOUNCER);
  const target = new URL(server);
  const user = decodeURIComponent(target.username || 'postgres');
  const password = decodeURIComponent(target.password);
  const dir = mkdtempSync(path.join(tmpdir(), 'reproq-pgbouncer-'));
  // PgBouncer refuses to run as root; it then drops to `nobody`, which must read its files.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const serverSide = [`host=${target.hostname}`, `port=${target.port || 5432}`, `user=${quote(user)}`, ...(password ? [`password=${quote(password)}`] : [])];
  writeFileSync(path.join(dir, 'userlist.txt'), `"${user}" ""\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = ${serverSide.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${opts.poolSize ?? 10}`,
      'max_client_conn = 500',
      // pg sends no startup options PgBouncer needs to know about; the Neon driver neither.
      'ignore_startup_parameters = extra_float_digits,options',
      'server_reset_query =',
      '',
    ].join('\n'),
  );
  for (const f of ['userlist.txt', 'pgbouncer.ini']) chmodSync(path.join(dir, f), 0o644);
  const args = [...(userInfo().uid === 0 ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')];
  const child = spawn(PGBOUNCER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  try {
    await listening(port, child, () => output.slice(-2000));
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url(serverUrl: string) {
      const u = new URL(serverUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
