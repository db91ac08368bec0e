import { LOCAL_URL, withDatabase } from './postgres.ts';

/**
 * The server this run uses. Under vitest, test/global-setup.ts chooses it (test/support/postgres.ts)
 * and hands it to the test workers as DATABASE_URL; scripts such as the benchmark use DATABASE_URL
 * or the local server.
 */
export const ADMIN_URL = process.env.DATABASE_URL || LOCAL_URL;

export function databaseUrl(name: string): string {
  return withDatabase(ADMIN_URL, name);
}
