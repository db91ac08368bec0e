/**
 * Cloudflare Workers entry: `export default createCloudflareWorker(registry)` gives the
 * `{ fetch, scheduled }` a Worker exports. A Worker cannot load a tasks module at run time, so
 * the user's Worker file imports its tasks and passes the registry in; wrangler bundles both
 * (see workers/example/cloudflare.ts and wrangler.toml).
 *
 * The database is reached with the Neon driver over WebSocket (no Node built-ins in the bundle),
 * one pool per event, ended through `ctx.waitUntil` after the answer: workerd does not let I/O
 * objects outlive the request that opened them.
 */
import { getConnInfo } from 'hono/cloudflare-workers';
import * as z from 'zod/mini';
import type { Config } from '../src/config.ts';
import type { dashboard as Dashboard } from '../src/dashboard/routes.tsx';
import type { Db } from '../src/db/types.ts';
import { ConfigError } from '../src/errors.ts';
import type { createApp } from '../src/http/app.ts';
import type { Ops } from '../src/jobs.ts';
import { JOB_NAMES, type JobName } from '../src/job-names.ts';
import { consoleLogger, type Logger } from '../src/logger.ts';
import type { TaskRegistry } from '../src/tasks/registry.ts';

/**
 * A Worker's default CPU limit is 30 s per invocation (cron triggers and requests alike; paid
 * plans can raise it with `[limits] cpu_ms`). The drain budget is wall-clock time, which is never
 * less than CPU time, so a 25 s wall budget cannot overrun 30 s of CPU and leaves 5 s to open the
 * connection and record the last batch. Raise `REPROQ_BUDGET_MS` with `cpu_ms`; this is only
 * the cap when neither says more.
 */
export const CLOUDFLARE_BUDGET_MS = 25_000;

export interface CloudflareEnv {
  DATABASE_URL?: string;
  /** Local dev and tests only: `host:port` of src/dev/wsproxy.ts, in front of a plain Postgres. */
  WS_PROXY?: string;
  /** Cron expression → job(s), a `[vars.REPROQ_CRONS]` table in wrangler.toml (or its JSON text). */
  REPROQ_CRONS?: unknown;
  [name: string]: unknown;
}

export interface CloudflareWorkerOptions {
  /** Beat, reclaim and metrics; default the core's. */
  ops?: Ops;
  /** Used when the env has no REPROQ_CRONS. */
  crons?: Record<string, JobName | JobName[]>;
  logger?: Logger;
  /** The Worker's wall-clock budget per event; see CLOUDFLARE_BUDGET_MS. */
  budgetMs?: number;
  /**
   * The operator's dashboard (`import { dashboard } from 'reproq-edge/dashboard'`), served at
   * `<route_prefix>/dashboard` when given. Left out by default: its pages are ~22 KiB gzip of the bundle.
   */
  dashboard?: typeof Dashboard;
}

const job = z.enum(JOB_NAMES);
const CronsSchema = z.record(
  z.string().check(z.minLength(1)),
  z.union([z.pipe(job, z.transform((j) => [j])), z.array(job).check(z.minLength(1))]),
);

/** Drain every minute; beat with it, so a periodic task's run is enqueued and drained in the same tick; reclaim every 5 minutes. */
export const DEFAULT_CRONS: Record<string, JobName[]> = { '* * * * *': ['beat', 'drain'], '*/5 * * * *': ['reclaim'] };

interface Isolate {
  config: Config;
  crons: Record<string, JobName[]>;
  /** A pool for one event: workerd does not let I/O objects outlive the event that opened them. */
  openDb(wsProxy: string | undefined): Db;
}

export function createCloudflareWorker(registry: TaskRegistry, options: CloudflareWorkerOptions = {}) {
  const log = options.logger ?? consoleLogger({ runtime: 'cloudflare' });
  const budgetMs = options.budgetMs ?? CLOUDFLARE_BUDGET_MS;
  // Bindings arrive with the first event, and are the same for every event of the isolate.
  let isolate: Isolate | undefined;
  let app: Promise<ReturnType<typeof createApp>> | undefined;

  // The core is imported on the first event that needs it, not at startup: a bundler keeps it in
  // the bundle but evaluates it only then, so the isolate starts with this module and the tasks, a
  // cron event never builds the HTTP app, and a request never loads the jobs it does not run.
  const init = async (env: CloudflareEnv): Promise<Isolate> => {
    if (isolate) return isolate;
    const [{ configFromEnv, effectiveDsn }, { neonPoolDb }] = await Promise.all([import('../src/config.ts'), import('../src/db/neon.ts')]);
    const config = configFromEnv(env);
    const dsn = effectiveDsn(config);
    const crons = parseCrons(env.REPROQ_CRONS, options.crons);
    const openDb = (wsProxy: string | undefined) => neonPoolDb({ connectionString: dsn, wsProxy, preparedStatements: config.prepared_statements });
    return (isolate = { config, crons, openDb });
  };

  const appOf = (iso: Isolate) =>
    (app ??= import('../src/http/app.ts').then(({ createApp }) =>
      createApp({
        config: iso.config,
        registry,
        ops: options.ops,
        logger: log,
        connInfo: getConnInfo,
        connect: (c) => iso.openDb((c.env as CloudflareEnv).WS_PROXY),
        platformBudgetMs: () => budgetMs,
        dashboard: options.dashboard,
      }),
    ));

  return {
    async fetch(request: Request, env: CloudflareEnv, ctx: ExecutionContext): Promise<Response> {
      let iso: Isolate;
      try {
        iso = await init(env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        log.error('bad configuration', { error: err.message });
        return Response.json({ error: { code: 'misconfigured', message: err.message, field: err.variable } }, { status: 500 });
      }
      return (await appOf(iso)).fetch(request, env, ctx);
    },

    /** Runs the job(s) mapped to the cron that fired, in order, inside one budget. */
    async scheduled(controller: ScheduledController, env: CloudflareEnv, ctx: ExecutionContext): Promise<void> {
      const started = Date.now();
      const { config, crons, openDb } = await init(env);
      const jobs = crons[controller.cron];
      if (!jobs) throw new ConfigError('REPROQ_CRONS', `no job is mapped to the cron "${controller.cron}" (mapped: ${Object.keys(crons).join(', ')})`);
      const { runJob } = await import('../src/jobs.ts');
      const db = openDb(env.WS_PROXY);
      try {
        for (const name of jobs) {
          const result = await runJob(name, {
            db,
            registry,
            config,
            ops: options.ops,
            logger: log.child({ job: name, cron: controller.cron }),
            platformBudgetMs: budgetMs - (Date.now() - started),
            // Two crons in one minute share this; it is for tracing, the drain makes each lease unique.
            invocationId: `cron-${controller.scheduledTime}`,
          });
          log.info('scheduled job done', { job: name, cron: controller.cron, summary: result.summary });
        }
      } finally {
        ctx.waitUntil(db.close());
      }
    },
  } satisfies ExportedHandler<CloudflareEnv>;
}

function parseCrons(raw: unknown, fallback: Record<string, JobName | JobName[]> | undefined): Record<string, JobName[]> {
  if (raw === undefined || raw === '') return CronsSchema.parse(fallback ?? DEFAULT_CRONS);
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError('REPROQ_CRONS', 'is not valid JSON: expected {"<cron>": "drain" | ["beat", "drain"], ...}');
    }
  }
  const parsed = CronsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError('REPROQ_CRONS', `${issue.path.map(String).join('.') || 'value'}: ${issue.message}`);
  }
  return parsed.data;
}
