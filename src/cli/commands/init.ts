import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify as stringifyToml } from 'smol-toml';
import { Document } from 'yaml';
import { migrate } from '../../migrate.ts';
import { oneOf } from '../args.ts';
import { readConfigFile } from '../config-file.ts';
import { commandConfig, withDb, withDbFlags, type DbFlags } from '../context.ts';
import { migrateProgress } from '../progress.ts';

interface InitFlags extends DbFlags {
  format: 'yaml' | 'toml';
  force?: boolean;
  skipMigrate?: boolean;
  tasks?: string;
}

/**
 * Upstream's reproq.example keys that apply here. The DSN is written only when given with --dsn: the usual
 * place for a password is DATABASE_URL, not a file in the repository.
 */
function template(flags: InitFlags): Record<string, unknown> {
  return {
    ...(flags.dsn && { dsn: flags.dsn }),
    ...(flags.tasks && { tasks: flags.tasks }),
    worker: {
      queues: ['default'],
      allowed_task_modules: [],
      concurrency: 10,
      lease_seconds: 300,
      heartbeat_seconds: 60,
      reclaim_interval_seconds: 60,
      poll_min_backoff: '100ms',
      poll_max_backoff: '5s',
      shutdown_timeout: '30s',
      priority_aging_factor: 60,
      max_attempts_default: 3,
      logs_dir: '',
    },
    beat: { interval: '30s' },
    metrics: { addr: '127.0.0.1:9090', allow_cidrs: ['127.0.0.1/32'], auth_token: '' },
  };
}

const HEADER =
  'Reproq Edge config (upstream reproq-worker keys). Precedence: defaults < this file < env < flags.\n' +
  'The DSN usually comes from DATABASE_URL; `reproq allowlist --write` fills worker.allowed_task_modules.';

export function registerInit(program: Command): void {
  withDbFlags(program.command('init').description('write a config file (reproq.yaml or reproq.toml) and apply the migrations'))
    .option('--format <fmt>', 'yaml | toml', oneOf(['yaml', 'toml'] as const), 'yaml')
    .option('--force', 'overwrite an existing config file')
    .option('--skip-migrate', 'only write the config file')
    .option('--tasks <path>', 'tasks module to record in the file')
    .action(async (flags: InitFlags) => {
      const file = flags.config ?? `reproq.${flags.format}`;
      const format = /\.toml$/i.test(file) ? 'toml' : 'yaml';
      if (existsSync(file) && !flags.force) {
        console.log(`Config already exists at ${file} (--force to overwrite).`);
      } else {
        const data = template(flags);
        const text =
          format === 'yaml'
            ? Object.assign(new Document(data), { commentBefore: ` ${HEADER.replaceAll('\n', '\n ')}` }).toString()
            : `${HEADER.replace(/^/gm, '# ')}\n${stringifyToml(data)}\n`;
        writeFileSync(file, text);
        readConfigFile(file); // what init writes must load
        console.log(`Wrote ${file}.`);
      }
      if (flags.skipMigrate) return;
      const cfg = commandConfig({ ...flags, config: file });
      await withDb(flags, async (db) => {
        const r = await migrate(db, { onProgress: migrateProgress() });
        console.log(r.applied.length ? `Applied ${r.applied.join(', ')}.` : 'Schema is up to date.');
      }, cfg);
      console.log('Reproq is ready.');
    });
}
