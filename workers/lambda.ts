/**
 * AWS Lambda entry: one handler for both event kinds.
 * - API Gateway v2 (HTTP API) and Function URL events go to the Hono app through `hono/aws-lambda`.
 * - EventBridge schedules run a job. A schedule with `input: { job: drain }` (serverless.yml)
 *   delivers that object as the event; a bare schedule delivers the "Scheduled Event" envelope,
 *   whose rule is looked up in `rules`. `hono/aws-lambda` would answer either with a 404.
 * The pool is created at cold start and reused by warm invocations.
 */
import { getConnInfo, handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import * as z from 'zod/mini';
import { configFromEnv, effectiveDsn } from '../src/config.ts';
import { pgDb } from '../src/db/pg.ts';
import type { Db } from '../src/db/types.ts';
import { ConfigError, ValidationError } from '../src/errors.ts';
import { dashboard } from '../src/dashboard/routes.tsx';
import { createApp } from '../src/http/app.ts';
import { beatRequestSchema, drainRequestSchema, ReclaimRequestSchema } from '../src/http/schemas.ts';
import { JOB_NAMES, runJob, type JobName, type JobResult, type Ops } from '../src/jobs.ts';
import { consoleLogger, type Logger } from '../src/logger.ts';
import type { TaskRegistry } from '../src/tasks/registry.ts';

/** Stop this long before Lambda's timeout: time to record the last batch and return. */
export const LAMBDA_MARGIN_MS = 3_000;
/** API Gateway HTTP APIs give up on an integration after 30 s, whatever the function's timeout. */
export const HTTP_API_TIMEOUT_MS = 30_000;

export interface LambdaOptions {
  ops?: Ops;
  logger?: Logger;
  /** Where config is read from; default `process.env`. */
  env?: Record<string, unknown>;
  /** Default: a `pg` pool of 2 (a Lambda instance serves one event at a time; the drain may renew leases beside a step). */
  openDb?: (dsn: string) => Db;
  /** EventBridge rule name → job, for schedules without an `input`. */
  rules?: Record<string, JobName>;
}

/** What a schedule's `input` carries: the job, and optionally the same fields as its HTTP route. */
export interface ScheduledInput {
  job: JobName;
  options?: Record<string, unknown>;
}

interface ScheduledEnvelope {
  'detail-type': 'Scheduled Event';
  source: 'aws.events';
  resources: string[];
}

export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

export function createLambdaHandler(registry: TaskRegistry, options: LambdaOptions = {}): LambdaHandler {
  // Read at cold start: a missing DATABASE_URL or a bad value fails the init, naming the variable.
  const config = configFromEnv(options.env ?? process.env);
  const db = (options.openDb ?? ((dsn) => pgDb({ connectionString: dsn, max: 2, preparedStatements: config.prepared_statements })))(effectiveDsn(config));
  const log = options.logger ?? consoleLogger({ runtime: 'lambda' });
  const ops = options.ops;
  const remaining = (context: LambdaContext) => context.getRemainingTimeInMillis() - LAMBDA_MARGIN_MS;
  const schemas = {
    drain: drainRequestSchema(config.http),
    beat: beatRequestSchema(config.http),
    reclaim: ReclaimRequestSchema,
  } satisfies Record<JobName, z.ZodMiniType>;

  const http = handle(
    createApp({
      config,
      registry,
      db,
      ops,
      logger: log,
      connInfo: getConnInfo,
      platformBudgetMs: (c) => Math.min(remaining(c.env.lambdaContext as LambdaContext), HTTP_API_TIMEOUT_MS - LAMBDA_MARGIN_MS),
      dashboard,
    }),
  );

  return async (event, context) => {
    const scheduled = scheduledJob(event, options.rules ?? {});
    if (!scheduled) return http(event as LambdaEvent, context);
    const parsed = schemas[scheduled.job].safeParse(scheduled.options ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ValidationError(`options.${issue.path.map(String).join('.')}`, issue.message);
    }
    // awsRequestId repeats on an async retry; it is for tracing, the drain makes each lease unique.
    const result: JobResult = await runJob(
      scheduled.job,
      { db, registry, config, ops, logger: log.child({ job: scheduled.job }), platformBudgetMs: remaining(context), invocationId: context.awsRequestId },
      parsed.data,
    );
    log.info('scheduled job done', { job: scheduled.job, summary: result.summary });
    return result;
  };
}

const InputSchema = z.strictObject({ job: z.enum(JOB_NAMES), options: z.optional(z.record(z.string(), z.unknown())) });

/** The job a scheduled event asks for; undefined for an HTTP event. */
function scheduledJob(event: unknown, rules: Record<string, JobName>): ScheduledInput | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  if ('job' in event) {
    const parsed = InputSchema.safeParse(event);
    if (!parsed.success) throw new ValidationError('job', `a schedule input is {"job": "drain" | "beat" | "reclaim", "options"?: {...}}`);
    return parsed.data;
  }
  if ((event as Partial<ScheduledEnvelope>)['detail-type'] === 'Scheduled Event') {
    const arn = (event as ScheduledEnvelope).resources?.[0] ?? '';
    const rule = arn.slice(arn.lastIndexOf('/') + 1);
    const job = rules[rule];
    if (!job) throw new ConfigError('rules', `the EventBridge rule "${rule}" maps to no job: give the schedule an input {"job": ...} or map it in rules`);
    return { job };
  }
  return undefined;
}
