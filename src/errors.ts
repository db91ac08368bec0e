import { en } from 'zod/locales';
import * as z from 'zod/mini';

// zod/mini ships no messages: without a locale every issue reads "Invalid input". English, as classic zod
// sets it, unless the application configured a locale of its own first.
if (!z.config().localeError) z.config(en());

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
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** Bad configuration: `variable` names the env var, flag or file key it came from. */
export class ConfigError extends ReproqError {
  override name = 'ConfigError';
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

/** Enqueue with dedup switched off hit an active row with the same spec_hash. */
export class DuplicateActiveTaskError extends ReproqError {
  override name = 'DuplicateActiveTaskError';
  readonly specHash: string;
  constructor(specHash: string) {
    super(`an active (READY/RUNNING) task with spec_hash ${specHash} exists and dedup is off`);
    this.specHash = specHash;
  }
}

/** Parses with a zod schema; the first issue becomes a ValidationError naming its path. */
export function validate<S extends z.core.$ZodType>(schema: S, input: unknown, label: (path: string) => string = (p) => p): z.output<S> {
  const parsed = z.safeParse(schema, input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ValidationError(label(issue.path.map(String).join('.') || 'input'), issue.message);
}

/** No `task_runs` row has this result_id (or, for a replay by hash, this spec_hash). */
export class TaskNotFoundError extends ReproqError {
  override name = 'TaskNotFoundError';
  readonly resultId: number | null;
  readonly specHash: string | null;
  constructor(resultId: number | null, specHash: string | null = null) {
    super(resultId !== null ? `task run ${resultId} not found` : `no task run has spec_hash ${specHash}`);
    this.resultId = resultId;
    this.specHash = specHash;
  }
}

/** The task exists but its status does not allow the operation (e.g. retrying a task that is not FAILED). */
export class TaskStateError extends ReproqError {
  override name = 'TaskStateError';
  readonly resultId: number;
  readonly status: string;
  constructor(resultId: number, status: string, message: string) {
    super(message);
    this.resultId = resultId;
    this.status = status;
  }
}

/**
 * A replay or retry would make a second READY/RUNNING row with the same spec_hash, which the active-spec
 * unique index forbids; `activeResultId` is the row in the way.
 */
export class ActiveSpecConflictError extends ReproqError {
  override name = 'ActiveSpecConflictError';
  readonly specHash: string;
  readonly activeResultId: number | null;
  readonly activeStatus: string | null;
  constructor(specHash: string, activeResultId: number | null, activeStatus: string | null) {
    super(
      `task ${activeResultId ?? '?'} with the same spec_hash is still ${activeStatus ?? 'active'}; ` +
        'only one READY/RUNNING row per spec is allowed: wait for it to finish, or cancel it first',
    );
    this.specHash = specHash;
    this.activeResultId = activeResultId;
    this.activeStatus = activeStatus;
  }
}
