import type * as z from 'zod/mini';
import { ReproqError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { JsonValue } from '../spec/canonical.ts';

/** What a handler sees besides its arguments. */
export interface TaskContext {
  resultId: number;
  taskPath: string;
  queue: string;
  /** 1-based: the attempt this run is. */
  attempt: number;
  maxAttempts: number;
  /** Aborted on timeout, cancellation, lost lease or the drain's deadline; `signal.reason` says which. */
  signal: AbortSignal;
  log: Logger;
  /** The row's spec_json; its numbers are LosslessNumbers for a task defined with `numbers: 'lossless'`. */
  spec: Record<string, unknown>;
}


export interface TaskInput<A, K> {
  args: A;
  kwargs: K;
}

export interface TaskDefinition<A = JsonValue[], K = Record<string, JsonValue>> {
  /** Dotted path stored in `task_runs.task_path`, shared with Django/Go (e.g. `myapp.tasks.send_email`). */
  path: string;
  /**
   * Validates `spec_json.args` before the handler runs; a mismatch is a terminal `invalid_spec`. Any zod 4
   * schema: zod/mini keeps a Worker bundle small, classic zod works too.
   */
  args?: z.core.$ZodType<A>;
  kwargs?: z.core.$ZodType<K>;
  /**
   * How spec numbers reach the handler. `strict` (default): plain JS numbers; a row holding a number a
   * double cannot keep exactly (an integer beyond 2^53, say, written by Django) fails with `invalid_spec`
   * naming it. `lossless`: every number of args, kwargs and ctx.spec is a lossless-json `LosslessNumber`
   * (exact digits, spelling kept), and the return value is written with lossless-json, so LosslessNumber
   * and bigint values are stored exactly.
   */
  numbers?: 'strict' | 'lossless';
  handler(input: TaskInput<A, K>, ctx: TaskContext): unknown;
}

/** Identity helper that keeps the argument types of a task definition. */
export function defineTask<A = JsonValue[], K = Record<string, JsonValue>>(
  def: TaskDefinition<A, K>,
): TaskDefinition<A, K> {
  return def;
}

// Handlers are stored type-erased: the registry validates inputs with each task's own schema.
export type AnyTask = TaskDefinition<any, any>;

export class TaskRegistry {
  readonly #tasks = new Map<string, AnyTask>();

  constructor(tasks: Iterable<AnyTask> = []) {
    for (const t of tasks) this.register(t);
  }

  register(task: AnyTask): this {
    if (!task.path || typeof task.handler !== 'function') {
      throw new ReproqError(`task definition needs a non-empty path and a handler (got ${JSON.stringify(task.path)})`);
    }
    if (task.numbers !== undefined && task.numbers !== 'strict' && task.numbers !== 'lossless') {
      throw new ReproqError(`task ${task.path}: numbers must be 'strict' or 'lossless' (got ${JSON.stringify(task.numbers)})`);
    }
    if (this.#tasks.has(task.path)) throw new ReproqError(`task ${task.path} is registered twice`);
    this.#tasks.set(task.path, task);
    return this;
  }

  get(path: string): AnyTask | undefined {
    return this.#tasks.get(path);
  }

  paths(): string[] {
    return [...this.#tasks.keys()].sort();
  }

  get size(): number {
    return this.#tasks.size;
  }
}

/**
 * Builds a registry from a tasks module's exports: every exported task definition (a named export,
 * an exported array, or a `default` export of either) is registered.
 */
export function registryFromModule(mod: Record<string, unknown>): TaskRegistry {
  const found: AnyTask[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value instanceof TaskRegistry) value.paths().forEach((p) => found.push(value.get(p)!));
    else if (isTaskDefinition(value)) found.push(value);
  };
  for (const value of Object.values(mod)) visit(value);
  const unique = [...new Set(found)];
  return new TaskRegistry(unique);
}

function isTaskDefinition(value: unknown): value is AnyTask {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AnyTask).path === 'string' &&
    typeof (value as AnyTask).handler === 'function'
  );
}
