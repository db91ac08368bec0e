/** The core: platform-free queue operations over a `Db`. Runtime entry points live in `workers/`. */
export type { Db, QueryResult, DriverName } from './db/types.ts';
export { enqueue, enqueueMany, EnqueueInputSchema, type EnqueueInput, type EnqueueResult, type EnqueueOptions } from './enqueue.ts';
export { drain, DrainOptionsSchema, type DrainOptions, type DrainSummary, type DrainDeps, type TaskLog } from './drain.ts';
export { defineTask, TaskRegistry, registryFromModule, type TaskDefinition, type TaskContext } from './tasks/registry.ts';
export { isAllowed, parseAllowList, allowListFor } from './tasks/allowlist.ts';
export { retryDelaySeconds, DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.ts';
export { ReproqError, ValidationError, ConfigError, DuplicateActiveTaskError } from './errors.ts';
export { consoleLogger, silentLogger, type Logger } from './logger.ts';
export { VERSION } from './version.ts';
export { configFromEnv, effectiveDsn, ConfigSchema, type Config } from './config.ts';
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
} from './migrate.ts';
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
