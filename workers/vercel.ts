/**
 * Vercel Functions entry (Node.js runtime). Vercel only deploys functions it finds under `api/`,
 * so an app builds the handlers once with its registry and adds one-line re-exports there:
 *
 *   // reproq.ts                      export const { GET, POST } = createVercelHandlers(registry);
 *   // api/reproq/drain.ts            export { GET, POST } from '../../reproq.ts';
 *   // (same line in beat.ts, reclaim.ts, metrics.ts, enqueue.ts, healthz.ts ...)
 *
 * with REPROQ_ROUTE_PREFIX=/api/reproq, so the app's routes are the files' URLs. Vercel Cron
 * calls a path with GET and `Authorization: Bearer $CRON_SECRET`; GET on the job routes is
 * therefore run as the POST it stands for (auth unchanged: CRON_SECRET or REPROQ_AUTH_TOKEN).
 */
import { getConnInfo } from 'hono/vercel';
import { configFromEnv, effectiveDsn } from '../src/config.ts';
import { pgDb } from '../src/db/pg.ts';
import type { Db } from '../src/db/types.ts';
import { dashboard } from '../src/dashboard/routes.tsx';
import { createApp } from '../src/http/app.ts';
import { JOB_NAMES, type Ops } from '../src/jobs.ts';
import { consoleLogger, type Logger } from '../src/logger.ts';
import type { TaskRegistry } from '../src/tasks/registry.ts';

export interface VercelOptions {
  ops?: Ops;
  logger?: Logger;
  /** Where config is read from; default `process.env`. */
  env?: Record<string, unknown>;
  /** Default: a small `pg` pool, reused by the invocations an instance serves. */
  openDb?: (dsn: string) => Db;
  /**
   * The function's `maxDuration` (seconds), as set in vercel.json; a drain stops 5 s before it.
   * Default 60, the ceiling Vercel documents for every plan without configuration.
   */
  maxDurationSeconds?: number;
}

/** Time kept back from maxDuration to record the last batch and answer. */
export const VERCEL_MARGIN_MS = 5_000;

export interface VercelHandlers {
  GET(request: Request): Promise<Response>;
  POST(request: Request): Promise<Response>;
  /** For the periodic-task routes (PUT and DELETE /periodic/:name). */
  PUT(request: Request): Promise<Response>;
  DELETE(request: Request): Promise<Response>;
}

export function createVercelHandlers(registry: TaskRegistry, options: VercelOptions = {}): VercelHandlers {
  // Read when the function module loads: a missing DATABASE_URL fails the deployment's first call, naming it.
  const config = configFromEnv(options.env ?? process.env);
  const db = (options.openDb ?? ((dsn) => pgDb({ connectionString: dsn, max: 3, preparedStatements: config.prepared_statements })))(effectiveDsn(config));
  const budgetMs = (options.maxDurationSeconds ?? 60) * 1000 - VERCEL_MARGIN_MS;
  const app = createApp({
    config,
    registry,
    db,
    ops: options.ops,
    logger: options.logger ?? consoleLogger({ runtime: 'vercel' }),
    connInfo: getConnInfo,
    platformBudgetMs: () => budgetMs,
    dashboard,
  });
  const jobPaths = new Set(JOB_NAMES.map((j) => `${config.http.route_prefix}/${j}`));

  return {
    GET: async (request) => {
      const { pathname } = new URL(request.url);
      return app.fetch(jobPaths.has(pathname) ? cronAsPost(request) : request);
    },
    POST: async (request) => app.fetch(request),
    PUT: async (request) => app.fetch(request),
    DELETE: async (request) => app.fetch(request),
  };
}

/**
 * A cron GET as the POST it stands for. It has no body, so a JSON content type it may carry
 * would only make the route try to parse an empty body (400 invalid_json): drop it.
 */
function cronAsPost(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.delete('content-type');
  headers.delete('content-length');
  return new Request(request.url, { method: 'POST', headers });
}
