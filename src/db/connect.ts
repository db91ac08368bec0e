/**
 * Opens a `Db` from a DSN, in Node. Drivers load lazily, so a CLI using pg never loads PGlite's
 * WASM or the Neon driver.
 */
import { ConfigError } from '../errors.ts';
import type { Db, DriverName } from './types.ts';

const DRIVERS: readonly DriverName[] = ['pg', 'neon-ws', 'neon-http', 'pglite'];

export interface ConnectOptions {
  /** For postgres:// DSNs; default `pg`. A pglite:// DSN always uses PGlite. */
  driver?: DriverName;
  /** `host:port` of the local proxy (src/dev/wsproxy.ts): neon-ws tunnels through it, neon-http posts to its /sql. */
  wsProxy?: string;
  /** Pool size for pg and neon-ws. */
  max?: number;
  /** Where the DSN came from (env var, flag, config key); errors name it. Default `dsn`. */
  source?: string;
  /** Named prepared statements for pg and neon-ws (default: on, unless the URL says `pgbouncer=true`). */
  preparedStatements?: boolean;
}

/**
 * `pglite://memory` (or `pglite://`) opens an in-memory PGlite, `pglite://<path>` one stored in
 * that directory; `postgres://` and `postgresql://` open the chosen driver. Errors never echo the
 * DSN, which may hold a password.
 */
export async function connect(dsn: string, opts: ConnectOptions = {}): Promise<Db> {
  const source = opts.source ?? 'dsn';
  const { driver, max, wsProxy, preparedStatements } = opts;
  if (driver !== undefined && !DRIVERS.includes(driver)) {
    throw new ConfigError('driver', `unknown driver "${String(driver)}"; expected one of ${DRIVERS.join(', ')}`);
  }
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw new ConfigError('max', `pool size must be a positive integer, got ${max}`);
  }

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(dsn)?.[1]?.toLowerCase();
  if (scheme === 'pglite') {
    if (driver !== undefined && driver !== 'pglite') {
      throw new ConfigError(source, `a pglite:// DSN cannot be opened with driver ${driver}`);
    }
    const path = dsn.slice('pglite://'.length);
    const { pgliteDb } = await peer(import('./pglite.ts'), 'pglite', ['@electric-sql/pglite']);
    return pgliteDb({ dataDir: path === '' || path === 'memory' ? undefined : path });
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    const got = scheme === undefined ? 'no scheme' : `scheme "${scheme}:"`;
    throw new ConfigError(source, `expected a postgres://, postgresql:// or pglite:// URL, got ${got}`);
  }
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new ConfigError(
      source,
      'is not a valid postgres:// URL (check the port, and percent-encode special characters in the user and password)',
    );
  }
  if (url.hostname === '') throw new ConfigError(source, 'has no host');
  if (driver === 'pglite') throw new ConfigError(source, 'driver pglite needs a pglite:// DSN');

  switch (driver ?? 'pg') {
    case 'neon-ws': {
      const { neonNodePoolDb } = await peer(import('./neon-node.ts'), 'neon-ws', ['@neondatabase/serverless', 'ws']);
      return neonNodePoolDb({ connectionString: dsn, max, wsProxy, preparedStatements });
    }
    case 'neon-http': {
      const { neonHttpDb } = await peer(import('./neon.ts'), 'neon-http', ['@neondatabase/serverless']);
      return neonHttpDb({ connectionString: dsn, fetchEndpoint: wsProxy === undefined ? undefined : `http://${wsProxy}/sql` });
    }
    case 'pg': {
      const { pgDb } = await peer(import('./pg.ts'), 'pg', ['pg']);
      return pgDb({ connectionString: dsn, max, preparedStatements });
    }
  }
}

/**
 * The drivers are optional peer dependencies: a project installs only the one it uses. A missing
 * one gets a line naming the package to install instead of Node's resolver error.
 */
async function peer<T>(load: Promise<T>, driver: DriverName, packages: readonly string[]): Promise<T> {
  try {
    return await load;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const missing = packages.filter((p) => e.code === 'ERR_MODULE_NOT_FOUND' && e.message?.includes(`'${p}'`));
    if (missing.length === 0) throw err;
    throw new ConfigError('driver', `driver ${driver} needs the ${packages.join(' and ')} package${packages.length > 1 ? 's' : ''}: npm install ${packages.join(' ')}`);
  }
}
