import { pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Command } from 'commander';
import { connect } from '../db/connect.ts';
import { describeError } from '../db/errors.ts';
import type { Db } from '../db/types.ts';
import { ConfigError, ReproqError } from '../errors.ts';
import { DEBUG_TASKS } from '../tasks/debug.ts';
import { registryFromModule, type TaskRegistry } from '../tasks/registry.ts';
import { cliDsn, loadCliConfig, type CliConfig, type FlagSetting } from './config-file.ts';

export interface DbFlags {
  dsn?: string;
  config?: string;
  driver?: 'pg' | 'neon-ws' | 'neon-http' | 'pglite';
  wsProxy?: string;
}

/** Adds the connection flags every database command shares. */
export function withDbFlags(cmd: Command): Command {
  return cmd
    .option('--dsn <url>', 'database URL (default: DATABASE_URL, then dsn in the config file); pglite://DIR or pglite://memory for embedded')
    .option('--config <file>', 'config file (default: REPROQ_CONFIG, then reproq.yaml/.yml/.toml or .reproq.* in the working directory)')
    .option('--driver <name>', 'pg | neon-ws | neon-http | pglite (default: from the URL)')
    .option('--ws-proxy <host:port>', 'route the Neon driver through a local WebSocket proxy (WS_PROXY)');
}

/** The layered config of a command: its config file, the environment, and the flags it was given. */
export function commandConfig(flags: DbFlags, settings: readonly FlagSetting[] = []): CliConfig {
  return loadCliConfig({ config: flags.config, flags: [{ key: 'dsn', flag: '--dsn', value: flags.dsn }, ...settings] });
}

/** `--dsn` beats `DATABASE_URL`, which beats the config file; with none, the error names them. */
export async function openDatabase(flags: DbFlags, cfg: CliConfig = commandConfig(flags), role: 'worker' | 'beat' = 'worker'): Promise<Db> {
  const chosen = cliDsn(cfg, role);
  if (!chosen) throw new ConfigError('DATABASE_URL', 'no database given: pass --dsn, set DATABASE_URL, or set dsn in reproq.yaml');
  return connect(chosen.dsn, {
    driver: flags.driver,
    wsProxy: flags.wsProxy ?? process.env.WS_PROXY,
    source: chosen.source.replace(/^(flag|env|file):/, ''),
    preparedStatements: cfg.config.prepared_statements,
  });
}

/**
 * Loads a user's tasks module (`--tasks PATH`, REPROQ_TASKS or `tasks` in the config file), TypeScript or
 * JavaScript, plus upstream's debug tasks unless the module defines its own.
 */
export async function loadTasks(file: string | undefined): Promise<TaskRegistry> {
  const target = file ?? process.env.REPROQ_TASKS;
  if (!target) throw new ConfigError('REPROQ_TASKS', 'no tasks module given: pass --tasks PATH, set REPROQ_TASKS, or set tasks in reproq.yaml');
  let mod: Record<string, unknown>;
  try {
    if (TYPESCRIPT.test(target)) await loadTypeScript();
    mod = await import(pathToFileURL(path.resolve(target)).href);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const e = err as Error & { code?: string };
    const hint = e.code === 'ERR_UNKNOWN_FILE_EXTENSION' ? ' (a .ts tasks module needs tsx: npm install -D tsx)' : '';
    throw new ConfigError('--tasks', `cannot load tasks module ${target}: ${describeError(err)}${hint}`);
  }
  const registry = registryFromModule(mod);
  if (registry.size === 0) throw new ConfigError('--tasks', `${target} exports no task definitions`);
  for (const task of DEBUG_TASKS) if (!registry.get(task.path)) registry.register(task);
  return registry;
}

const TYPESCRIPT = /\.[cm]?tsx?$/;

/**
 * A TypeScript tasks module loads through tsx, an optional peer dependency, so a project whose
 * tasks are JavaScript installs no compiler. Without tsx, Node's own type stripping (Node 22.18+)
 * may still load it; otherwise the import fails with a hint to install tsx.
 */
async function loadTypeScript(): Promise<void> {
  const api = await import('tsx/esm/api').catch((err: { code?: string }) => {
    if (err?.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  });
  api?.register();
}

/** Runs `fn` with an open database and always closes it. */
export async function withDb<T>(flags: DbFlags, fn: (db: Db) => Promise<T>, cfg?: CliConfig): Promise<T> {
  const db = await openDatabase(flags, cfg);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Prints `value` as one JSON line, or `text` when --json is off. */
export function output(json: boolean | undefined, value: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(value) : text());
}

export const NO_SCHEMA_HINT = 'the database has no Reproq schema; run `reproq migrate` (or check --dsn/DATABASE_URL)';

/** After a database error: a database with no task_runs table was never migrated, which says more than the error. */
export async function assertSchemaPresent(db: Db): Promise<void> {
  const r = await db.query<{ present: boolean }>(`SELECT to_regclass('task_runs') IS NOT NULL AS present`).catch(() => null);
  if (r?.rows[0]?.present === false) throw new ReproqError(`relation "task_runs" does not exist: ${NO_SCHEMA_HINT}`);
}
