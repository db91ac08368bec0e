import type { Db, QueryOptions, QueryResult } from '../../src/db/types.ts';
import { silentLogger } from '../../src/logger.ts';
import { drain, type DrainOptions } from '../../src/drain.ts';
import { RENEW_LEASES } from '../../src/sql/renewLeases.ts';
import { type AnyTask, TaskRegistry } from '../../src/tasks/registry.ts';

/** Wraps a Db to count the statements sent through it (round trips, from the driver's side). */
export function countingDb(db: Db): Db & { count: number; texts: string[] } {
  const wrapped = {
    count: 0,
    texts: [] as string[],
    driver: db.driver,
    async query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      wrapped.count++;
      wrapped.texts.push(text);
      return db.query<R>(text, params, options);
    },
    close: () => db.close(),
  };
  return wrapped;
}

/** Wraps a Db so that every lease renewal fails, as it would while the database is out of reach. */
export function failingRenewals(db: Db): Db & { renewals: number } {
  const wrapped = {
    renewals: 0,
    driver: db.driver,
    async query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      if (text === RENEW_LEASES) {
        wrapped.renewals++;
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
      }
      return db.query<R>(text, params, options);
    },
    close: () => db.close(),
  };
  return wrapped;
}

export async function row<R = Record<string, unknown>>(db: Db, sql: string, params: unknown[] = []): Promise<R> {
  const res = await db.query<R>(sql, params);
  return res.rows[0]!;
}

export function drainWith(db: Db, tasks: AnyTask[], opts: DrainOptions = {}) {
  return drain({ db, registry: new TaskRegistry(tasks), logger: silentLogger }, { allowedTaskModules: ['*'], ...opts });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it holds, or throws after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error('condition not reached');
}
