import { sign } from 'hono/jwt';
import { configFromEnv, type Config } from '../../src/config.ts';
import type { Db } from '../../src/db/types.ts';
import { enqueue } from '../../src/enqueue.ts';
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

/**
 * Stand-ins for the beat/reclaim/metrics modules (issue 3), recording their calls, so the routes
 * and the cron mappings are tested against the `Ops` contract.
 */
export function fakeOps(): Ops & { calls: { op: string; options?: unknown }[] } {
  const calls: { op: string; options?: unknown }[] = [];
  return {
    calls,
    async beat(db, options) {
      const { resultId } = await enqueue(db, { taskPath: 'tasks.echo', args: ['from beat'] });
      calls.push({ op: 'beat', options });
      return { enqueued: 1, enqueuedIds: [resultId] };
    },
    async reclaim(db, options) {
      const res = await db.query<{ result_id: number }>(
        `UPDATE task_runs SET status = 'READY', leased_by = NULL, leased_until = NULL
          WHERE status = 'RUNNING' AND leased_until < now() RETURNING result_id`,
      );
      calls.push({ op: 'reclaim', options });
      return { matched: res.rowCount, ids: res.rows.map((r) => Number(r.result_id)) };
    },
    metrics: {
      async collect(db) {
        const res = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM task_runs WHERE status = 'READY'`);
        return { depth: res.rows[0]!.n };
      },
      prometheus: (s) => `# TYPE reproq_queue_depth gauge\nreproq_queue_depth ${(s as { depth: number }).depth}\n`,
      stats: (s) => ({ queue_depth: (s as { depth: number }).depth }),
    },
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
