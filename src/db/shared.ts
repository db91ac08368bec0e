/** Pieces every adapter shares, so all drivers hand the core identical row shapes. */

export const INT8 = 20;
export const INT8_ARRAY = 1016;

/** Result ids and counts stay far below 2^53; a bigger value fails loudly instead of rounding. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} does not fit in a JavaScript number`);
  return n;
}

export const mapInt8 = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(mapInt8) : v === null ? null : parseInt8(String(v));

/** A pooled connection as pg and Neon's pg fork both expose it. */
export interface PooledClient {
  query(text: string): Promise<unknown>;
  release(err?: Error | boolean): void;
}

/**
 * BEGIN/COMMIT around `fn`, ROLLBACK on error. A connection whose ROLLBACK failed is destroyed
 * (release(err)) instead of going back to the pool in an unknown state.
 */
export async function inTransaction<T>(client: PooledClient, begin: string, fn: () => Promise<T>): Promise<T> {
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * Whether a connection may use named prepared statements. A transaction-mode pooler (PgBouncer
 * before 1.21 or without max_prepared_statements, Supabase's pooler, RDS Proxy) hands each
 * transaction a different server connection, where a statement this client prepared elsewhere is
 * missing or already exists. An explicit setting wins; otherwise a URL with `pgbouncer=true`
 * (the convention Prisma and Supabase's pooler URLs use) turns them off.
 */
export function usePreparedStatements(setting: boolean | undefined, connectionString: string): boolean {
  if (setting !== undefined) return setting;
  const query = /\?(.*)$/.exec(connectionString)?.[1] ?? '';
  return new URLSearchParams(query).get('pgbouncer')?.toLowerCase() !== 'true';
}
