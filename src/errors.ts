import type { z } from 'zod';

/**
 * Typed errors of the core. Each one names what was wrong so an HTTP route can answer 4xx and a
 * CLI can exit with the right code, without parsing messages.
 */
export class ReproqError extends Error {
  override name = 'ReproqError';
}

/** Bad input from a caller: the `field` is the dotted path of the offending value. */
export class ValidationError extends ReproqError {
  override name = 'ValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Bad configuration: `variable` names the env var, flag or file key it came from. */
export class ConfigError extends ReproqError {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

/** Enqueue with dedup switched off hit an active row with the same spec_hash. */
export class DuplicateActiveTaskError extends ReproqError {
  override name = 'DuplicateActiveTaskError';
  constructor(readonly specHash: string) {
    super(`an active (READY/RUNNING) task with spec_hash ${specHash} exists and dedup is off`);
  }
}

/** Parses with a zod schema; the first issue becomes a ValidationError naming its path. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, label: (path: string) => string = (p) => p): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ValidationError(label(issue.path.map(String).join('.') || 'input'), issue.message);
}

/** No `task_runs` row has this result_id (or, for a replay by hash, this spec_hash). */
export class TaskNotFoundError extends ReproqError {
  override name = 'TaskNotFoundError';
  constructor(
    readonly resultId: number | null,
    readonly specHash: string | null = null,
  ) {
    super(resultId !== null ? `task run ${resultId} not found` : `no task run has spec_hash ${specHash}`);
  }
}

/** The task exists but its status does not allow the operation (e.g. retrying a task that is not FAILED). */
export class TaskStateError extends ReproqError {
  override name = 'TaskStateError';
  constructor(
    readonly resultId: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A replay or retry would make a second READY/RUNNING row with the same spec_hash, which the active-spec
 * unique index forbids; `activeResultId` is the row in the way.
 */
export class ActiveSpecConflictError extends ReproqError {
  override name = 'ActiveSpecConflictError';
  constructor(
    readonly specHash: string,
    readonly activeResultId: number | null,
    readonly activeStatus: string | null,
  ) {
    super(
      `task ${activeResultId ?? '?'} with the same spec_hash is still ${activeStatus ?? 'active'}; ` +
        'only one READY/RUNNING row per spec is allowed: wait for it to finish, or cancel it first',
    );
  }
}
