/**
 * What one task row may hold. Enqueue, the periodic-task schemas, the beat and the pg_cron tick
 * check the same bounds, so a row one of them writes is one the others (and Django) accept.
 */

/** Django's TASK_MIN_PRIORITY/TASK_MAX_PRIORITY: rows outside it would be rejected by reproq-django. */
export const PRIORITY_MIN = -100;
export const PRIORITY_MAX = 100;
/** Upstream's executor refuses payloads over 1 MiB; refusing them at enqueue loses nothing later. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const MAX_ATTEMPTS_MAX = 1000;
/**
 * task_path, lock_key and concurrency_key are btree-indexed, and a btree entry holds at most
 * ~2,700 bytes: at 4 bytes per character these lengths always fit, so no insert or claim can
 * fail on them.
 */
export const TASK_PATH_MAX_CHARS = 500;
export const KEY_MAX_CHARS = 500;
export const QUEUE_NAME_MAX_CHARS = 200;
/** task_runs' integer columns (concurrency_limit, ...) are int4. */
export const INT4_MAX = 2_147_483_647;
