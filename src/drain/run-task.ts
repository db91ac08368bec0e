import { describeError } from '../db/errors.ts';
import { teeLogger } from '../logger.ts';
import { appError, cancelledError, infraError, invalidSpec, securityViolation } from '../outcome.ts';
import { mayRun } from '../tasks/allowlist.ts';
import type { AnyTask, TaskContext } from '../tasks/registry.ts';
import { checkTaskInput } from '../tasks/input.ts';
import type { BatchContext } from './batch.ts';
import { type ClaimedRow, type Outcome, fail, retryOrFail, succeed } from './outcomes.ts';

/** Upstream's max_stdout_bytes/max_stderr_bytes: a chatty task cannot grow a log without bound. */
const MAX_CAPTURE_CHARS = 1024 * 1024;

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
 * Runs one claimed task: checks what must hold before its handler may run (a task path, no cancel
 * request, a registered and allowed handler, valid input), then runs the handler under its timeout
 * and the batch's abort signals, and turns what happened into the outcome to record. `null` means
 * the lease was lost while it ran: there is nothing of ours left to record.
 */
export async function runTask(
  row: ClaimedRow,
  bc: BatchContext,
  running: Map<number, AbortController>,
  capture?: { stdout: string; stderr: string },
): Promise<Outcome | null> {
  const now = () => new Date();
  const taskPath = row.task_path || (typeof row.spec_json?.task_path === 'string' ? row.spec_json.task_path : '');
  if (!taskPath) return fail(row, invalidSpec('spec_json missing task_path', now()));
  if (row.cancel_requested) return fail(row, cancelledError(taskPath, bc.workerId, now()));
  const def = bc.deps.registry.get(taskPath);
  if (!def) return fail(row, invalidSpec(`unknown task path: ${taskPath}`, now()));
  if (!mayRun(taskPath, bc.opts.allowedTaskModules, bc.deps.registry)) return fail(row, securityViolation(taskPath, now()));

  const input = parseInput(def, row.spec_json);
  if ('error' in input) return fail(row, invalidSpec(input.error, now()));

  const taskLog = bc.log.child({ result_id: row.result_id, task_path: taskPath });
  const controller = new AbortController();
  running.set(row.result_id, controller);
  const timeout = setTimeout(() => controller.abort(new RunAbort('timeout')), row.timeout_seconds * 1000);
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
    spec: row.spec_json,
  };
  try {
    // A handler that ignores its signal keeps running on its own; its result is no longer ours.
    const value = await Promise.race([Promise.resolve().then(() => def.handler(input.value, ctx)), aborted]);
    const returnText = serialise(value);
    if (typeof returnText !== 'string' && returnText !== null) {
      return retryOrFail(row, appError(returnText.error, row.attempts, bc.workerId, now()), bc.policy);
    }
    return succeed(row, returnText);
  } catch (err) {
    if (err instanceof RunAbort) {
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

/** A sink failure costs the log, never the outcome. */
export async function saveLog(row: ClaimedRow, capture: { stdout: string; stderr: string }, bc: BatchContext): Promise<string | null> {
  try {
    return await bc.deps.logSink!({ resultId: row.result_id, attempt: row.attempts, ...capture });
  } catch (err) {
    bc.log.warn('task log not saved', { result_id: row.result_id, error: describeError(err) });
    return null;
  }
}

function parseInput(def: AnyTask, spec: Record<string, unknown>): { value: { args: unknown; kwargs: unknown } } | { error: string } {
  const r = checkTaskInput(def, spec.args ?? [], spec.kwargs ?? {});
  return r.ok ? { value: r } : { error: `${r.part} do not match ${def.path}: ${r.message}` };
}

/** `undefined` stores SQL NULL and `null` stores JSON null, as upstream's envelope does. */
function serialise(value: unknown): string | null | { error: Error } {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return { error: new TypeError(`task returned a value that is not JSON: ${typeof value}`) };
    return text;
  } catch (err) {
    const e = new TypeError(`task returned a value that cannot be serialised to JSON: ${describeError(err)}`);
    return { error: e };
  }
}
