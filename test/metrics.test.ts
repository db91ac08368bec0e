import { spawnSync } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/types.ts';
import { collectMetrics, renderPrometheus, renderStats } from '../src/metrics/index.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { hasCommand, needs } from './support/needs.ts';
import { countingDb } from './support/queue.ts';

const hasPromtool = hasCommand('promtool');

/** A queue with one row of every kind the snapshot reports. */
async function populate(db: Db): Promise<void> {
  await db.query(`
    INSERT INTO task_runs (queue_name, spec_json, spec_hash, task_path, status, attempts, run_after, enqueued_at,
                           leased_by, leased_until, finished_at, failed_at, concurrency_key, concurrency_limit)
    VALUES
      ('default', '{}', 'r1', 'tasks.a', 'READY', 0, NULL, NOW() - interval '90 seconds', NULL, NULL, NULL, NULL, NULL, 0),
      ('default', '{}', 'r2', 'tasks.a', 'READY', 1, NOW() + interval '1 hour', NOW(), NULL, NULL, NULL, NULL, NULL, 0),
      ('default', '{}', 'r3', 'tasks.a', 'READY', 0, NULL, NOW(), NULL, NULL, NULL, NULL, 'acct"1', 1),
      ('default', '{}', 'x1', 'tasks.a', 'RUNNING', 1, NULL, NOW(), 'w/1', NOW() - interval '1 minute', NULL, NULL, 'acct"1', 1),
      ('default', '{}', 'x2', 'tasks.a', 'RUNNING', 1, NULL, NOW(), 'w/1', NOW() + interval '1 minute', NULL, NULL, NULL, 0),
      ('emails', '{}', 'w1', 'tasks.b', 'WAITING', 0, NULL, NOW(), NULL, NULL, NULL, NULL, NULL, 0),
      ('emails', '{}', 's1', 'tasks.b', 'SUCCESSFUL', 1, NULL, NOW(), NULL, NULL, NOW(), NULL, NULL, 0),
      ('emails', '{}', 's2', 'tasks.b', 'SUCCESSFUL', 1, NULL, NOW(), NULL, NULL, NOW() - interval '1 day', NULL, NULL, 0),
      ('emails', '{}', 'f1', 'tasks.b', 'FAILED', 3, NULL, NOW(), NULL, NULL, NOW(), NOW(), NULL, 0),
      ('emails', '{}', 'f2', 'tasks.c', 'FAILED', 3, NULL, NOW(), NULL, NULL, NOW(), NOW() - interval '1 day', NULL, 0)`);
  await db.query(`INSERT INTO reproq_queue_controls (queue_name, paused, paused_at, reason) VALUES ('emails', TRUE, NOW(), 'maintenance')`);
  await db.query(`INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues, last_seen_at, version)
                  VALUES ('edge', 'h', 10, '["default"]', NOW(), '0.1.0'), ('old', 'h', 4, '[]', NOW() - interval '1 hour', '0.1.0')`);
  await db.query(`INSERT INTO periodic_tasks (name, cron_expr, task_path, next_run_at)
                  VALUES ('late', '* * * * *', 'tasks.p', NOW() - interval '10 minutes'), ('soon', '0 * * * *', 'tasks.p', NOW() + interval '1 hour')`);
}

describe.each(QUEUE_DRIVERS)('metrics on %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, reproq_workers, reproq_queue_controls, periodic_tasks');
  let db: Db;
  beforeEach(async () => {
    db = t.db;
    await populate(db);
  });

  it('collects a snapshot in one statement', async () => {
    const counted = countingDb(db);
    const m = await collectMetrics(counted, { windowSeconds: 3600 });
    expect(counted.count).toBe(1);
    const byQueue = Object.fromEntries(m.queues.map((q) => [q.queue, q]));
    expect(byQueue.default).toMatchObject({
      ready: 3, readyDue: 2, running: 2, leaseExpired: 1, waiting: 0, retryPending: 1, succeededRecent: 0, failedRecent: 0, paused: false, exact: null,
    });
    expect(byQueue.default!.oldestReadyAgeSeconds).toBeGreaterThanOrEqual(89);
    expect(byQueue.emails).toMatchObject({ ready: 0, waiting: 1, succeededRecent: 1, failedRecent: 1, paused: true, oldestReadyAgeSeconds: null });
    expect(m.concurrencyBlocked).toBe(1);
    expect(m.topFailing).toEqual([{ taskPath: 'tasks.b', count: 1 }, { taskPath: 'tasks.c', count: 1 }]);
    expect(m.periodic).toMatchObject({ enabled: 2, disabled: 0, overdue: 1 });
    expect(m.periodic.beatLagSeconds).toBeGreaterThanOrEqual(599);
    expect(m.workers).toMatchObject({ count: 2, alive: 1, concurrency: 14 });
    expect(m.queueControls).toMatchObject([{ queue: 'emails', paused: true, reason: 'maintenance' }]);
  });

  it('counts every status exactly on request, and renders the /reproq/stats/ shape', async () => {
    const m = await collectMetrics(db, { exactCounts: true });
    const stats = renderStats(m);
    expect(stats.tasks).toEqual({ READY: 3, RUNNING: 2, WAITING: 1, SUCCESSFUL: 2, FAILED: 2 });
    expect(stats.queues).toEqual({ default: { READY: 3, RUNNING: 2 }, emails: { WAITING: 1, SUCCESSFUL: 2, FAILED: 2 } });
    expect(stats.worker_health).toEqual({ alive: 1, dead: 1 });
    expect(stats.workers[0]).toEqual({
      worker_id: 'edge', hostname: 'h', concurrency: 10, queues: ['default'], last_seen_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), version: '0.1.0', database: 'default',
    });
    expect(stats.periodic.map((p) => p.name)).toEqual(['late', 'soon']);
    expect(Object.keys(stats.periodic[0]!).sort()).toEqual(['cron_expr', 'database', 'enabled', 'name', 'next_run_at', 'queue_name']);
    expect(stats.queue_controls[0]).toMatchObject({ queue_name: 'emails', paused: true, reason: 'maintenance', database: 'default' });
    expect(stats.scheduler).toMatchObject({ mode: 'beat', beat_enabled: true, beat_configured: true, low_memory: false });
    expect(typeof stats.scheduler.pg_cron_available).toBe('boolean');
    expect(stats.top_failing).toEqual([{ task_path: 'tasks.b', count: 1 }, { task_path: 'tasks.c', count: 1 }]);
    expect(stats.databases).toEqual([{ alias: 'default', tasks: stats.tasks, queues: stats.queues, workers: expect.any(Array), periodic: expect.any(Array) }]);
  });

  it('renders Prometheus text with upstream names', async () => {
    const text = renderPrometheus(await collectMetrics(db));
    expect(text).toContain('# TYPE reproq_queue_depth gauge\nreproq_queue_depth 4\n');
    expect(text).toContain('\nreproq_tasks_running 2\n');
    expect(text).toContain('\nreproq_workers 2\n');
    expect(text).toContain('\nreproq_queues_paused 1\n');
    expect(text).toContain('\nreproq_concurrency_blocked_tasks 1\n');
    expect(text).toContain('reproq_queue_tasks{queue="default",status="READY"} 3');
    expect(text).toContain('reproq_periodic_tasks_overdue 1');
  });

  it('passes `promtool check metrics`', async (ctx) => {
    needs(ctx, hasPromtool, 'promtool is not installed (Debian: apt-get install prometheus; .ci/run does)');
    await db.query('ANALYZE task_runs'); // so the estimate family is present too
    const text = renderPrometheus(await collectMetrics(db));
    expect(text).toContain('reproq_tasks_estimated{status=');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: '' });
  });
});
