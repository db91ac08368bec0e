import { sign } from 'hono/jwt';
import { configFromEnv, type Config } from '../../src/config.ts';
import type { Db } from '../../src/db/types.ts';
import type { Ops } from '../../src/jobs.ts';
import { defineTask, TaskRegistry } from '../../src/tasks/registry.ts';

export const TOKEN = 'operator-token-123';
export const CRON = 'cron-secret-456';
export const METRICS = 'metrics-token-789';

export const echo = defineTask({ path: 'tasks.echo', handler: ({ args }) => ({ echoed: args }) });
export const testRegistry = () => new TaskRegistry([echo]);

/** The config an entry point reads from these env variables (defaults < env). */
export function httpConfig(env: Record<string, string> = {}): Config {
  return configFromEnv({ REPROQ_AUTH_TOKEN: TOKEN, ...env });
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** An upstream TUI token (reproq-django's tui_auth claims), signed HS256 with `secret`. */
export function tuiToken(secret: string, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ aud: 'reproq-tui', iss: 'reproq-django', superuser: true, exp: now + 300, ...claims }, secret, 'HS256');
}

/** Ops that only record their calls, to test what the app passes through the `ops` seam. */
export function recordingOps(): Ops & { calls: { op: string; options?: unknown }[] } {
  const calls: { op: string; options?: unknown }[] = [];
  return {
    calls,
    beat: async (_db, options) => (calls.push({ op: 'beat', options }), { op: 'beat' }),
    reclaim: async (_db, options) => (calls.push({ op: 'reclaim', options }), { op: 'reclaim' }),
    metrics: { collect: async () => ({}), prometheus: () => '', stats: () => ({}) },
  };
}

/** Row counts and a content hash of every queue table: equal snapshots mean nothing was written. */
export async function dbSnapshot(db: Db): Promise<string> {
  const res = await db.query<{ t: string; n: number; h: string | null }>(`
    SELECT 'task_runs' AS t, count(*)::int AS n, md5(string_agg(r::text, '|' ORDER BY result_id)) AS h FROM task_runs r
    UNION ALL SELECT 'periodic_tasks', count(*)::int, md5(string_agg(p::text, '|' ORDER BY name)) FROM periodic_tasks p
    UNION ALL SELECT 'reproq_workers', count(*)::int, md5(string_agg(w::text, '|' ORDER BY worker_id)) FROM reproq_workers w
    UNION ALL SELECT 'rate_limits', count(*)::int, md5(string_agg(l::text, '|' ORDER BY key)) FROM rate_limits l`);
  return JSON.stringify(res.rows);
}
