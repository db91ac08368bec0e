/**
 * What a failed statement means for the caller. Drivers throw different shapes (pg's DatabaseError
 * with a SQLSTATE `code`, Node socket errors, the Neon driver's WebSocket ErrorEvent, PGlite's
 * errors); every caller that decides between "retry later" and "this will fail again" reads them
 * through here.
 *
 * - `transient`: the connection or the server's state; the same statement may succeed later
 *   (SQLSTATE classes 08, 40, 53, 57, 58, 55P03, and errors with no SQLSTATE from the network).
 * - `data`: the statement's data was refused (classes 22, 23, 54): retrying the same values fails
 *   again, so the offending row must be isolated.
 * - `program`: the statement or the schema is wrong (classes 42, 0A, 26, 3D, 3F, 28, 2D, 25 and
 *   everything else with a SQLSTATE): a bug or a missing migration, never an outage.
 */
export type DbErrorKind = 'transient' | 'data' | 'program';

export interface DbErrorInfo {
  kind: DbErrorKind;
  /** The SQLSTATE, when the server sent one. */
  code?: string;
  message: string;
}

const TRANSIENT_CLASSES = new Set(['08', '40', '53', '57', '58']);
const DATA_CLASSES = new Set(['22', '23', '54']);
const TRANSIENT_CODES = new Set(['55P03', '55006']);

export function classifyDbError(err: unknown): DbErrorInfo {
  const message = describeError(err);
  const code = sqlState(err);
  if (code === undefined) return { kind: 'transient', message };
  const cls = code.slice(0, 2);
  if (TRANSIENT_CLASSES.has(cls) || TRANSIENT_CODES.has(code)) return { kind: 'transient', code, message };
  if (DATA_CLASSES.has(cls)) return { kind: 'data', code, message };
  return { kind: 'program', code, message };
}

/** A SQLSTATE is five characters of digits and upper-case letters; Node's `code`s (ECONNRESET) are not. */
function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * A one-line text for any thrown value: an Error's message, an ErrorEvent's inner error or message,
 * a string as it is, else the value's JSON. Never "[object Object]".
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  if (err !== null && typeof err === 'object') {
    const o = err as { message?: unknown; error?: unknown; type?: unknown };
    if (o.error !== undefined && o.error !== err) return describeError(o.error);
    if (typeof o.message === 'string' && o.message) return o.message;
    try {
      const json = JSON.stringify(err);
      if (json && json !== '{}') return json;
    } catch {
      // A cyclic or hostile object: fall through to its type.
    }
    if (typeof o.type === 'string') return `${o.type} event`;
    return 'unknown error (an object with no message)';
  }
  return String(err);
}

/**
 * A deadlock (40P01) or serialization failure (40001): the server rolled the statement back whole,
 * so sending the same statement again is safe and usually succeeds.
 */
export function isRolledBackConflict(err: unknown): boolean {
  const code = sqlState(err);
  return code === '40P01' || code === '40001';
}
