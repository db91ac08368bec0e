import * as z from 'zod/mini';
import { defaultHeartbeatSeconds, HEARTBEAT_NOT_SHORTER } from './drain/options.ts';
import { ConfigError } from './errors.ts';

/**
 * The one configuration schema, shared by the CLI, the HTTP app and every platform entry point.
 * Keys follow upstream's reproq.yaml/reproq.toml (`dsn`, `worker.*`, `beat.*`, `metrics.*`); the
 * `http.*` and `drain.*` sections are ours. Precedence: defaults < config file < env < flags.
 */

const nonEmpty = () => z.string().check(z.minLength(1));
const list = z.array(nonEmpty());
const duration = z.string().check(z.regex(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, 'a duration such as 300ms, 30s, 1m30s'));
const int = (min: number, max: number, fallback: number) => z._default(z.int().check(z.minimum(min), z.maximum(max)), fallback);
const atLeast = (min: number, fallback: number) => int(min, Number.MAX_SAFE_INTEGER, fallback);
/** A config section: unknown keys refused, absent means every default. */
const section = <S extends z.core.$ZodLooseShape>(shape: S) => z.prefault(z.strictObject(shape), {} as z.input<z.ZodMiniObject<S, z.core.$strict>>);

const WorkerSection = z.strictObject({
  dsn: z.optional(nonEmpty()),
  worker_id: z.optional(nonEmpty()),
  process_role: z._default(nonEmpty(), 'worker'),
  queues: z._default(list, ['default']),
  allowed_task_modules: z._default(z.array(z.string()), []),
  concurrency: int(1, 1000, 10),
  lease_seconds: atLeast(1, 300),
  /** Unset, or 0 (upstream: never renew): min(60, lease_seconds / 5). A drain always renews what it holds. */
  heartbeat_seconds: z.optional(z.int().check(z.minimum(0))),
  reclaim_interval_seconds: atLeast(0, 60),
  priority_aging_factor: z._default(z.number().check(z.minimum(0)), 60),
  logs_dir: z.optional(z.string()),
  max_attempts_default: atLeast(1, 3),
  poll_min_backoff: z._default(duration, '100ms'),
  poll_max_backoff: z._default(duration, '5s'),
  shutdown_timeout: z._default(duration, '30s'),
}).check(
  z.superRefine((w, ctx) => {
    if (w.heartbeat_seconds && w.heartbeat_seconds >= w.lease_seconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeat_seconds'],
        message: `${w.heartbeat_seconds} is not shorter than worker.lease_seconds (${w.lease_seconds}): ${HEARTBEAT_NOT_SHORTER}`,
      });
    }
  }),
);

export const ConfigSchema = z.strictObject({
  dsn: z.optional(nonEmpty()),
  /**
   * Named prepared statements on pg and neon-ws connections. Unset: on, unless the DSN says
   * `pgbouncer=true`. Off behind a transaction-mode pooler that cannot keep them.
   */
  prepared_statements: z.optional(z.boolean()),
  tasks: z.optional(nonEmpty()),
  worker: z.prefault(
    z.pipe(
      WorkerSection,
      z.transform((w: z.output<typeof WorkerSection>) => ({ ...w, heartbeat_seconds: w.heartbeat_seconds || defaultHeartbeatSeconds(w.lease_seconds) })),
    ),
    {},
  ),
  drain: section({
    batch_size: int(1, 1000, 100),
    budget_ms: atLeast(100, 25_000),
    unknown_tasks: z._default(z.enum(['skip', 'fail']), 'skip'),
  }),
  beat: section({
    dsn: z.optional(nonEmpty()),
    interval: z._default(duration, '30s'),
  }),
  metrics: section({
    addr: z.optional(z.string()),
    port: int(0, 65535, 0),
    auth_token: z.optional(z.string()),
    allow_cidrs: z._default(z.array(z.string()), []),
    auth_limit: atLeast(1, 30),
    auth_window: z._default(duration, '1m'),
    auth_max_entries: atLeast(1, 1000),
    tls_cert: z.optional(z.string()),
    tls_key: z.optional(z.string()),
    tls_client_ca: z.optional(z.string()),
  }),
  http: section({
    /** Bearer token for the mutating routes (REPROQ_AUTH_TOKEN). */
    auth_token: z.optional(z.string()),
    /** Vercel's cron bearer (CRON_SECRET), accepted where the platform sends it. */
    cron_secret: z.optional(z.string()),
    /** Serve mutating routes with no token at all. Development only. */
    allow_insecure: z._default(z.boolean(), false),
    route_prefix: z._default(z.string().check(z.regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'a path such as /reproq, or empty')), ''),
    /** Which header carries the client IP: none, CF-Connecting-IP, or X-Forwarded-For with N trusted hops. */
    trust_proxy: z._default(z.enum(['none', 'cf-connecting-ip', 'x-forwarded-for']), 'none'),
    trusted_hops: atLeast(1, 1),
    max_body_bytes: atLeast(1024, 1024 * 1024),
    max_batch_size: int(1, 1000, 500),
    max_concurrency: int(1, 1000, 50),
    max_budget_ms: atLeast(100, 60_000),
  }),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

type Kind = 'string' | 'list' | 'int' | 'float' | 'bool';

/** Environment variables and the config key each one sets (upstream's names where they exist). */
export const ENV_VARS: Readonly<Record<string, { key: string; kind: Kind }>> = {
  DATABASE_URL: { key: 'dsn', kind: 'string' },
  REPROQ_PREPARED_STATEMENTS: { key: 'prepared_statements', kind: 'bool' },
  REPROQ_TASKS: { key: 'tasks', kind: 'string' },
  WORKER_ID: { key: 'worker.worker_id', kind: 'string' },
  REPROQ_PROCESS_ROLE: { key: 'worker.process_role', kind: 'string' },
  QUEUE_NAMES: { key: 'worker.queues', kind: 'list' },
  ALLOWED_TASK_MODULES: { key: 'worker.allowed_task_modules', kind: 'list' },
  PRIORITY_AGING_FACTOR: { key: 'worker.priority_aging_factor', kind: 'float' },
  REPROQ_LOGS_DIR: { key: 'worker.logs_dir', kind: 'string' },
  REPROQ_BATCH_SIZE: { key: 'drain.batch_size', kind: 'int' },
  REPROQ_BUDGET_MS: { key: 'drain.budget_ms', kind: 'int' },
  REPROQ_UNKNOWN_TASKS: { key: 'drain.unknown_tasks', kind: 'string' },
  METRICS_ADDR: { key: 'metrics.addr', kind: 'string' },
  METRICS_AUTH_TOKEN: { key: 'metrics.auth_token', kind: 'string' },
  METRICS_ALLOW_CIDRS: { key: 'metrics.allow_cidrs', kind: 'list' },
  METRICS_AUTH_LIMIT: { key: 'metrics.auth_limit', kind: 'int' },
  METRICS_AUTH_WINDOW: { key: 'metrics.auth_window', kind: 'string' },
  METRICS_AUTH_MAX_ENTRIES: { key: 'metrics.auth_max_entries', kind: 'int' },
  METRICS_TLS_CERT: { key: 'metrics.tls_cert', kind: 'string' },
  METRICS_TLS_KEY: { key: 'metrics.tls_key', kind: 'string' },
  METRICS_TLS_CLIENT_CA: { key: 'metrics.tls_client_ca', kind: 'string' },
  REPROQ_AUTH_TOKEN: { key: 'http.auth_token', kind: 'string' },
  CRON_SECRET: { key: 'http.cron_secret', kind: 'string' },
  REPROQ_ALLOW_INSECURE: { key: 'http.allow_insecure', kind: 'bool' },
  REPROQ_ROUTE_PREFIX: { key: 'http.route_prefix', kind: 'string' },
  REPROQ_TRUST_PROXY: { key: 'http.trust_proxy', kind: 'string' },
  REPROQ_TRUSTED_HOPS: { key: 'http.trusted_hops', kind: 'int' },
};

/** Keys whose values are never printed. */
export const SECRET_KEYS = new Set(['dsn', 'worker.dsn', 'beat.dsn', 'metrics.auth_token', 'http.auth_token', 'http.cron_secret']);

export type Source = 'default' | `file:${string}` | `env:${string}` | `flag:${string}`;

/** One layer of settings: dotted key → value, with where it came from. */
export interface Layer {
  values: Record<string, unknown>;
  source: (key: string) => Source;
}

/**
 * Reads the variables of ENV_VARS from any env object (process.env, a Worker's bindings). A set but
 * empty variable is ignored, as upstream does; a malformed number or boolean names the variable.
 */
export function envLayer(env: Record<string, unknown>): Layer {
  const values: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const [name, { key, kind }] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (typeof raw !== 'string' || raw.trim() === '') continue;
    values[key] = parseEnvValue(name, raw.trim(), kind);
    origin[key] = name;
  }
  return { values, source: (key) => `env:${origin[key]}` };
}

function parseEnvValue(name: string, raw: string, kind: Kind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(name, `expected a boolean (true/false), got ${JSON.stringify(raw)}`);
    case 'int':
    case 'float': {
      const n = Number(raw);
      if (!Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(name, `expected ${kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
      }
      return n;
    }
  }
}

/** Turns a nested object (a parsed config file) into dotted keys, keeping arrays whole. */
export function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}

function unflatten(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const parts = key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }
  return out;
}

export interface ResolvedConfig {
  config: Config;
  /** Where each explicitly set key came from; everything else is a default. */
  sources: Record<string, Source>;
}

/**
 * Merges layers (later wins) and validates once. An error names the key and the layer that set it
 * (`env:QUEUE_NAMES`, `file:reproq.yaml`, `flag:--concurrency`).
 */
export function resolveConfig(layers: readonly Layer[]): ResolvedConfig {
  const merged: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      if (value === undefined) continue;
      merged[key] = value;
      sources[key] = layer.source(key);
    }
  }
  const parsed = ConfigSchema.safeParse(unflatten(merged));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join('.');
    const unknownKey = issue.code === 'unrecognized_keys' ? [key, ...issue.keys].filter(Boolean).join('.') : key;
    const where = sources[unknownKey] ?? sources[key] ?? 'config';
    throw new ConfigError(where === 'default' ? unknownKey : `${unknownKey} (${where})`, issue.message);
  }
  return { config: parsed.data, sources };
}

/** The config an entry point without files or flags uses: defaults < env. */
export function configFromEnv(env: Record<string, unknown>): Config {
  return resolveConfig([envLayer(env)]).config;
}

/** The DSN a process should use: upstream lets `worker.dsn` override the top-level `dsn`. */
export function effectiveDsn(config: Config, role: 'worker' | 'beat' = 'worker'): string {
  const dsn = (role === 'beat' ? config.beat.dsn : config.worker.dsn) ?? config.dsn;
  if (!dsn) throw new ConfigError('DATABASE_URL', 'no database configured: set DATABASE_URL (or dsn in the config file, or --dsn)');
  return dsn;
}
