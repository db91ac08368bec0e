import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/types.ts';
import { enqueue } from '../src/enqueue.ts';
import { reproq } from './support/cli.ts';
import { createTestDatabase, openDb, type TestDatabase } from './support/db.ts';
import { row } from './support/queue.ts';

describe('reproq queue operations against a database', () => {
  let tdb: TestDatabase;
  let db: Db;
  let env: Record<string, string>;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDb('pg', tdb.url);
    env = { DATABASE_URL: tdb.url };
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });
  const status = (id: number) => row<{ status: string; cancel_requested: boolean }>(db, 'SELECT status, cancel_requested FROM task_runs WHERE result_id = $1', [id]);
  const ids = async (n: number, queue = 'default') =>
    Promise.all(Array.from({ length: n }, async (_, i) => (await enqueue(db, { taskPath: 'app.tasks.hello', args: [queue, i, Math.random()], queue })).resultId));

  it('pause/resume upsert queue controls; cancel, replay and triage follow upstream; status reports it all', async () => {
    const [ready, running, done, failed, failed2] = (await ids(5)) as [number, number, number, number, number];
    await db.query(`UPDATE task_runs SET status = 'RUNNING', leased_by = 'w/1', leased_until = NOW() + interval '5 minutes' WHERE result_id = $1`, [running]);
    await db.query(`UPDATE task_runs SET status = 'SUCCESSFUL', finished_at = NOW() WHERE result_id = $1`, [done]);
    await db.query(`UPDATE task_runs SET status = 'FAILED', failed_at = NOW(), finished_at = NOW(), attempts = 3, last_error = 'boom' WHERE result_id = ANY($1)`, [[failed, failed2]]);
    await db.query(`INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues, last_seen_at) VALUES ('old', 'h', 1, '[]', NOW() - interval '1 hour'), ('new', 'h', 4, '["default"]', NOW())`);

    const r = await Promise.all([
      reproq(['pause-queue', 'reports', '--reason', 'maintenance'], { env }),
      reproq(['cancel', '--id', String(ready)], { env }),
      reproq(['cancel', '--id', String(running), '--json'], { env }),
      reproq(['cancel', '--id', String(done)], { env }),
      reproq(['cancel', '--id', '999999'], { env }),
      reproq(['replay', '--id', String(done)], { env }),
      reproq(['replay', '--id', String(running)], { env }),
      reproq(['triage', 'list', '--json'], { env }),
      reproq(['triage', 'inspect', '--id', String(failed)], { env }),
    ]);
    const [pause, cancelReady, cancelRunning, cancelDone, cancelMissing, replayDone, replayBlocked, list, inspect] = r;
    expect(pause).toMatchObject({ code: 0, stdout: 'Paused queue reports.\n' });
    expect(await row(db, `SELECT paused, reason, paused_at IS NOT NULL AS at FROM reproq_queue_controls WHERE queue_name = 'reports'`)).toEqual({ paused: true, reason: 'maintenance', at: true });

    expect(cancelReady).toMatchObject({ code: 0, stdout: `Cancelled task ${ready} (was READY).\n` });
    expect(await status(ready)).toEqual({ status: 'CANCELLED', cancel_requested: false });
    expect(JSON.parse(cancelRunning.stdout)).toEqual({ resultId: running, before: 'RUNNING', after: 'RUNNING', changed: true, outcome: 'cancel_requested', dependants: 0 });
    expect(await status(running)).toEqual({ status: 'RUNNING', cancel_requested: true });
    expect(cancelDone).toMatchObject({ code: 0, stdout: `Task ${done} is already SUCCESSFUL; nothing to cancel.\n` });
    expect(cancelMissing).toMatchObject({ code: 1, stderr: 'reproq: task run 999999 not found\n' });

    expect(replayDone.code).toBe(0);
    const copy = Number(/as new result_id (\d+)/.exec(replayDone.stdout)![1]);
    expect(await row(db, 'SELECT status, spec_hash = (SELECT spec_hash FROM task_runs WHERE result_id = $2) AS same FROM task_runs WHERE result_id = $1', [copy, done])).toEqual({ status: 'READY', same: true });
    expect(replayBlocked).toMatchObject({ code: 1, stderr: expect.stringMatching(`task ${running} with the same spec_hash is still RUNNING`) });

    expect(JSON.parse(list.stdout).map((x: { result_id: number }) => x.result_id).sort()).toEqual([failed, failed2].sort());
    expect(inspect.stdout).toMatch(new RegExp(`Result ID: ${failed}\\n[\\s\\S]*Attempts: 3/3[\\s\\S]*Last Error: boom`));
    const retry = await reproq(['triage', 'retry', '--id', String(failed)], { env });
    expect(retry).toMatchObject({ code: 0, stdout: 'Retried 1 task(s).\n' });
    expect(await row(db, 'SELECT status, attempts, last_error FROM task_runs WHERE result_id = $1', [failed])).toEqual({ status: 'READY', attempts: 0, last_error: null });

    const report = await reproq(['status', '--json'], { env });
    const s = JSON.parse(report.stdout);
    expect(s.tasks).toEqual({ READY: 2, RUNNING: 1, SUCCESSFUL: 1, FAILED: 1, CANCELLED: 1 });
    expect(s.queues.find((q: { queue: string }) => q.queue === 'reports')).toMatchObject({ paused: true, reason: 'maintenance' });
    expect(s.queues.find((q: { queue: string }) => q.queue === 'default')).toMatchObject({ ready: 2, running: 1, failed: 1 });
    expect(s.workers).toMatchObject({ alive: 1, stale: 1 });
    expect(await reproq(['resume-queue', 'reports'], { env })).toMatchObject({ code: 0, stdout: 'Resumed queue reports.\n' });
    expect(await row(db, `SELECT paused, reason, paused_at FROM reproq_queue_controls WHERE queue_name = 'reports'`)).toEqual({ paused: false, reason: '', paused_at: null });
  });

  it('stress-test enqueues N distinct rows; prune, prune-successful and prune-workers delete by age and status', async () => {
    await db.query('TRUNCATE task_runs, reproq_workers RESTART IDENTITY');
    const stress = await reproq(['stress-test', '--count', '1500'], { env });
    expect(stress).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Enqueueing 1500 tasks[\s\S]*Enqueued 1500 tasks in/) });
    expect(await row(db, 'SELECT count(*)::int AS n, count(DISTINCT spec_hash)::int AS distinct_specs FROM task_runs')).toEqual({ n: 1500, distinct_specs: 1500 });
    expect(stress.stderr).toMatch(/enqueueing: 1500\/1500/); // plain progress lines off a TTY

    await db.query(`UPDATE task_runs SET status = 'SUCCESSFUL', finished_at = NOW() - interval '10 days' WHERE result_id <= 1000`);
    await db.query(`UPDATE task_runs SET status = 'FAILED', finished_at = NOW() - interval '10 days' WHERE result_id BETWEEN 1001 AND 1100`);
    await db.query(`UPDATE task_runs SET status = 'SUCCESSFUL', finished_at = NOW() - interval '1 hour' WHERE result_id BETWEEN 1101 AND 1200`);
    await db.query(`INSERT INTO reproq_workers (worker_id, last_seen_at) VALUES ('gone', NOW() - interval '1 hour'), ('here', NOW())`);

    const [dry, workers] = await Promise.all([
      reproq(['prune', '--older-than', '7d', '--dry-run'], { env }),
      reproq(['prune-workers', '--older-than', '10m'], { env }),
    ]);
    expect(dry).toMatchObject({ code: 0, stdout: 'Dry run: 1100 task(s) would be deleted.\n' });
    expect(workers).toMatchObject({ code: 0, stdout: 'Deleted 1 stale worker(s).\n' });
    expect(await row(db, 'SELECT array_agg(worker_id)::text[] AS w FROM reproq_workers')).toEqual({ w: ['here'] });

    const pruned = await reproq(['prune', '--statuses', 'failed', '--older-than', '7d', '--batch-size', '30', '--json'], { env });
    expect(JSON.parse(pruned.stdout)).toMatchObject({ matched: 100, deleted: 100 });
    const successful = await reproq(['prune-successful', '--older-than', '30m', '--limit', '1050'], { env });
    expect(successful).toMatchObject({ code: 0, stdout: 'Deleted 1050 successful task(s).\n' });
    expect(await row(db, `SELECT count(*) FILTER (WHERE status = 'SUCCESSFUL')::int AS ok, count(*) FILTER (WHERE status = 'READY')::int AS ready, count(*) FILTER (WHERE status = 'FAILED')::int AS failed FROM task_runs`)).toEqual({ ok: 50, ready: 300, failed: 0 });
  });
});
