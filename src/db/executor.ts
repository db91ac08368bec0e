/**
 * `Db`s over a connection the caller already holds, typically inside its own transaction: the outbox pattern.
 * An `enqueue(executorDb(tx), …)` inside the app's transaction commits or rolls back with the app's own writes.
 * The caller owns the transaction and the connection: `close()` does nothing and there is no `transaction`.
 * Row shapes are the executor's (e.g. int8 may arrive as a string or a bigint); the core's enqueue reads ids
 * through Number(), so any of them works.
 */
import type { Db, DriverName, QueryResult } from './types.ts';

/** A result as drivers and query builders return one: pg's `{ rows, rowCount }`, Kysely's `{ rows }`, or plain rows. */
export type ExecutorResult = { rows?: readonly unknown[]; rowCount?: number | null } | readonly unknown[];

/** Anything that runs one statement with `$1, $2, …` parameters. */
export interface SqlExecutor {
  query(text: string, params: unknown[]): Promise<ExecutorResult> | PromiseLike<ExecutorResult>;
}

/**
 * A tagged-template query function, for APIs that take SQL only that way (Drizzle's `sql` with
 * `tx.execute`, Prisma's `tx.$queryRaw`, postgres.js's `sql`).
 */
export type SqlTag = (strings: TemplateStringsArray, ...values: unknown[]) => Promise<ExecutorResult> | PromiseLike<ExecutorResult>;

export function executorDb(executor: SqlExecutor, driver: DriverName = 'pg'): Db {
  return {
    driver,
    async query<R>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      return normalise<R>(await executor.query(text, [...params]));
    },
    close: async () => {},
  };
}

/**
 * The same over a tagged template: the statement is cut at its `$n` placeholders (the core's statements use no
 * other `$`) and each one becomes the template's value.
 */
export function templateDb(tag: SqlTag, driver: DriverName = 'pg'): Db {
  return executorDb(
    {
      query: (text, params) => {
        const parts = text.split(/\$(\d+)/);
        const strings = parts.filter((_, i) => i % 2 === 0);
        const values = parts.filter((_, i) => i % 2 === 1).map((n) => params[Number(n) - 1]);
        return tag(Object.assign([...strings], { raw: [...strings] }) as unknown as TemplateStringsArray, ...values);
      },
    },
    driver,
  );
}

function normalise<R>(result: ExecutorResult): QueryResult<R> {
  const rows = (Array.isArray(result) ? result : ((result as { rows?: readonly unknown[] }).rows ?? [])) as R[];
  const count = Array.isArray(result) ? undefined : (result as { rowCount?: number | null }).rowCount;
  return { rows: [...rows], rowCount: count ?? rows.length };
}
