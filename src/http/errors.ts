import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ActiveSpecConflictError, ConfigError, DuplicateActiveTaskError, TaskNotFoundError, TaskStateError, ValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** Every error the app sends: `{"error": {"code", "message", "field"?}}`, `field` naming the bad input. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Seconds a client should wait before retrying after a database outage. */
export const RETRY_AFTER_SECONDS = 5;

export function jsonError(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  field?: string,
  headers?: Record<string, string>,
): Response {
  const body: ErrorBody = { error: field === undefined ? { code, message } : { code, message, field } };
  return c.json(body, status, headers);
}

export function unavailable(c: Context, message = 'the database is unavailable; retry later'): Response {
  return jsonError(c, 503, 'unavailable', message, undefined, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}

/**
 * The app's `onError`. Client mistakes map to 4xx with the field named. Anything else reached us
 * from the database (the routes do no other I/O), so it is a 503 with Retry-After, logged here
 * and never echoed: a driver message can carry a host name or a query.
 */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof HTTPException) {
      // hono's own 4xx (malformed JSON from the validator, an auth header it could not parse).
      if (err.message === 'Malformed JSON in request body') return jsonError(c, 400, 'invalid_json', 'the body is not valid JSON', 'body');
      const res = err.getResponse();
      return jsonError(c, clampStatus(res.status), 'http_error', err.message || res.statusText || 'request refused');
    }
    if (err instanceof ValidationError) return jsonError(c, 400, 'invalid_input', err.message, err.field);
    if (err instanceof DuplicateActiveTaskError) return jsonError(c, 409, 'duplicate_active_task', err.message);
    if (err instanceof TaskNotFoundError) return jsonError(c, 404, 'not_found', err.message, err.resultId === null ? 'specHash' : 'id');
    if (err instanceof TaskStateError) return jsonError(c, 409, 'invalid_state', err.message, 'id');
    if (err instanceof ActiveSpecConflictError) return jsonError(c, 409, 'active_spec_conflict', err.message);
    // The deployment's settings, not the request: say which variable, as a startup failure would.
    if (err instanceof ConfigError) return jsonError(c, 500, 'misconfigured', err.message, err.variable);
    log.error('request failed', { path: c.req.path, method: c.req.method, error: err?.message ?? String(err) });
    return unavailable(c);
  };
}

function clampStatus(status: number): ContentfulStatusCode {
  return (status >= 400 && status <= 599 ? status : 500) as ContentfulStatusCode;
}
