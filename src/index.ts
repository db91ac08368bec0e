/** The core: platform-free queue operations over a `Db`. Runtime entry points live in `workers/`. */
export type { Db, QueryResult, DriverName } from './db/types.ts';
export { executorDb, templateDb, type SqlExecutor, type SqlTag, type ExecutorResult } from './db/executor.ts';
export { enqueue, enqueueMany, EnqueueInputSchema, type EnqueueInput, type EnqueueResult, type EnqueueOptions } from './enqueue.ts';
export { drain, DrainOptionsSchema, type DrainOptions, type DrainSummary, type DrainDeps, type TaskLog } from './drain.ts';
export { defineTask, TaskRegistry, registryFromModule, type TaskDefinition, type TaskContext } from './tasks/registry.ts';
/** What a task defined with `numbers: 'lossless'` gets for each number. */
export { LosslessNumber, isLosslessNumber } from 'lossless-json';
export { isAllowed, mayRun, parseAllowList, allowListFor, allowListReport, warnAllowList, type AllowListReport } from './tasks/allowlist.ts';
export { retryDelaySeconds, DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.ts';
export {
  ReproqError,
  ValidationError,
  ConfigError,
  DuplicateActiveTaskError,
  TaskNotFoundError,
  TaskStateError,
  ActiveSpecConflictError,
} from './errors.ts';
export {
  migrate,
  migrationStatus,
  pendingMigrations,
  checkSchema,
  MigrationError,
  MigrationChecksumError,
  type Migration,
  type MigrateOptions,
  type MigrateResult,
  type MigrationStatus,
  type SchemaReport,
  type SchemaIssue,
} from './migrate.ts';
export { getTask, type TaskView, type WorkflowRun } from './runs/get.ts';
export { cancelTask, type CancelResult, type CancelOutcome } from './runs/cancel.ts';
export { replayTask, ReplayInputSchema, type ReplayInput, type ReplayResult } from './runs/replay.ts';
export { retryTask, retryFailedTasks, type RetryResult } from './runs/retry.ts';
export { listFailedTasks, ListFailedInputSchema, type ListFailedInput, type FailedTask } from './runs/failed.ts';
export { pauseQueue, resumeQueue, type QueueControl } from './queues.ts';
export { statusReport, type StatusReport, type QueueStatus, type WorkerStatus } from './status.ts';
export { consoleLogger, silentLogger, type Logger } from './logger.ts';
export { VERSION } from './version.ts';
export { configFromEnv, effectiveDsn, ConfigSchema, type Config } from './config.ts';
export { beat, BeatOptionsSchema, MisfirePolicySchema, type BeatOptions, type BeatSummary, type BeatRowError, type MisfirePolicy } from './beat.ts';
export {
  upsertPeriodicTask,
  deletePeriodicTask,
  listPeriodicTasks,
  setPeriodicEnabled,
  syncRecurring,
  PeriodicTaskInputSchema,
  type PeriodicTask,
  type PeriodicTaskInput,
  type SyncRecurringOptions,
  type SyncRecurringResult,
} from './periodic.ts';
export {
  reclaim,
  pruneExpired,
  pruneWorkers,
  type ReclaimOptions,
  type ReclaimSummary,
  type PruneExpiredOptions,
  type PruneExpiredSummary,
  type PruneWorkersOptions,
  type PruneWorkersSummary,
} from './reclaim.ts';
export { collectMetrics, renderPrometheus, renderStats, type MetricsOptions, type MetricsSnapshot, type StatsOptions } from './metrics/index.ts';
export { installPgCron, removePgCron, PgCronUnavailableError, type PgCronOptions, type PgCronResult } from './pgcron.ts';
export { parseCron, CronExpressionError, type CronSchedule } from './cron.ts';
export { parseDuration } from './duration.ts';
