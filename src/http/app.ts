import { zValidator } from '@hono/zod-validator';
import { type Context, type MiddlewareHandler } from 'hono';
import { Hono } from 'hono/tiny';
import { bodyLimit } from 'hono/body-limit';
import { every } from 'hono/combine';
import type { ZodMiniType } from 'zod/mini';
import type { Config } from '../config.ts';
import type { dashboard as Dashboard } from '../dashboard/routes.tsx';
import { describeError } from '../db/errors.ts';
import type { Db } from '../db/types.ts';
import { enqueueMany, type EnqueueInput, type EnqueueResult } from '../enqueue.ts';
import { DEFAULT_OPS, type DrainRequest, type JobName, type Ops, type ReclaimRequest, runJob } from '../jobs.ts';
import { consoleLogger, type Logger } from '../logger.ts';
import { warnAllowList } from '../tasks/allowlist.ts';
import type { TaskRegistry } from '../tasks/registry.ts';
import { createLimiter, metricsAuth, operatorAuth, type AuthSetup } from './auth.ts';
import { clientIpResolver, type ConnInfoFn } from './client-ip.ts';
import { errorHandler, jsonError, RETRY_AFTER_SECONDS } from './errors.ts';
import type { AuthFailureLimiter } from './limiter.ts';
import { openApiDocument, type OpenApiDocument } from './openapi.ts';
import { beatRequestSchema, drainRequestSchema, enqueueBodySchema, invalid, queryOf, ReclaimRequestSchema } from './schemas.ts';
import { mountTaskRoutes } from './task-routes.ts';

export { AuthFailureLimiter } from './limiter.ts';
export type { ConnInfoFn } from './client-ip.ts';
export type { ErrorBody } from './errors.ts';

export interface AppOptions {
  /** From `configFromEnv` (or the CLI's layered config): caps, auth, prefix, proxy trust. */
  config: Config;
  registry: TaskRegistry;
  /** A long-lived `Db` all requests share (Node, Lambda, Vercel's Node runtime). */
  db?: Db;
  /**
   * Or a `Db` per request, opened on first use and closed after the response (through
   * `waitUntil` where the runtime has it). Workers need this: I/O objects cannot outlive the
   * request that made them.
   */
  connect?: (c: Context) => Db | Promise<Db>;
  /** Beat, reclaim and metrics; default the core's (DEFAULT_OPS). */
  ops?: Ops;
  logger?: Logger;
  /** The runtime adapter's `getConnInfo`, used when `http.trust_proxy` is `none`. */
  connInfo?: ConnInfoFn;
  /** The platform's ceiling (ms) for a job started by this request, e.g. Lambda's remaining time. */
  platformBudgetMs?: (c: Context) => number | undefined;
  /** Shared between apps (or given a test clock); default: one per app. */
  limiter?: AuthFailureLimiter;
  /** `metrics`: only /metrics, /stats and /healthz (a worker's metrics listener). Default: every route. */
  only?: 'metrics';
  /**
   * The operator's dashboard, mounted at `<route_prefix>/dashboard` when given: pass `dashboard`
   * from `reproq-edge/dashboard`. Optional so that an app which does not serve it (a Worker
   * watching its bundle size) does not carry its pages.
   */
  dashboard?: typeof Dashboard;
}

type Env = { Variables: { reproqDb: Promise<Db> } };

/** A cheap ping should answer fast; a database that cannot is unhealthy. */
const HEALTH_TIMEOUT_MS = 5_000;

/**
 * The HTTP face of the queue as a Hono app. Mount it anywhere: its routes live under
 * `http.route_prefix`, or pass an empty prefix and `userApp.route('/queue', createApp(...))`.
 */
export function createApp(opts: AppOptions): Hono<Env> {
  const { config, registry } = opts;
  if (!opts.db === !opts.connect) throw new TypeError('createApp needs exactly one of `db` and `connect`');
  const log = opts.logger ?? consoleLogger({ component: 'http' });
  const ops = opts.ops ?? DEFAULT_OPS;
  const auth: AuthSetup = {
    config,
    clientIp: clientIpResolver(config, opts.connInfo),
    limiter: opts.limiter ?? createLimiter(config),
    log,
  };
  const operator = operatorAuth(auth, { cron: false });
  const cron = operatorAuth(auth, { cron: true });
  const metrics = every(...metricsAuth(auth));
  const limitBody = bodyLimit({
    maxSize: config.http.max_body_bytes,
    onError: (c) => jsonError(c, 413, 'body_too_large', `the body is over ${config.http.max_body_bytes} bytes`, 'body'),
  });

  const app = new Hono<Env>();
  const routes = config.http.route_prefix ? app.basePath(config.http.route_prefix) : app;
  app.onError(errorHandler(log));
  app.notFound((c) => jsonError(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  if (opts.connect) app.use(closePerRequestDb);

  const dbOf = (c: Context<Env>): Promise<Db> => {
    if (opts.db) return Promise.resolve(opts.db);
    let db = c.get('reproqDb');
    if (!db) {
      db = Promise.resolve().then(() => opts.connect!(c));
      c.set('reproqDb', db);
    }
    return db;
  };

  routes.get('/healthz', metrics, async (c) => {
    try {
      const db = await dbOf(c);
      await withTimeout(db.query('SELECT 1'), HEALTH_TIMEOUT_MS);
      return c.text('ok');
    } catch (err) {
      // Upstream's answer: no driver message leaks to an unauthenticated prober.
      log.warn('health check failed', { error: describeError(err) });
      return c.text('unhealthy', 503, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
  });

  routes.get('/metrics', metrics, async (c) => {
    const snapshot = await ops.metrics.collect(await dbOf(c));
    return c.text(ops.metrics.prometheus(snapshot), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  routes.get('/stats', metrics, async (c) => {
    const snapshot = await ops.metrics.collect(await dbOf(c));
    return c.json(ops.metrics.stats(snapshot) as object);
  });

  // The worker's metrics listener (upstream's --metrics-addr) serves only the three routes above.
  if (opts.only === 'metrics') return app;
  warnAllowList(config.worker.allowed_task_modules, registry, log);

  const job = async (c: Context<Env>, name: JobName, req: DrainRequest & ReclaimRequest) => {
    if (name === 'drain' && registry.size === 0) {
      // `reproq serve` without a tasks module: a drain could run nothing (or, with unknown_tasks=fail, fail everything).
      return jsonError(c, 503, 'no_tasks', 'this server has no tasks module, so it does not drain: start it with --tasks (or REPROQ_TASKS), or drain where the tasks are loaded');
    }
    const result = await runJob(name, {
      db: await dbOf(c),
      registry,
      config,
      ops,
      logger: log.child({ job: name }),
      platformBudgetMs: opts.platformBudgetMs?.(c),
    }, req);
    if (result.job === 'drain' && result.summary.stoppedBecause === 'db_error') {
      // Outcomes the drain could not record are recovered by lease expiry: nothing is lost. Only
      // an outage is worth retrying soon; a refused statement or row needs an operator.
      const { error: _hidden, ...summary } = result.summary;
      if ((summary.errorKind ?? 'transient') === 'transient') {
        return c.json({ error: { code: 'unavailable', message: 'the database failed during the drain' }, summary }, 503, {
          'Retry-After': String(RETRY_AFTER_SECONDS),
        });
      }
      const message =
        summary.errorKind === 'program'
          ? "the database refused the drain's statements (a missing migration: run `reproq migrate`, or a bug); the server log says which"
          : 'the database refused data the drain wrote; the server log names it';
      return c.json({ error: { code: 'drain_failed', message }, summary }, 500);
    }
    return c.json(result.summary);
  };

  // The cron-triggerable jobs: the same fields in a JSON body or the query string (a body wins).
  const jobRoute = (name: JobName, schema: ZodMiniType<DrainRequest & ReclaimRequest>) =>
    routes.post(
      `/${name}`,
      cron,
      limitBody,
      zValidator('query', queryOf(schema), invalid),
      zValidator('json', schema, invalid),
      (c) => job(c, name, { ...c.req.valid('query'), ...c.req.valid('json') }),
    );
  jobRoute('drain', drainRequestSchema(config.http));
  jobRoute('beat', beatRequestSchema(config.http));
  jobRoute('reclaim', ReclaimRequestSchema);

  routes.post('/enqueue', operator, limitBody, requireJson, zValidator('json', enqueueBodySchema(config.http), invalid), async (c) => {
    const body = c.req.valid('json') as EnqueueInput | EnqueueInput[];
    const items = Array.isArray(body) ? body : [body];
    // Tasks registered here have their arguments checked now (a 400 naming the field) instead of failing later.
    const results = (await enqueueMany(await dbOf(c), items, { registry })).map((r, i) => withRegistrationNote(r, items[i]!.taskPath));
    if (Array.isArray(body)) return c.json({ results }, 201);
    return c.json(results[0]!, 201, { Location: `${config.http.route_prefix}/tasks/${results[0]!.resultId}` });
  });

  // Public: it describes the routes and holds no data. Built on the first request, not at startup.
  let openapi: OpenApiDocument | undefined;
  routes.get('/openapi.json', (c) => c.json((openapi ??= openApiDocument(config))));

  mountTaskRoutes(routes, { operator, limitBody, requireJson, dbOf, routePrefix: config.http.route_prefix });

  if (opts.dashboard) routes.route('/dashboard', opts.dashboard({ auth, db: dbOf }));

  return app;
}

/** An enqueue of a task this process does not have: accepted, but the caller should know nothing checked it. */
function withRegistrationNote(r: EnqueueResult, taskPath: string): EnqueueResult & { note?: string } {
  if (r.registered !== false) return r;
  return { ...r, note: `${taskPath} is not registered in this process: its arguments were not checked, and a worker that has it (another drain, or a Go or Django worker) must run it` };
}

/** Without a JSON content type the validator would see an empty body; say what is wrong instead. */
const requireJson: MiddlewareHandler = async (c, next) => {
  const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!/^application\/([\w.-]+\+)?json$/.test(type)) {
    return jsonError(c, 415, 'unsupported_media_type', 'send the body as application/json', 'content-type');
  }
  return next();
};

const closePerRequestDb: MiddlewareHandler<Env> = async (c, next) => {
  try {
    await next();
  } finally {
    const db = c.get('reproqDb');
    if (db) {
      const closing = db.then((d) => d.close()).catch(() => {});
      let deferred = false;
      try {
        c.executionCtx.waitUntil(closing);
        deferred = true;
      } catch {
        // No execution context (Node, tests): close before answering.
      }
      if (!deferred) await closing;
    }
  }
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
