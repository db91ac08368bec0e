/**
 * Every command and function through a real PgBouncer in transaction mode, where each transaction
 * may run on a different server connection and named prepared statements cannot be kept.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pgDb } from '../src/db/pg.ts';
import type { Db } from '../src/db/types.ts';
import { enqueueMany } from '../src/enqueue.ts';
import { collectMetrics, renderPrometheus } from '../src/metrics/index.ts';
import { project, reproq } from './support/cli.ts';
import { admin, useTestDb } from './support/db.ts';
import { needs } from './support/needs.ts';
import { NO_PGBOUNCER, PGBOUNCER, startPgBouncer, type PgBouncer } from './support/pgbouncer.ts';
import { row, waitFor } from './support/queue.ts';
import { ADMIN_URL, databaseUrl } from './support/urls.ts';
import { loadMigrations } from '../src/migrations/list.ts';

/** `url` with `pgbouncer=true`, the flag that turns named prepared statements off. */
const flagged = (url: string) => `${url}${url.includes('?') ? '&' : '?'}pgbouncer=true`;

describe('behind PgBouncer in transaction mode', () => {
  const t = useTestDb('pg', 'task_runs, periodic_tasks, reproq_workers');
  let bouncer: PgBouncer;
  /** One server connection: two clients preparing the same name always meet on it. */
  let single: PgBouncer;
  const opened: Db[] = [];
  const open = (url: string, opts: { preparedStatements?: boolean } = {}) => {
    const db = pgDb({ connectionString: url, max: 4, ...opts });
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    if (!PGBOUNCER) return;
    bouncer = await startPgBouncer(ADMIN_URL);
    single = await startPgBouncer(ADMIN_URL, { poolSize: 1 });
  });
  afterAll(async () => {
    for (const db of opened) await db.close();
    await bouncer?.stop();
    await single?.stop();
  });
  beforeEach((ctx) => needs(ctx, PGBOUNCER !== undefined, NO_PGBOUNCER));

  it('named prepared statements collide there; pgbouncer=true in the URL or preparedStatements: false turns them off', async () => {
    const twice = (db: Db) =>
      Promise.allSettled([0, 1].map(() => db.query('SELECT count(*) AS n FROM task_runs', [], { name: 'reproq_probe' })));

    const failed = (await twice(open(single.url(t.url)))).filter((r) => r.status === 'rejected');
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason?.message))).toEqual(['prepared statement "reproq_probe" already exists']);

    for (const db of [open(flagged(single.url(t.url))), open(single.url(t.url), { preparedStatements: false })]) {
      expect((await twice(db)).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    }
  });

  it('migrate, enqueue, 6 concurrent drain --once, worker, beat, reclaim, status and metrics all work through it', { timeout: 240_000 }, async () => {
    // A fresh database, migrated through the pooler.
    const name = `${t.url.split('/').pop()!.split('?')[0]}_pgb`;
    await admin(`CREATE DATABASE ${name}`);
    try {
      const direct = open(databaseUrl(name));
      const pooled = flagged(bouncer.url(databaseUrl(name)));
      const dir = project();
      const cli = (args: string[], env: Record<string, string> = {}) => reproq(args, { cwd: dir, env: { DATABASE_URL: pooled, ...env } });

      const migrated = await cli(['migrate', '--json']);
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(JSON.parse(migrated.stdout).applied).toHaveLength((await loadMigrations()).length);

      // enqueue: the CLI and the library, both through the pooler.
      const one = await cli(['enqueue', 'app.tasks.hello', '--args', '["cli"]', '--json']);
      expect(one.code, one.stderr).toBe(0);
      const N = 1200;
      await enqueueMany(open(pooled), Array.from({ length: N }, (_, i) => ({ taskPath: 'app.tasks.hello', args: [i] })));

      // Six drains at once, prepared statements off through the env setting (the URL flag is not needed).
      const plain = bouncer.url(databaseUrl(name));
      const drains = await Promise.all(
        Array.from({ length: 6 }, () =>
          reproq(['drain', '--once', '--tasks', './tasks.ts', '--allowed-task-modules', 'app.tasks.', '--batch-size', '50', '--budget', '120000', '--json'], {
            cwd: dir,
            env: { DATABASE_URL: plain, REPROQ_PREPARED_STATEMENTS: 'false' },
          }),
        ),
      );
      for (const d of drains) expect(d.code, d.stderr).toBe(0);
      const summaries = drains.map((d) => JSON.parse(d.stdout.trim().split('\n').at(-1)!) as { succeeded: number; failed: number; error?: string });
      expect(summaries.map((s) => s.error)).toEqual(Array(6).fill(undefined));
      expect(summaries.reduce((n, s) => n + s.succeeded, 0)).toBe(N + 1);
      expect(await row(direct, `SELECT count(*)::int AS n FROM task_runs WHERE status <> 'SUCCESSFUL'`)).toEqual({ n: 0 });

      // worker: a long-running process, its heartbeats and claims all through the pooler.
      await enqueueMany(direct, Array.from({ length: 30 }, (_, i) => ({ taskPath: 'app.tasks.hello', args: [`w${i}`] })));
      const worker = cli(['worker', '--tasks', './tasks.ts', '--allowed-task-modules', 'app.tasks.', '--concurrency', '4']);
      await worker.waitFor(/ready: queues default/);
      await waitFor(async () => (await row<{ n: number }>(direct, `SELECT count(*)::int AS n FROM task_runs WHERE status <> 'SUCCESSFUL'`)).n === 0, 60_000);
      worker.kill('SIGTERM');
      const stopped = await worker;
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toMatch(/"msg":"worker stopped".*"succeeded":30/);

      // beat: one due periodic task becomes one task.
      await direct.query(
        `INSERT INTO periodic_tasks (name, cron_expr, task_path, next_run_at) VALUES ('every_minute', '* * * * *', 'app.tasks.hello', NOW() - interval '1 second')`,
      );
      const beat = await cli(['beat', '--once', '--json']);
      expect(beat.code, beat.stderr).toBe(0);
      expect(await row(direct, `SELECT count(*)::int AS n FROM task_runs WHERE spec_json->>'periodic_name' = 'every_minute'`)).toEqual({ n: 1 });

      // reclaim: a lease that ended goes back to READY.
      const { result_id } = await row<{ result_id: number }>(
        direct,
        `UPDATE task_runs SET status = 'RUNNING', leased_by = 'gone', leased_until = NOW() - interval '1 minute', attempts = 1
         WHERE result_id = (SELECT max(result_id) FROM task_runs) RETURNING result_id`,
      );
      const reclaimed = await cli(['reclaim', '--json']);
      expect(reclaimed.code, reclaimed.stderr).toBe(0);
      expect(await row(direct, 'SELECT status FROM task_runs WHERE result_id = $1', [result_id])).toEqual({ status: 'READY' });

      // status and metrics: the reclaimed task is the one READY task.
      const status = await cli(['status', '--json']);
      expect(status.code, status.stderr).toBe(0);
      const text = renderPrometheus(await collectMetrics(open(pooled)));
      expect(text).toMatch(/\nreproq_queue_depth 1\n/);
    } finally {
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});
