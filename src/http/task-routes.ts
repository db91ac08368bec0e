import { zValidator } from '@hono/zod-validator';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import * as z from 'zod/mini';
import type { Db } from '../db/types.ts';
import { deletePeriodicTask, listPeriodicTasks, PeriodicTaskInputSchema, setPeriodicEnabled, upsertPeriodicTask, type PeriodicTaskInput } from '../periodic.ts';
import { pauseQueue, resumeQueue } from '../queues.ts';
import { cancelTask } from '../runs/cancel.ts';
import { listFailedTasks } from '../runs/failed.ts';
import { getTask } from '../runs/get.ts';
import { replayTask } from '../runs/replay.ts';
import { retryFailedTasks, retryTask } from '../runs/retry.ts';
import { statusReport } from '../status.ts';
import { ENDPOINTS } from './endpoints.ts';
import { jsonError } from './errors.ts';
import { invalid, queryOf, TaskIdSchema } from './schemas.ts';

/**
 * The operator routes over the core's domain API (src/runs, src/queues.ts, src/periodic.ts): read, cancel,
 * retry and replay tasks, the dead-letter list, queue pause controls and periodic tasks. Each route's
 * params, query, body and response are zod schemas in ROUTES, which src/http/api.ts makes part of the
 * API's description (the OpenAPI document, the typed client).
 */

const timestamp = z.nullable(z.string());
const json = z.unknown();

export const TaskViewSchema = z.object({
  result_id: z.int(),
  task_path: z.nullable(z.string()),
  queue_name: z.string(),
  status: z.string(),
  priority: z.int(),
  attempts: z.int(),
  max_attempts: z.int(),
  timeout_seconds: z.int(),
  enqueued_at: z.string(),
  run_after: timestamp,
  started_at: timestamp,
  last_attempted_at: timestamp,
  finished_at: timestamp,
  failed_at: timestamp,
  updated_at: z.string(),
  expires_at: timestamp,
  args: json,
  kwargs: json,
  return_json: json,
  errors_json: z.array(json),
  last_error: z.nullable(z.string()),
  leased_by: z.nullable(z.string()),
  leased_until: timestamp,
  cancel_requested: z.boolean(),
  worker_ids: json,
  logs_uri: z.nullable(z.string()),
  lock_key: z.nullable(z.string()),
  concurrency_key: z.nullable(z.string()),
  concurrency_limit: z.int(),
  spec_hash: z.string(),
  metadata_json: json,
  workflow_id: z.nullable(z.string()),
  parent_id: z.nullable(z.int()),
  wait_count: z.int(),
  workflow: z.nullable(
    z.object({
      workflow_id: z.string(),
      status: z.string(),
      expected_count: z.int(),
      success_count: z.int(),
      failure_count: z.int(),
      callback_result_id: z.nullable(z.int()),
    }),
  ),
});

export const CancelResultSchema = z.object({
  resultId: z.int(),
  before: z.string(),
  after: z.string(),
  changed: z.boolean(),
  outcome: z.enum(['cancelled', 'cancel_requested', 'already_requested', 'already_finished']),
  dependants: z.int(),
});
export const ReplayResultSchema = z.object({ resultId: z.int(), sourceId: z.int(), specHash: z.string() });
export const RetryResultSchema = z.object({ retried: z.array(z.int()), resumed: z.int() });

export const FailedTasksSchema = z.object({
  tasks: z.array(
    z.object({
      result_id: z.int(),
      queue_name: z.string(),
      task_path: z.string(),
      status: z.string(),
      attempts: z.int(),
      max_attempts: z.int(),
      last_error: z.nullable(z.string()),
      failed_at: timestamp,
      last_attempted_at: timestamp,
      finished_at: timestamp,
    }),
  ),
});
const QueueNameParam = z.object({ queue: z.string().check(z.regex(/^[A-Za-z0-9_.:\-]{1,200}$/, 'queue names use letters, digits and . _ : -')) });
export const QueueControlSchema = z.object({ queue: z.string(), paused: z.boolean(), pausedAt: timestamp, reason: z.string() });
export const QueuesSchema = z.object({
  queues: z.array(
    z.object({
      queue: z.string(),
      ready: z.int(),
      due: z.int(),
      running: z.int(),
      waiting: z.int(),
      failed: z.int(),
      paused: z.boolean(),
      reason: z.nullable(z.string()),
    }),
  ),
});

const PeriodicTaskSchema = z.object({
  name: z.string(),
  cronExpr: z.string(),
  taskPath: z.string(),
  payload: json,
  queue: z.string(),
  priority: z.int(),
  maxAttempts: z.int(),
  concurrencyKey: z.nullable(z.string()),
  concurrencyLimit: z.int(),
  lastRunAt: timestamp,
  nextRunAt: z.string(),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const PeriodicTasksSchema = z.object({ periodicTasks: z.array(PeriodicTaskSchema) });
const PeriodicNameParam = z.object({ name: z.string().check(z.minLength(1), z.maxLength(200)) });
/**
 * What `PUT /periodic/:name` checks before the core does: an object. The core validates it field by field
 * (PeriodicTaskInputSchema, the body ROUTES documents) with the name from the path.
 */
const PeriodicBody = z.record(z.string(), z.unknown());

const FailedQuery = z.strictObject({
  queue: z.optional(z.string()),
  limit: z.optional(z.int().check(z.minimum(1, 'limit is 1 to 1000'), z.maximum(1000, 'limit is 1 to 1000'))),
});
const PauseBody = z.strictObject({ reason: z.optional(z.string().check(z.maxLength(1000))) });

/** One route of the domain API, as an OpenAPI generator needs it. */
export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Hono's syntax (`/tasks/:id`), under `http.route_prefix`. */
  path: string;
  summary: string;
  /** Success status. */
  status: 200 | 201;
  params?: z.ZodMiniType;
  query?: z.ZodMiniType;
  body?: z.ZodMiniType;
  response: z.ZodMiniType;
}

export const ROUTES = {
  listFailed: { ...ENDPOINTS.listFailed, summary: 'FAILED tasks, newest failure first (the dead-letter queue)', status: 200, query: FailedQuery, response: FailedTasksSchema },
  retryFailed: { ...ENDPOINTS.retryFailed, summary: 'retry every FAILED task', status: 200, response: RetryResultSchema },
  getTask: { ...ENDPOINTS.getTask, summary: 'a task: status, result, errors, attempts, timestamps and workflow', status: 200, params: TaskIdSchema, response: TaskViewSchema },
  cancel: { ...ENDPOINTS.cancel, summary: 'cancel: READY/WAITING become CANCELLED; RUNNING gets cancel_requested', status: 200, params: TaskIdSchema, response: CancelResultSchema },
  retry: { ...ENDPOINTS.retry, summary: 'retry a FAILED task (attempts 0, error history kept)', status: 200, params: TaskIdSchema, response: RetryResultSchema },
  replay: { ...ENDPOINTS.replay, summary: 'enqueue a copy of a task to run now', status: 201, params: TaskIdSchema, response: ReplayResultSchema },
  queues: { ...ENDPOINTS.queues, summary: 'queues with their counts and pause state', status: 200, response: QueuesSchema },
  pause: { ...ENDPOINTS.pause, summary: 'stop claims from a queue (running tasks finish)', status: 200, params: QueueNameParam, body: PauseBody, response: QueueControlSchema },
  resume: { ...ENDPOINTS.resume, summary: 'let claims from a queue resume', status: 200, params: QueueNameParam, response: QueueControlSchema },
  listPeriodic: { ...ENDPOINTS.listPeriodic, summary: 'periodic tasks', status: 200, response: PeriodicTasksSchema },
  putPeriodic: { ...ENDPOINTS.putPeriodic, summary: 'create or replace a periodic task (cron checked at write time)', status: 200, params: PeriodicNameParam, body: z.omit(PeriodicTaskInputSchema, { name: true }), response: PeriodicTaskSchema },
  deletePeriodic: { ...ENDPOINTS.deletePeriodic, summary: 'delete a periodic task', status: 200, params: PeriodicNameParam, response: z.object({ deleted: z.boolean() }) },
  enablePeriodic: { ...ENDPOINTS.enablePeriodic, summary: 'enable a periodic task', status: 200, params: PeriodicNameParam, response: PeriodicTaskSchema },
  disablePeriodic: { ...ENDPOINTS.disablePeriodic, summary: 'disable a periodic task', status: 200, params: PeriodicNameParam, response: PeriodicTaskSchema },
} as const satisfies Record<string, RouteSpec>;

export interface TaskRouteDeps {
  operator: MiddlewareHandler;
  limitBody: MiddlewareHandler;
  requireJson: MiddlewareHandler;
  dbOf: (c: Context) => Promise<Db>;
  routePrefix: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function mountTaskRoutes(routes: Hono<any>, d: TaskRouteDeps): void {
  const { operator, dbOf } = d;
  const id = (c: Context) => Number(c.req.param('id'));
  const param = <S extends z.ZodMiniType>(schema: S) => zValidator('param', schema, invalid);

  // Registered before /tasks/:id, which would otherwise take "failed" for an id.
  routes.get(ROUTES.listFailed.path, operator, zValidator('query', queryOf(FailedQuery), invalid), async (c) => {
    const q = c.req.valid('query') as z.infer<typeof FailedQuery>;
    return c.json({ tasks: await listFailedTasks(await dbOf(c), q) });
  });
  routes.post(ROUTES.retryFailed.path, operator, async (c) => c.json(await retryFailedTasks(await dbOf(c))));
  routes.get(ROUTES.getTask.path, operator, param(TaskIdSchema), async (c) => c.json(await getTask(await dbOf(c), id(c))));
  routes.post(ROUTES.cancel.path, operator, param(TaskIdSchema), async (c) => c.json(await cancelTask(await dbOf(c), id(c))));
  routes.post(ROUTES.retry.path, operator, param(TaskIdSchema), async (c) => c.json(await retryTask(await dbOf(c), id(c))));
  routes.post(ROUTES.replay.path, operator, param(TaskIdSchema), async (c) => {
    const r = await replayTask(await dbOf(c), { id: id(c) });
    return c.json(r, 201, { Location: `${d.routePrefix}/tasks/${r.resultId}` });
  });

  routes.get(ROUTES.queues.path, operator, async (c) => c.json({ queues: (await statusReport(await dbOf(c))).queues }));
  routes.post(ROUTES.pause.path, operator, d.limitBody, param(QueueNameParam), optionalJson(PauseBody), async (c) => {
    const body = (c.req.valid('json') ?? {}) as z.infer<typeof PauseBody>;
    return c.json(await pauseQueue(await dbOf(c), c.req.param('queue'), { reason: body.reason }));
  });
  routes.post(ROUTES.resume.path, operator, param(QueueNameParam), async (c) => c.json(await resumeQueue(await dbOf(c), c.req.param('queue'))));

  routes.get(ROUTES.listPeriodic.path, operator, async (c) => c.json({ periodicTasks: await listPeriodicTasks(await dbOf(c)) }));
  routes.put(ROUTES.putPeriodic.path, operator, d.limitBody, d.requireJson, param(PeriodicNameParam), zValidator('json', PeriodicBody, invalid), async (c) => {
    const input = { ...(c.req.valid('json') as object), name: c.req.param('name') } as PeriodicTaskInput;
    return c.json(await upsertPeriodicTask(await dbOf(c), input));
  });
  routes.delete(ROUTES.deletePeriodic.path, operator, param(PeriodicNameParam), async (c) => {
    const deleted = await deletePeriodicTask(await dbOf(c), c.req.param('name'));
    return deleted ? c.json({ deleted }) : periodicNotFound(c);
  });
  for (const [route, enabled] of [[ROUTES.enablePeriodic, true], [ROUTES.disablePeriodic, false]] as const) {
    routes.post(route.path, operator, param(PeriodicNameParam), async (c) => {
      const db = await dbOf(c);
      const name = c.req.param('name');
      if (!(await setPeriodicEnabled(db, name, enabled))) return periodicNotFound(c);
      return c.json((await listPeriodicTasks(db)).find((p) => p.name === name)!);
    });
  }
}

function periodicNotFound(c: Context): Response {
  return jsonError(c, 404, 'not_found', `no periodic task ${c.req.param('name')}`, 'name');
}

/** A JSON body that may be absent (an empty POST): validated when present. */
function optionalJson<S extends z.ZodMiniType>(schema: S) {
  const validate = zValidator('json', schema, invalid);
  return (async (c, next) => {
    // Hono caches the body, so the validator can read it again.
    if ((await c.req.text()).trim() === '') return next();
    return validate(c, next);
  }) as typeof validate;
}
