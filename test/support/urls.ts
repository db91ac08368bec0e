/**
 * The server this run uses. test/global-setup.ts chooses it (test/support/postgres.ts) and hands
 * it to the test workers as DATABASE_URL.
 */
import { withDatabase } from './postgres.ts';

export const ADMIN_URL = adminUrl();

function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is unset: run the tests through vitest, whose global setup chooses the server');
  return url;
}


export function databaseUrl(name: string): string {
  return withDatabase(ADMIN_URL, name);
}
