/**
 * The config-file and flag layers of the CLI's configuration (Node only: it reads files; the schema and the
 * env layer in src/config.ts are shared with the edge runtimes). Discovery follows upstream's Go worker:
 * `--config`, else REPROQ_CONFIG, else the first of CONFIG_NAMES in the working directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { isMap, LineCounter, parseDocument, type Node } from 'yaml';
import { ConfigSchema, envLayer, flatten, resolveConfig, type Layer, type ResolvedConfig, type Source } from '../config.ts';
import { ConfigError } from '../errors.ts';

export const CONFIG_NAMES = ['reproq.yaml', 'reproq.yml', 'reproq.toml', '.reproq.yaml', '.reproq.yml', '.reproq.toml'] as const;

/**
 * Upstream keys that only configure the Go worker's Python executor. An upstream config file carries them,
 * so they are accepted and reported as ignored rather than rejected as unknown.
 */
const EXECUTOR_ONLY_KEYS = new Set([
  'worker.python_bin',
  'worker.executor_module',
  'worker.payload_mode',
  'worker.max_payload_bytes',
  'worker.max_stdout_bytes',
  'worker.max_stderr_bytes',
  'worker.exec_timeout',
]);

export interface ConfigFile {
  /** As given or discovered (relative names stay relative, for messages). */
  path: string;
  format: 'yaml' | 'toml';
  /** The file's settings, nested, with upstream's "not set" values (``, [], null) and executor-only keys removed. */
  values: Record<string, unknown>;
  /** Executor-only upstream keys present in the file. */
  ignored: string[];
  /** 1-based line of a dotted key (or of its deepest present parent), when the format allows. */
  lineOf(key: string): number | undefined;
}

/** The config file to use, or undefined when there is none; a named file that does not exist is an error. */
export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  for (const [given, source] of [
    [explicit, '--config'],
    [env.REPROQ_CONFIG, 'REPROQ_CONFIG'],
  ] as const) {
    if (given === undefined) continue;
    if (given.trim() === '') {
      if (source === '--config') throw new ConfigError(source, 'missing value for --config');
      continue; // a set but empty variable is ignored, as everywhere upstream
    }
    if (!existsSync(path.resolve(cwd, given))) throw new ConfigError(source, `config file not found: ${given}`);
    return given;
  }
  return CONFIG_NAMES.find((name) => existsSync(path.join(cwd, name)));
}

/** Reads and validates a config file on its own, so every error names the file and line. */
export function readConfigFile(file: string, cwd = process.cwd()): ConfigFile {
  const ext = path.extname(file).toLowerCase();
  const format = ext === '.yaml' || ext === '.yml' ? 'yaml' : ext === '.toml' ? 'toml' : undefined;
  if (!format) throw new ConfigError(file, `unsupported config extension "${ext}" (use .yaml, .yml or .toml)`);
  const text = readFileSync(path.resolve(cwd, file), 'utf8');
  const { data, lineOf } = format === 'yaml' ? parseYaml(file, text) : parseTomlFile(file, text);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(file, 'the top level must be a mapping of keys (dsn, worker, beat, metrics, …)');
  }
  const ignored: string[] = [];
  const values = clean(data as Record<string, unknown>, '', ignored);
  const parsed = ConfigSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = [...issue.path.map(String), ...(issue.code === 'unrecognized_keys' ? [issue.keys[0]!] : [])].join('.');
    const line = lineOf(key);
    const message = issue.code === 'unrecognized_keys' ? `${key}: unknown key` : `${key}: ${issue.message}`;
    throw new ConfigError(line === undefined ? file : `${file}:${line}`, message);
  }
  return { path: file, format, values, ignored, lineOf };
}

/** Drops upstream's "not set" values and the executor-only keys, recording the latter. */
function clean(obj: Record<string, unknown>, prefix: string, ignored: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (EXECUTOR_ONLY_KEYS.has(key)) {
      ignored.push(key);
      continue;
    }
    if (v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? clean(v as Record<string, unknown>, key, ignored) : v;
  }
  return out;
}

function parseYaml(file: string, text: string): { data: unknown; lineOf: (key: string) => number | undefined } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0].line;
    throw new ConfigError(line === undefined ? file : `${file}:${line}`, `invalid YAML: ${err.message.split('\n')[0]}`);
  }
  const lineOf = (key: string) => {
    let node: unknown = doc.contents;
    let line: number | undefined;
    for (const part of key.split('.')) {
      if (!isMap(node)) break;
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      const range = (pair.key as Node).range;
      if (range) line = counter.linePos(range[0]).line;
      node = pair.value;
    }
    return line;
  };
  return { data: doc.toJS(), lineOf };
}

function parseTomlFile(file: string, text: string): { data: unknown; lineOf: (key: string) => number | undefined } {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) throw new ConfigError(`${file}:${err.line}`, `invalid TOML: ${err.message.split('\n')[0]}`);
    throw err;
  }
  // smol-toml keeps no positions: find `key =` under its `[table]` header (or as a dotted top-level key).
  const lines = text.split(/\r?\n/);
  const lineOf = (key: string) => {
    const parts = key.split('.');
    let table = '';
    let found: number | undefined;
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
      if (header) {
        table = header[1]!;
        if (parts.slice(0, -1).join('.') === table && found === undefined) found = i + 1;
        continue;
      }
      const assigned = /^([A-Za-z0-9_.\s"-]+?)\s*=/.exec(line)?.[1]?.replace(/[\s"]/g, '');
      if (assigned !== undefined && (table ? `${table}.${assigned}` : assigned) === key) return i + 1;
    }
    return found;
  };
  return { data, lineOf };
}

/** The file as a config layer; each key's source names the file and, where known, its line. */
export function fileLayer(file: ConfigFile): Layer {
  return {
    values: flatten(file.values),
    source: (key) => {
      const line = file.lineOf(key);
      return `file:${file.path}${line === undefined ? '' : `:${line}`}` as Source;
    },
  };
}

export interface FlagSetting {
  key: string;
  flag: string;
  value: unknown;
}

/** Flags the user actually gave, as the top layer. */
export function flagLayer(settings: readonly FlagSetting[]): Layer {
  const values: Record<string, unknown> = {};
  const flags: Record<string, string> = {};
  for (const s of settings) {
    if (s.value === undefined) continue;
    values[s.key] = s.value;
    flags[s.key] = s.flag;
  }
  return { values, source: (key) => `flag:${flags[key]}` as Source };
}

export interface CliConfig extends ResolvedConfig {
  file?: ConfigFile;
}

/** defaults < config file < env < flags. */
export function loadCliConfig(opts: { config?: string; flags?: readonly FlagSetting[]; env?: NodeJS.ProcessEnv } = {}): CliConfig {
  const env = opts.env ?? process.env;
  const found = findConfigFile(opts.config, env);
  const file = found === undefined ? undefined : readConfigFile(found);
  const layers = [...(file ? [fileLayer(file)] : []), envLayer(env), flagLayer(opts.flags ?? [])];
  return { ...resolveConfig(layers), file };
}

const RANK = (source: Source | undefined): number =>
  source === undefined ? 0 : source.startsWith('file:') ? 1 : source.startsWith('env:') ? 2 : 3;

/**
 * The DSN a role uses, with upstream's precedence across layers: a flag beats DATABASE_URL, which beats the
 * file; within one layer the role's own `worker.dsn`/`beat.dsn` beats the top-level `dsn`.
 */
export function cliDsn(cfg: CliConfig, role: 'worker' | 'beat' = 'worker'): { dsn: string; source: Source } | undefined {
  const roleKey = `${role}.dsn`;
  const candidates = [
    { dsn: cfg.config[role].dsn, source: cfg.sources[roleKey], rank: RANK(cfg.sources[roleKey]) + 0.5 },
    { dsn: cfg.config.dsn, source: cfg.sources.dsn, rank: RANK(cfg.sources.dsn) },
  ].filter((c): c is { dsn: string; source: Source; rank: number } => c.dsn !== undefined && c.source !== undefined);
  candidates.sort((a, b) => b.rank - a.rank);
  return candidates[0] && { dsn: candidates[0].dsn, source: candidates[0].source };
}
