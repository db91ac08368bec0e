/**
 * The errors_json entries and last_error summaries upstream writes, one builder per `kind`, so a
 * Django admin or Go worker reading the same rows sees the shapes it knows (reproq-worker §4.8).
 */
export type ErrorKind = 'app_error' | 'infra_error' | 'cancelled' | 'security_violation' | 'invalid_spec';

export type ErrorEntry = Record<string, unknown> & { kind: ErrorKind; message: string; at: string };

export const LAST_ERROR_MAX_BYTES = 1024;

export function appError(err: unknown, attempt: number, workerId: string, at: Date): ErrorEntry {
  const e = err instanceof Error ? err : undefined;
  return {
    at: at.toISOString(),
    attempt,
    exception_class: e ? e.name || e.constructor.name : typeof err,
    kind: 'app_error',
    message: e ? e.message : String(err),
    traceback: e?.stack ?? '',
    worker_id: workerId,
  };
}

export function infraError(message: string, at: Date): ErrorEntry {
  return { at: at.toISOString(), kind: 'infra_error', message };
}

export function cancelledError(taskPath: string, workerId: string, at: Date): ErrorEntry {
  return { at: at.toISOString(), kind: 'cancelled', message: 'Task cancelled by request', task_path: taskPath, worker_id: workerId };
}

export function securityViolation(taskPath: string, at: Date): ErrorEntry {
  return {
    at: at.toISOString(),
    kind: 'security_violation',
    message: `security violation: unauthorized task module path: ${taskPath}`,
    task_path: taskPath,
  };
}

export function invalidSpec(message: string, at: Date): ErrorEntry {
  return { at: at.toISOString(), kind: 'invalid_spec', message };
}

/** Upstream's summary: message, else kind, else the raw JSON; cut on a character boundary. */
export function summarizeError(entry: Record<string, unknown>): string {
  const text =
    'message' in entry ? String(entry.message) : 'kind' in entry ? String(entry.kind) : JSON.stringify(entry);
  return truncateUtf8(text, LAST_ERROR_MAX_BYTES);
}

/** Truncates to at most `maxBytes` of UTF-8 without splitting a character (upstream cuts bytes). */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).byteLength <= maxBytes) return text;
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const size = encoder.encode(ch).byteLength;
    if (bytes + size > maxBytes) break;
    bytes += size;
    out += ch;
  }
  return out;
}
