/**
 * A small structured logger: one JSON line per record, with upstream's key-based redaction so a
 * task's arguments or a token never reach the log.
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

const REDACTED_KEYS = new Set([
  'args', 'authorization', 'body', 'errors_json', 'headers', 'kwargs', 'payload', 'payload_json',
  'return_json', 'spec_json', 'stderr', 'stdout', 'traceback',
]);
const REDACTED_PARTS = ['secret', 'token', 'password', 'apikey', 'api_key', 'authorization'];

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    out[k] = REDACTED_KEYS.has(key) || REDACTED_PARTS.some((p) => key.includes(p)) ? '[REDACTED]' : redact(v);
  }
  return out;
}

export function consoleLogger(
  base: Record<string, unknown> = {},
  write: (line: string, level: Level) => void = defaultWrite,
  minLevel: Level = 'info',
): Logger {
  const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < order[minLevel]) return;
    const record = redact({ time: new Date().toISOString(), level, msg, ...base, ...fields });
    write(JSON.stringify(record), level);
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => consoleLogger({ ...base, ...fields }, write, minLevel),
  };
}

/**
 * Forwards to `inner` and also hands each record, as the JSON line consoleLogger would print, to `record`;
 * the drain uses it to capture a task's own log for logs_uri.
 */
export function teeLogger(inner: Logger, record: (level: 'info' | 'warn' | 'error', line: string) => void, base: Record<string, unknown> = {}): Logger {
  const emit = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => {
    inner[level](msg, fields);
    record(level, JSON.stringify(redact({ time: new Date().toISOString(), level, msg, ...base, ...fields })));
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => teeLogger(inner.child(fields), record, { ...base, ...fields }),
  };
}

/** Discards everything; for tests and benchmarks. */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

function defaultWrite(line: string, level: Level): void {
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
}
