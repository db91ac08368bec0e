import { stringify as stringifyLossless } from 'lossless-json';
import { teeLogger } from '../logger.ts';
import { appError, cancelledError, describeThrown, infraError, invalidSpec, securityViolation, storableText } from '../outcome.ts';
import { mayRun } from '../tasks/allowlist.ts';
import type { AnyTask, TaskContext } from '../tasks/registry.ts';
import { checkTaskInput } from '../tasks/input.ts';
import type { BatchContext } from './batch.ts';
import { type ClaimedRow, type Outcome, fail, retryOrFail, succeed } from './outcomes.ts';
import { readSpec } from './spec-input.ts';

/** Upstream's max_stdout_bytes/max_stderr_bytes: a chatty task cannot grow a log without bound. */
const MAX_CAPTURE_CHARS = 1024 * 1024;

/** Node and the edge runtimes keep a timer delay in 32 bits; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why a running handler was aborted; the drain maps each to an outcome. */
type AbortReason = 'timeout' | 'cancelled' | 'lease_lost' | 'deadline' | 'shutdown';

export class RunAbort extends Error {
  readonly reason: AbortReason;
  constructor(reason: AbortReason) {
    super(reason);
    this.reason = reason;
    this.name = 'RunAbort';
  }
}

/**
 * Runs one claimed task: checks what must hold before its handler may run (no cancel request, a
 * registered and allowed handler, a readable spec, a usable timeout, valid input), then runs the
 * handler under its timeout and the batch's abort signals, and turns what happened into the outcome
 * to record. `null` means the lease was lost while it ran: there is nothing of ours left to record.
 * Nothing a row holds or a handler does (returns, throws) makes it throw.
 */
export async function runTask(
  row: ClaimedRow,
  bc: BatchContext,
  running: Map<number, AbortController>,
  capture?: { stdout: string; stderr: string },
): Promise<Outcome | null> {
  const now = () => new Date();
  // The claim takes only rows with a task_path (the column's CHECK constraint refuses any other).
  const taskPath = row.task_path ?? '';
  if (row.cancel_requested) return fail(row, cancelledError(taskPath, bc.workerId, now()));
  const def = bc.deps.registry.get(taskPath);
  if (!def) return fail(row, invalidSpec(`unknown task path: ${taskPath}`, now()));
  if (!mayRun(taskPath, bc.opts.allowedTaskModules, bc.deps.registry)) return fail(row, securityViolation(taskPath, now()));

  const spec = readSpec(def, row.spec_text);
  if ('error' in spec) return fail(row, invalidSpec(spec.error, now()));
  if (!(row.timeout_seconds >= 1)) return fail(row, invalidSpec(`timeout_seconds must be at least 1 (got ${row.timeout_seconds})`, now()));
  const input = parseInput(def, spec.args, spec.kwargs);
  if ('error' in input) return fail(row, invalidSpec(input.error, now()));

  const taskLog = bc.log.child({ result_id: row.result_id, task_path: taskPath });
  const controller = new AbortController();
  running.set(row.result_id, controller);
  const timeout = setTimeout(() => controller.abort(new RunAbort('timeout')), Math.min(row.timeout_seconds * 1000, MAX_TIMER_MS));
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  const ctx: TaskContext = {
    resultId: row.result_id,
    taskPath,
    queue: row.queue_name,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
    signal: controller.signal,
    log: capture ? teeLogger(taskLog, (level, line) => {
      const stream = level === 'info' ? 'stdout' : 'stderr';
      if (capture[stream].length < MAX_CAPTURE_CHARS) capture[stream] += `${line}\n`;
    }) : taskLog,
    spec: spec.spec,
  };
  try {
    // A handler that ignores its signal keeps running on its own; its result is no longer ours.
    const value = await Promise.race([Promise.resolve().then(() => def.handler(input.value, ctx)), aborted]);
    const returnText = serialise(value, def.numbers === 'lossless');
    if (typeof returnText !== 'string' && returnText !== null) {
      return retryOrFail(row, appError(returnText.error, row.attempts, bc.workerId, now()), bc.policy);
    }
    return succeed(row, returnText, bc.workerId, now());
  } catch (err) {
    // Compared by identity: `instanceof` on a thrown Proxy runs its traps, which may throw.
    if (err === controller.signal.reason && err instanceof RunAbort) {
      switch (err.reason) {
        case 'lease_lost':
          bc.summary.lostLease++;
          return null;
        case 'cancelled':
          return fail(row, cancelledError(taskPath, bc.workerId, now()));
        case 'timeout':
          return retryOrFail(row, infraError(`task exceeded timeout_seconds=${row.timeout_seconds}`, now()), bc.policy);
        case 'deadline':
          return retryOrFail(row, infraError('aborted at the end of the drain budget', now()), bc.policy);
        case 'shutdown':
          return retryOrFail(row, infraError('aborted: the worker shut down before the task finished', now()), bc.policy);
      }
    }
    return retryOrFail(row, appError(err, row.attempts, bc.workerId, now()), bc.policy);
  } finally {
    clearTimeout(timeout);
    running.delete(row.result_id);
  }

}

/** A sink failure costs the log, never the outcome: a URI the database could not store is dropped too. */
export async function saveLog(row: ClaimedRow, capture: { stdout: string; stderr: string }, bc: BatchContext): Promise<string | null> {
  try {
    const uri = await bc.deps.logSink!({ resultId: row.result_id, attempt: row.attempts, ...capture });
    if (uri === null || (typeof uri === 'string' && storableText(uri) === uri)) return uri;
    bc.log.warn('task log URI not recorded: not storable text', { result_id: row.result_id });
    return null;
  } catch (err) {
    bc.log.warn('task log not saved', { result_id: row.result_id, error: describeThrown(err) });
    return null;
  }
}

function parseInput(def: AnyTask, rawArgs: unknown, rawKwargs: unknown): { value: { args: unknown; kwargs: unknown } } | { error: string } {
  let r: ReturnType<typeof checkTaskInput>;
  try {
    r = checkTaskInput(def, rawArgs, rawKwargs);
  } catch (err) {
    // A refinement that throws is the schema's fault, but the row still cannot run.
    return { error: `the input schema of ${def.path} threw: ${describeThrown(err)}` };
  }
  return r.ok ? { value: r } : { error: `${r.part} do not match ${def.path}: ${r.message}` };
}

/** `undefined` stores SQL NULL and `null` stores JSON null, as upstream's envelope does. */
function serialise(value: unknown, lossless: boolean): string | null | { error: Error } {
  if (value === undefined) return null;
  try {
    const text = lossless ? stringifyLossless(value) : JSON.stringify(value);
    if (text === undefined) return { error: new TypeError(`task returned a value that is not JSON: ${typeof value}`) };
    return text;
  } catch (err) {
    return { error: new TypeError(`task returned a value that cannot be serialised to JSON: ${describeThrown(err)}`) };
  }
}
