import type { Command } from 'commander';
import { flatten, SECRET_KEYS, type Config } from '../../config.ts';
import { oneOf } from '../args.ts';
import { commandConfig, output } from '../context.ts';

const MODES = ['worker', 'beat', 'all'] as const;

/** The sections each process reads, as upstream's `config --mode` shows them (plus our drain/http). */
const VIEWS: Record<(typeof MODES)[number], readonly (keyof Config)[] | null> = {
  worker: ['dsn', 'tasks', 'worker', 'drain', 'metrics'],
  beat: ['dsn', 'beat'],
  all: null,
};

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('show the effective configuration (secrets masked); --explain adds where each value came from')
    .option('--config <file>', 'config file (default: REPROQ_CONFIG, then reproq.yaml/.yml/.toml or .reproq.*)')
    .option('--dsn <url>', 'as the other commands take it: beats DATABASE_URL and the file')
    .option('--mode <mode>', 'worker | beat | all', oneOf(MODES), 'worker')
    .option('--explain', 'list every setting with its source: default, file:PATH:LINE, env:NAME or flag:--NAME')
    .option('--json', 'print {file, config, sources, ignored} as JSON')
    .action((flags: { config?: string; dsn?: string; mode: (typeof MODES)[number]; explain?: boolean; json?: boolean }) => {
      const cfg = commandConfig(flags);
      const keys = VIEWS[flags.mode];
      const view = Object.fromEntries(Object.entries(cfg.config).filter(([k]) => keys === null || keys.includes(k as keyof Config)));
      const masked = mask(view);
      const leaves = flatten(masked);
      const sources = Object.fromEntries(Object.keys(leaves).map((k) => [k, cfg.sources[k] ?? 'default']));
      const file = cfg.file ? { path: cfg.file.path, format: cfg.file.format } : null;
      output(flags.json, { file, config: masked, sources, ignored: cfg.file?.ignored ?? [] }, () => {
        const lines = [
          `Config file: ${file ? `${file.path} (${file.format})` : '(none detected)'}`,
          'Precedence: defaults < config file < env vars < CLI flags',
          JSON.stringify(masked, null, 2),
        ];
        if (cfg.file?.ignored.length) lines.push(`Ignored (the Go worker's Python executor only): ${cfg.file.ignored.join(', ')}`);
        if (flags.explain) {
          lines.push('', 'Sources:');
          for (const [k, v] of Object.entries(leaves)) lines.push(`${k}: ${JSON.stringify(v)} (${sources[k]})`);
        }
        return lines.join('\n');
      });
    });
}

/** Upstream's masking: a DSN keeps scheme, user, host, port and database; tokens and secrets are redacted. */
export function mask(view: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(view)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out[k] = mask(v as Record<string, unknown>, key);
    else if (typeof v === 'string' && v !== '' && k === 'dsn') out[k] = maskDsn(v);
    else if (typeof v === 'string' && v !== '' && SECRET_KEYS.has(key)) out[k] = '<redacted>';
    else out[k] = v;
  }
  return out;
}

export function maskDsn(dsn: string): string {
  try {
    const u = new URL(dsn);
    const user = u.username ? `${u.username}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return '<redacted>';
  }
}
