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
