import { pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Command } from 'commander';
import { connect } from '../db/connect.ts';
import type { Db } from '../db/types.ts';
import { ConfigError } from '../errors.ts';
import { registryFromModule, type TaskRegistry } from '../tasks/registry.ts';

export interface DbFlags {
  dsn?: string;
  driver?: 'pg' | 'neon-ws' | 'neon-http' | 'pglite';
  wsProxy?: string;
}

/** Adds the connection flags every database command shares. */
export function withDbFlags(cmd: Command): Command {
  return cmd
    .option('--dsn <url>', 'database URL (default: DATABASE_URL); pglite://DIR or pglite://memory for embedded')
    .option('--driver <name>', 'pg | neon-ws | neon-http | pglite (default: from the URL)')
    .option('--ws-proxy <host:port>', 'route the Neon driver through a local WebSocket proxy (WS_PROXY)');
}

/** `--dsn` beats `DATABASE_URL`; with neither, the error names both. */
export async function openDatabase(flags: DbFlags): Promise<Db> {
  const dsn = flags.dsn ?? process.env.DATABASE_URL;
  if (!dsn) throw new ConfigError('DATABASE_URL', 'no database given: pass --dsn or set DATABASE_URL');
  return connect(dsn, { driver: flags.driver, wsProxy: flags.wsProxy ?? process.env.WS_PROXY });
}

/** Loads a user's tasks module (`--tasks PATH` or `REPROQ_TASKS`), TypeScript or JavaScript. */
export async function loadTasks(file: string | undefined): Promise<TaskRegistry> {
  const target = file ?? process.env.REPROQ_TASKS;
  if (!target) throw new ConfigError('REPROQ_TASKS', 'no tasks module given: pass --tasks PATH or set REPROQ_TASKS');
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path.resolve(target)).href);
  } catch (err) {
    throw new ConfigError('--tasks', `cannot load tasks module ${target}: ${(err as Error).message}`);
  }
  const registry = registryFromModule(mod);
  if (registry.size === 0) throw new ConfigError('--tasks', `${target} exports no task definitions`);
  return registry;
}

/** Runs `fn` with an open database and always closes it. */
export async function withDb<T>(flags: DbFlags, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(flags);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
