import * as z from 'zod/mini';
import type { Config } from '../config.ts';
import { EnqueueInputSchema } from '../enqueue.ts';
import type { EndpointName } from './endpoints.ts';
import { beatRequestSchema, drainRequestSchema, ReclaimRequestSchema } from './schemas.ts';
import { ROUTES, type RouteSpec } from './task-routes.ts';

/**
 * The whole JSON API as data: for every route in ENDPOINTS, who may call it and the zod schemas of its
 * params, query, body and answer. The domain routes come from ROUTES; the job, enqueue and metrics
 * routes (whose handlers are in app.ts) are described here. The OpenAPI document and the typed client's
 * types are made from this table, and the tests check every answer against it.
 */

const int = z.int();
const counts = z.record(z.string(), int);

/** Every error the app sends (ErrorBody in errors.ts). */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.optional(z.string()) }),
});

/** The summary of a drain (DrainSummary); a drain that ended on a database error answers DrainFailureSchema instead. */
export const DrainSummarySchema = z.object({
  claimed: int,
  succeeded: int,
  failed: int,
  retried: int,
  released: int,
  lostLease: int,
  cancelled: int,
  durationMs: z.number(),
  roundTrips: int,
  stoppedBecause: z.enum(['empty', 'budget', 'max_tasks', 'aborted', 'db_error', 'rate_limited']),
  /** With rate_limited: milliseconds until a rate-limited bucket has its next token. */
  retryAfterMs: z.optional(int),
  workerId: z.string(),
});
/** A drain the database failed (503 for an outage, 500 when it refused a statement or a row): what it did record. */
export const DrainFailureSchema = z.extend(ErrorBodySchema, {
  summary: z.extend(DrainSummarySchema, { errorKind: z.optional(z.enum(['transient', 'data', 'program'])) }),
});
/** A failed drain carries its summary; a failure before it started does not. */
const DrainErrorSchema = z.union([DrainFailureSchema, ErrorBodySchema]);

export const BeatSummarySchema = z.object({
  due: int,
  advanced: int,
  enqueued: int,
  deduplicated: int,
  lostRace: int,
  errors: z.array(z.object({ name: z.string(), field: z.string(), message: z.string() })),
  enqueuedIds: z.array(int),
  roundTrips: int,
  durationMs: z.number(),
  stoppedBecause: z.enum(['done', 'budget']),
});

export const ReclaimSummarySchema = z.object({ matched: int, requeued: int, failed: int, ids: z.array(int), dependantsEnded: int, callbacksReleased: int, dryRun: z.boolean() });

const nullableString = z.nullable(z.string());
const StatsWorker = { worker_id: z.string(), hostname: nullableString, concurrency: z.nullable(int), queues: z.unknown(), last_seen_at: z.string(), version: nullableString };
const StatsPeriodic = { name: z.string(), cron_expr: z.string(), enabled: z.boolean(), next_run_at: nullableString, queue_name: z.string() };
const database = { database: z.string() };
/** `GET /stats`: reproq-django's `/reproq/stats/` JSON, for one database. */
export const StatsSchema = z.object({
  tasks: counts,
  queues: z.record(z.string(), counts),
  workers: z.array(z.object({ ...StatsWorker, ...database })),
  periodic: z.array(z.object({ ...StatsPeriodic, ...database })),
  queue_controls: z.array(
    z.object({ queue_name: z.string(), paused: z.boolean(), paused_at: nullableString, reason: nullableString, updated_at: nullableString, ...database }),
  ),
  worker_health: z.object({ alive: int, dead: int }),
  scheduler: z.object({
    mode: z.enum(['beat', 'pg_cron', 'disabled']),
    low_memory: z.boolean(),
    beat_enabled: z.boolean(),
    beat_configured: z.boolean(),
    pg_cron_available: z.boolean(),
    warning: z.optional(z.string()),
  }),
  top_failing: z.array(z.object({ task_path: nullableString, count: int })),
  databases: z.array(
    z.object({ alias: z.string(), tasks: counts, queues: z.record(z.string(), counts), workers: z.array(z.object(StatsWorker)), periodic: z.array(z.object(StatsPeriodic)) }),
  ),
});

const EnqueueResultSchema = z.object({
  resultId: int,
  specHash: z.string(),
  deduplicated: z.boolean(),
  /** Whether the task is registered in the serving process (its arguments were checked against its schemas). */
  registered: z.optional(z.boolean()),
  /** Set when `registered` is false. */
  note: z.optional(z.string()),
});
export const EnqueueResponseSchema = z.union([EnqueueResultSchema, z.object({ results: z.array(EnqueueResultSchema) })]);

/** Who may call a route; the OpenAPI document names the bearer schemes of each. */
export type Access = 'operator' | 'job' | 'metrics' | 'public';

export interface ApiRoute extends Omit<RouteSpec, 'method' | 'path'> {
  access: Access;
  /** The route answers text/plain (its success and `errors` schemas are strings). */
  text?: true;
  /** Answers other than success this route sends, besides those every route of its access and inputs sends. */
  errors?: Partial<Record<number, z.ZodMiniType>>;
}

const NOT_FOUND = { 404: ErrorBodySchema };
const CONFLICT = { 409: ErrorBodySchema };

/** The API of an app with these `http` settings: the job schemas carry its caps. */
export function apiRoutes(http: Config['http']) {
  const operator = <R extends Omit<RouteSpec, 'method' | 'path'>>(route: R, errors?: ApiRoute['errors']) => ({ ...route, access: 'operator' as const, errors });
  const job = <S extends z.ZodMiniType, R extends z.ZodMiniType>(summary: string, request: S, response: R) =>
    ({ summary, status: 200 as const, access: 'job' as const, query: request, body: request, response });

  const routes = {
    drain: {
      ...job('claim, run and record a batch of tasks inside a time budget (fields in a JSON body or the query string)', drainRequestSchema(http), DrainSummarySchema),
      errors: { 500: DrainErrorSchema, 503: DrainErrorSchema },
    },
    beat: job('enqueue the periodic tasks that are due', beatRequestSchema(http), BeatSummarySchema),
    reclaim: job('requeue or fail tasks whose lease expired', ReclaimRequestSchema, ReclaimSummarySchema),
    enqueue: operator(
      {
        summary: 'enqueue a task, or a bulk array all-or-nothing; registered tasks have their arguments checked',
        status: 201,
        body: z.union([EnqueueInputSchema, z.array(EnqueueInputSchema).check(z.minLength(1), z.maxLength(http.max_batch_size))]),
        response: EnqueueResponseSchema,
      },
      { ...CONFLICT, 415: ErrorBodySchema },
    ),
    listFailed: operator(ROUTES.listFailed),
    retryFailed: operator(ROUTES.retryFailed),
    getTask: operator(ROUTES.getTask, NOT_FOUND),
    cancel: operator(ROUTES.cancel, NOT_FOUND),
    retry: operator(ROUTES.retry, { ...NOT_FOUND, ...CONFLICT }),
    replay: operator(ROUTES.replay, { ...NOT_FOUND, ...CONFLICT }),
    queues: operator(ROUTES.queues),
    pause: operator(ROUTES.pause),
    resume: operator(ROUTES.resume),
    listPeriodic: operator(ROUTES.listPeriodic),
    putPeriodic: operator(ROUTES.putPeriodic, { 415: ErrorBodySchema }),
    deletePeriodic: operator(ROUTES.deletePeriodic, NOT_FOUND),
    enablePeriodic: operator(ROUTES.enablePeriodic, NOT_FOUND),
    disablePeriodic: operator(ROUTES.disablePeriodic, NOT_FOUND),
    metrics: { summary: 'Prometheus metrics (text exposition format 0.0.4)', status: 200, access: 'metrics', text: true, response: z.string() },
    stats: { summary: "queue, worker and periodic-task counts in reproq-django's /reproq/stats/ shape", status: 200, access: 'metrics', response: StatsSchema },
    healthz: {
      summary: 'ok when the database answers; unhealthy (503, text) when it does not',
      status: 200,
      access: 'metrics',
      text: true,
      response: z.literal('ok'),
      errors: { 503: z.literal('unhealthy') },
    },
    openapi: { summary: 'this document', status: 200, access: 'public', response: z.record(z.string(), z.unknown()) },
  } satisfies { [K in EndpointName]: ApiRoute };
  return routes;
}

export type ApiRoutes = ReturnType<typeof apiRoutes>;
