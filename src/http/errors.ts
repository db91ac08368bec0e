import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { classifyDbError, describeError } from '../db/errors.ts';
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

/** SQLSTATEs that mean the tables or functions the app needs are not there: a migration is missing. */
const SCHEMA_MISSING = new Set(['42P01', '42703', '42883', '42704', '3F000']);

/**
 * The app's `onError`. Client mistakes map to 4xx with the field named. A database error is
 * answered by its kind (src/db/errors.ts), logged here and never echoed (a driver message can
 * carry a host name or a query): only a transient one (an outage) is a 503 with Retry-After; data
 * the database refused is a 422 naming the column or constraint; a statement or schema the
 * database refuses is a 500 that says whether a migration is missing. A JS error that cannot come
 * from the network (RangeError, ReferenceError, SyntaxError) is a bug, a 500.
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
    const where = { path: c.req.path, method: c.req.method };
    if (err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) {
      log.error('request failed (a bug)', { ...where, error: describeError(err) });
      return jsonError(c, 500, 'internal_error', 'the server failed on this request; its log says why');
    }
    const db = classifyDbError(err);
    log.error('request failed', { ...where, kind: db.kind, ...(db.code && { sqlstate: db.code }), error: db.message });
    switch (db.kind) {
      case 'transient':
        return unavailable(c);
      case 'data': {
        const e = err as { column?: unknown; constraint?: unknown };
        const name = [e.column, e.constraint].find((v): v is string => typeof v === 'string' && v !== '');
        return jsonError(c, 422, 'rejected_by_database', `the database refused a value of this request (SQLSTATE ${db.code}${name ? `, ${name}` : ''})`, name);
      }
      case 'program':
        return SCHEMA_MISSING.has(db.code ?? '')
          ? jsonError(c, 500, 'schema_missing', 'the database schema is missing or out of date; run `reproq migrate`')
          : jsonError(c, 500, 'database_error', `the database refused the server's statement (SQLSTATE ${db.code}); its log says why`);
    }
  };
}

function clampStatus(status: number): ContentfulStatusCode {
  return (status >= 400 && status <= 599 ? status : 500) as ContentfulStatusCode;
}
