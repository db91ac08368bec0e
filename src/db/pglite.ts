import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { INT8_ARRAY, parseInt8 } from './shared.ts';
import type { Db, QueryResult } from './types.ts';

/**
 * Same row shapes as the pg adapter. PGlite's own int8 parser returns a BigInt above 2^53, and its
 * array parser does not pick up an overridden element parser, so int8[] needs its own entry.
 */
const parsers = {
  [types.INT8]: parseInt8,
  [INT8_ARRAY]: (text: string) => types.arrayParser(text, parseInt8, INT8_ARRAY),
};

type Queryable = Pick<PGlite | Transaction, 'query' | 'exec'>;

function statements(target: Queryable): Pick<Db, 'query' | 'exec'> {
  return {
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const res = await target.query<R>(text, params ? [...params] : []);
      return { rows: res.rows, rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

export interface PgliteOptions {
  /** A directory to keep the database in; undefined means in memory. */
  dataDir?: string;
}

/**
 * `Db` over PGlite (Postgres in WASM, one session). pgcrypto is loaded so migrations can
 * `CREATE EXTENSION pgcrypto`. Every query runs on the same backend, one at a time: good for
 * single-connection logic, useless for proving SKIP LOCKED concurrency.
 */
export async function pgliteDb(opts: PgliteOptions = {}): Promise<Db> {
  const db = await PGlite.create(opts.dataDir, { extensions: { pgcrypto }, parsers });
  let closing: Promise<void> | undefined;
  return {
    driver: 'pglite',
    ...statements(db),
    transaction: <T>(fn: (tx: Db) => Promise<T>): Promise<T> =>
      db.transaction((tx) =>
        fn({
          driver: 'pglite',
          ...statements(tx),
          // The transaction ends when `fn` settles.
          close: async () => {},
        }),
      ),
    close: () => (closing ??= db.close()),
  };
}
