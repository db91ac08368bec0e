/**
 * CPU time of the database's backends, read from Linux's /proc/<pid>/schedstat (nanoseconds on a
 * CPU). Wall time on a loaded machine includes waiting for a core; CPU time mostly does not, so
 * it compares two systems measured minutes apart more fairly. The server is on this machine (the
 * benchmark refuses anything but loopback); where /proc is not readable this returns null.
 */
import { readFileSync } from 'node:fs';
import { admin } from './databases.ts';

/** Milliseconds of CPU used so far by the backends connected to `database`, or null. */
export async function backendCpuMs(database: string): Promise<number | null> {
  const rows = await admin<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [database]);
  let ns = 0;
  try {
    for (const { pid } of rows) ns += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
  return ns / 1e6;
}

/** The database a connection URL names. */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}
