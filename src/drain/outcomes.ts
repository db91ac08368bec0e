import { type RetryPolicy, retryDelaySeconds } from '../backoff.ts';
import { type ErrorEntry, summarizeError } from '../outcome.ts';
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
  spec_json: Record<string, unknown>;
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

/** Retries while attempts remain (attempts counts this run), else fails terminally. */
export function retryOrFail(row: ClaimedRow, entry: ErrorEntry, policy: RetryPolicy): Outcome {
  if (row.attempts < row.max_attempts) {
    return { ...blank(row), action: 'retry', error: entry, delay_s: retryDelaySeconds(row.attempts, policy) };
  }
  return fail(row, entry);
}

export function fail(row: ClaimedRow, entry: ErrorEntry): Outcome {
  return { ...blank(row), action: 'fail', error: entry, last_error: summarizeError(entry) };
}

export function succeed(row: ClaimedRow, returnText: string | null): Outcome {
  return { ...blank(row), action: 'success', return_text: returnText };
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
