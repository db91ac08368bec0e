/**
 * The one database seam of the core. Every queue operation is a single statement sent through
 * `query`, so it works the same over a pooled connection, Neon's HTTP endpoint or a
 * transaction-mode pooler. `transaction` exists for the few multi-statement jobs (migrations).
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Names a hot statement so drivers with sessions (pg, Neon WebSocket) prepare it once per
   * connection instead of planning it on every call; the others ignore it. One name, one text.
   * An adapter opened with `preparedStatements: false` (behind a transaction-mode pooler) drops it.
   */
  name?: string;
}

export interface Db {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
  /** Runs `fn` on one connection inside BEGIN/COMMIT. Not available on Neon's HTTP driver. */
  transaction?<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * Runs a script of several statements (a migration file) with no parameters and no result.
   * Neon's HTTP driver rejects it: its endpoint takes one statement per request.
   */
  exec?(sql: string): Promise<void>;
  /** Releases the pool or client. Idempotent. */
  close(): Promise<void>;
  /** Which adapter this is, for logs and `doctor`. */
  readonly driver: DriverName;
}

export type DriverName = 'pg' | 'neon-ws' | 'neon-http' | 'pglite';
