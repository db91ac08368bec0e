import { type RetryPolicy, retryDelaySeconds } from '../backoff.ts';
import { type ErrorEntry, outcomeRefused, resultAltered, storableEntry, storableJsonText, summarizeError } from '../outcome.ts';
import type { DrainSummary } from './options.ts';

/** A claimed row as the step returns it. */
export interface ClaimedRow {
  result_id: number;
  queue_name: string;
  task_path: string | null;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_seconds: number;
  /** spec_json as PostgreSQL prints it: parsed per task, so numbers can be read exactly (see spec-input.ts). */
  spec_text: string;
  enqueued_at: Date;
  cancel_requested: boolean;
}

export type Action = 'success' | 'retry' | 'fail' | 'release';

export interface Outcome {
  result_id: number;
  action: Action;
  return_text: string | null;
  error: ErrorEntry | null;
  last_error: string | null;
  delay_s: number | null;
  logs_uri: string | null;
}

/**
 * Outcomes are made storable when they are built (see outcome.ts): a statement carrying a whole batch
 * must not fail because one task's result or error holds text PostgreSQL refuses.
 */

/** Retries while attempts remain (attempts counts this run), else fails terminally. */
export function retryOrFail(row: ClaimedRow, entry: ErrorEntry, policy: RetryPolicy): Outcome {
  if (row.attempts < row.max_attempts) {
    return { ...blank(row), action: 'retry', error: storableEntry(entry), delay_s: retryDelaySeconds(row.attempts, policy) };
  }
  return fail(row, entry);
}

export function fail(row: ClaimedRow, entry: ErrorEntry): Outcome {
  const stored = storableEntry(entry);
  return { ...blank(row), action: 'fail', error: stored, last_error: summarizeError(stored) };
}

/**
 * A success stays a success even when its return value had to be altered (its side effects have
 * happened): the alteration is recorded as an informational `result_altered` errors_json entry.
 */
export function succeed(row: ClaimedRow, returnText: string | null, workerId: string, at: Date): Outcome {
  if (returnText === null) return { ...blank(row), action: 'success' };
  const { text, replaced } = storableJsonText(returnText);
  const note = replaced > 0 ? resultAltered(`${replaced} U+0000 or lone surrogate(s) replaced by U+FFFD`, row.attempts, workerId, at) : null;
  return { ...blank(row), action: 'success', return_text: text, error: note };
}

/**
 * What is recorded instead of an outcome the database refused (found by record.ts): a retry stays a
 * retry, anything else becomes a terminal failure (a success whose result cannot be stored must not
 * look like one), with a short entry naming the database's complaint.
 */
export function refused(o: Outcome, complaint: string, code: string | undefined, at: Date): Outcome {
  const entry = storableEntry(outcomeRefused(o.action, complaint, code, at));
  const action = o.action === 'retry' ? 'retry' : 'fail';
  return {
    result_id: o.result_id,
    action,
    return_text: null,
    error: entry,
    last_error: action === 'fail' ? summarizeError(entry) : null,
    delay_s: o.delay_s,
    logs_uri: null,
  };
}

export function release(row: ClaimedRow): Outcome {
  return { ...blank(row), action: 'release' };
}

function blank(row: ClaimedRow): Outcome {
  return { result_id: row.result_id, action: 'release', return_text: null, error: null, last_error: null, delay_s: null, logs_uri: null };
}

/** Counts only what the fence let through; the rest lost their lease while running. */
export function tally(summary: DrainSummary, sent: readonly Outcome[], completed: readonly [number, Action][]): void {
  const applied = new Set(completed.map(([id]) => Number(id)));
  for (const o of sent) {
    if (!applied.has(o.result_id)) summary.lostLease++;
    else if (o.action === 'success') summary.succeeded++;
    else if (o.action === 'retry') summary.retried++;
    else if (o.action === 'release') summary.released++;
    else {
      summary.failed++;
      if (o.error?.kind === 'cancelled') summary.cancelled++;
    }
  }
}
