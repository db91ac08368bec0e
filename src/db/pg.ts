import pg from 'pg';
import { INT8, INT8_ARRAY, inTransaction, mapInt8, parseInt8, usePreparedStatements } from './shared.ts';
import type { Db, QueryOptions, QueryResult } from './types.ts';

const defaultParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (text: string) => unknown;
const parseInt8Strings = defaultParser(INT8_ARRAY);

/**
 * The row shapes every adapter agrees on: int8 (and int8[]) as number; the rest is pg's default
 * (timestamptz → Date, jsonb parsed, numeric stays a string). Passed per query so it also applies
 * to a Pool the caller built.
 */
const rowTypes: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8) return parseInt8;
    if (oid === INT8_ARRAY) return (text: string) => mapInt8(parseInt8Strings(text));
    return defaultParser(oid, format);
  },
};

type Send = (config: pg.QueryConfig) => Promise<pg.QueryResult>;

function statements(send: Send, prepared: boolean): Pick<Db, 'query' | 'exec'> {
  return {
    async query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      // The extended protocol even without params, so query() takes exactly one statement, as on
      // Neon's HTTP endpoint and PGlite. `queryMode` is missing from @types/pg.
      const res = await send({ name: prepared ? options?.name : undefined, text, values: params ? [...params] : [], types: rowTypes, queryMode: 'extended' } as pg.QueryConfig);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      // No values: the simple-query protocol, the only one that accepts several statements.
      await send({ text: sql });
    },
  };
}

/**
 * For the pools this adapter opens with named statements on (a connection that keeps its session).
 * PostgreSQL re-plans a prepared statement on every call unless its generic plan looks no dearer
 * than the custom ones, and for the drain's step it never does (`LIMIT $5`, an unknown number of
 * task paths), so each step paid 3-8 ms of planning; forcing the generic plan measured +16% drain
 * throughput. Its estimate grows with the queue, and past `jit_above_cost` PostgreSQL would
 * JIT-compile it on every call (hundreds of ms), so JIT goes off too: these statements gain nothing
 * from it. Sent as the connection's first query, not as a startup option, which PgBouncer refuses.
 */
const PLAN_SETTINGS = 'SET plan_cache_mode = force_generic_plan; SET jit = off';
const noop = () => {};

export interface PgDbOptions {
  /**
   * Named prepared statements for the hot statements (default: on, unless the URL says
   * `pgbouncer=true`). Turn them off behind a transaction-mode pooler that cannot keep them.
   */
  preparedStatements?: boolean;
}

export interface PgDbConfig extends PgDbOptions {
  connectionString: string;
  /** Pool size; pg's default is 10. */
  max?: number;
}

/**
 * `Db` over one connected node-postgres Client or PoolClient, as the caller holds it: inside the app's own
 * BEGIN, an enqueue through it commits or rolls back with the app's writes (the outbox pattern). The caller
 * owns the connection and the transaction: `close()` does nothing, and there is no nested `transaction`.
 */
export function pgClientDb(client: pg.ClientBase, options: PgDbOptions = {}): Db {
  return { driver: 'pg', ...statements((c) => client.query(c), options.preparedStatements ?? true), close: async () => {} };
}

/**
 * `Db` over a node-postgres Pool. A Pool passed in stays the caller's: `close()` does not end it.
 */
export function pgDb(config: PgDbConfig | pg.Pool, options: PgDbOptions = {}): Db {
  const owned = !(config instanceof pg.Pool);
  const prepared = owned
    ? usePreparedStatements(config.preparedStatements, config.connectionString)
    : usePreparedStatements(options.preparedStatements, config.options.connectionString ?? '');
  const pool =
    config instanceof pg.Pool
      ? config
      : new pg.Pool({
          connectionString: config.connectionString,
          max: config.max,
          // Awaited before the connection serves its first query; a server that refuses a setting still serves.
          onConnect: prepared ? (client) => client.query(PLAN_SETTINGS).then(noop, noop) : undefined,
        });
  // An idle client whose server connection drops emits 'error' on the pool; pg discards that
  // client, and without a listener Node would crash the process.
  if (owned) pool.on('error', () => {});
  let closing: Promise<void> | undefined;

  return {
    driver: 'pg',
    ...statements((c) => pool.query(c), prepared),
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      return inTransaction(client, 'BEGIN', () =>
        // The connection belongs to the transaction and is released when `fn` settles.
        fn(pgClientDb(client, { preparedStatements: prepared })),
      );
    },
    close: () => (closing ??= owned ? pool.end() : Promise.resolve()),
  };
}
