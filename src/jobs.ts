import { beat, logBeatErrors, type BeatRowError } from './beat.ts';
import type { Config } from './config.ts';
import type { Db } from './db/types.ts';
import { drain, type DrainSummary } from './drain.ts';
import { drainOptionsFromConfig } from './drain/options.ts';
import type { Logger } from './logger.ts';
import { collectMetrics, renderPrometheus, renderStats, type MetricsSnapshot } from './metrics/index.ts';
import { reclaim } from './reclaim.ts';
import type { TaskRegistry } from './tasks/registry.ts';
import type { JobName } from './job-names.ts';

export { JOB_NAMES, type JobName } from './job-names.ts';

/**
 * The maintenance half of the core (beat tick, reclaim, metrics) as the app and the entry points
 * use it. `DEFAULT_OPS` is the real modules; tests (or an app with its own metrics) pass others.
 */
export interface Ops {
  /** `errors`, when the result has them, are the rows the tick left due; runJob logs them. */
  beat(db: Db, options: { budgetMs: number }): Promise<object & { errors?: BeatRowError[] }>;
  reclaim(db: Db, options: ReclaimRequest): Promise<object>;
  metrics: {
    collect(db: Db): Promise<unknown>;
    prometheus(snapshot: unknown): string;
    stats(snapshot: unknown): unknown;
  };
}

export const DEFAULT_OPS: Ops = {
  beat: (db, { budgetMs }) => beat(db, { budgetMs }),
  reclaim: (db, options) => reclaim(db, options),
  metrics: {
    collect: (db) => collectMetrics(db),
    prometheus: (snapshot) => renderPrometheus(snapshot as MetricsSnapshot),
    stats: (snapshot) => renderStats(snapshot as MetricsSnapshot),
  },
};

export interface ReclaimRequest {
  olderThanSeconds?: number;
  action?: 'requeue' | 'fail';
  limit?: number;
  dryRun?: boolean;
}

/** What a caller may ask of a drain; the HTTP schemas cap each field by `http.max_*` before it gets here. */
export interface DrainRequest {
  queues?: string[];
  batchSize?: number;
  concurrency?: number;
  budgetMs?: number;
}

export interface JobDeps {
  db: Db;
  registry: TaskRegistry;
  config: Config;
  /** Default: DEFAULT_OPS. */
  ops?: Ops;
  logger?: Logger;
  /** The platform's own ceiling for this invocation (Lambda's remaining time, a Worker's CPU limit). */
  platformBudgetMs?: number;
  /**
   * The platform's id of the invocation (Lambda request id, cron time), kept in `leased_by` for
   * tracing. It need not be unique: the drain adds a random part to every lease it takes.
   */
  invocationId?: string;
}

export type JobResult = { job: 'drain'; summary: DrainSummary } | { job: 'beat' | 'reclaim'; summary: object };

/**
 * The budget a job gets: the asked one (the HTTP schemas cap it at `http.max_budget_ms`), else
 * the config's `drain.budget_ms`, never above what the platform has left.
 */
export function jobBudgetMs(config: Config, asked: number | undefined, platformBudgetMs?: number): number {
  const budget = Math.min(asked ?? config.drain.budget_ms, platformBudgetMs ?? Infinity);
  // The drain refuses budgets under 100 ms; a platform nearly out of time still gets a valid, tiny one.
  return Math.max(100, Math.floor(budget));
}

export function runDrain(deps: JobDeps, req: DrainRequest = {}): Promise<DrainSummary> {
  return drain(
    { db: deps.db, registry: deps.registry, logger: deps.logger },
    drainOptionsFromConfig(deps.config, {
      queues: req.queues,
      batchSize: req.batchSize,
      concurrency: req.concurrency,
      budgetMs: jobBudgetMs(deps.config, req.budgetMs, deps.platformBudgetMs),
      invocationId: deps.invocationId,
    }),
  );
}

/**
 * One job, config → core call. The HTTP routes and every scheduled entry point (Cloudflare cron,
 * EventBridge, Vercel cron) go through here, so a cron trigger and `POST /drain` run the same thing
 * under the same caps.
 */
export async function runJob(job: JobName, deps: JobDeps, req: DrainRequest & ReclaimRequest = {}): Promise<JobResult> {
  switch (job) {
    case 'drain':
      return { job, summary: await runDrain(deps, req) };
    case 'beat': {
      const budgetMs = jobBudgetMs(deps.config, req.budgetMs, deps.platformBudgetMs);
      const summary = await (deps.ops ?? DEFAULT_OPS).beat(deps.db, { budgetMs });
      if (deps.logger && summary.errors) logBeatErrors({ errors: summary.errors }, deps.logger);
      return { job, summary };
    }
    case 'reclaim': {
      const { olderThanSeconds, action, limit, dryRun } = req;
      return { job, summary: await (deps.ops ?? DEFAULT_OPS).reclaim(deps.db, { olderThanSeconds, action, limit, dryRun }) };
    }
  }
}
