import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/types.ts';
import { enqueue } from '../src/enqueue.ts';
import { ValidationError } from '../src/errors.ts';
import { pruneExpired, pruneWorkers, reclaim } from '../src/reclaim.ts';
import { defineTask } from '../src/tasks/registry.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { drainWith, failingRenewals, row, waitFor } from './support/queue.ts';

/** Inserts a RUNNING row whose lease ended `expiredSecondsAgo` ago (NULL lease with `null`). */
async function running(db: Db, name: string, expiredSecondsAgo: number | null, attempts = 1, maxAttempts = 3): Promise<number> {
  const r = await row<{ id: string }>(
    db,
    `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, attempts, max_attempts, leased_by, leased_until, started_at)
     VALUES (jsonb_build_object('task_path', 'tasks.x', 'n', $1::text), md5($1::text), 'tasks.x', 'RUNNING', $2, $3, 'w/1',
             NOW() - make_interval(secs => $4::float8), NOW())
     RETURNING result_id AS id`,
    [name, attempts, maxAttempts, expiredSecondsAgo],
  );
  return Number(r.id);
}

const statusOf = async (db: Db, id: number) =>
  row<{ status: string; leased_by: string | null; leased_until: Date | null; last_error: string | null; errors_json: any[]; failed_at: Date | null; finished_at: Date | null }>(
    db,
    'SELECT status, leased_by, leased_until, last_error, errors_json, failed_at, finished_at FROM task_runs WHERE result_id = $1',
    [id],
  );

describe.each(QUEUE_DRIVERS)('reclaim and prune on %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, reproq_workers');
  let db: Db;
  beforeEach(() => {
    db = t.db;
  });

  it('requeues expired leases with attempts left and fails the rest, exactly those rows', async () => {
    const retry = await running(db, 'retry', 30, 1, 3);
    const spent = await running(db, 'spent', 30, 3, 3);
    const live = await running(db, 'live', -300);
    const nullLease = await running(db, 'null', null);
    const s = await reclaim(db);
    expect(s).toMatchObject({ matched: 2, requeued: 1, failed: 1, dryRun: false });
    expect(s.ids.sort()).toEqual([retry, spent].sort());

    const r = await statusOf(db, retry);
    expect(r).toMatchObject({ status: 'READY', leased_by: null, leased_until: null, last_error: null, failed_at: null, finished_at: null });
    expect(r.errors_json).toEqual([{ kind: 'lease_expiry', message: 'Worker heartbeat lost or process crashed', at: expect.any(String) }]);
    const f = await statusOf(db, spent);
    expect(f).toMatchObject({ status: 'FAILED', leased_by: null, last_error: 'lease_expiry: Worker heartbeat lost or process crashed' });
    expect(f.failed_at).not.toBeNull();
    expect((await statusOf(db, live)).status).toBe('RUNNING');
    expect((await statusOf(db, nullLease)).status).toBe('RUNNING');
  });

  it('honours dry-run, older-than, limit, include-null-lease and action fail', async () => {
    const old = await running(db, 'old', 600);
    const recent = await running(db, 'recent', 10);
    const nullLease = await running(db, 'null', null);

    expect(await reclaim(db, { dryRun: true, includeNullLease: true })).toMatchObject({ matched: 3, requeued: 0, failed: 0, dryRun: true });
    expect((await statusOf(db, old)).status).toBe('RUNNING');

    expect(await reclaim(db, { olderThanSeconds: 300, dryRun: true })).toMatchObject({ matched: 1, ids: [old] });
    // Oldest lease first under a limit; with include-null-lease the lease-less row comes first.
    expect(await reclaim(db, { limit: 1, includeNullLease: true, action: 'fail' })).toMatchObject({ matched: 1, failed: 1, ids: [nullLease] });
    expect(await reclaim(db, { limit: 1 })).toMatchObject({ matched: 1, requeued: 1, ids: [old] });
    expect(await reclaim(db, { action: 'fail' })).toMatchObject({ matched: 1, failed: 1, ids: [recent] });
    expect(await reclaim(db)).toMatchObject({ matched: 0 });
    await expect(reclaim(db, { action: 'explode' as never })).rejects.toBeInstanceOf(ValidationError);
  });

  it('fences the zombie: a task reclaimed, then completed by its old owner, stays with the queue', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = defineTask({ path: 'tasks.slow', handler: async () => (await gate, 'late') });
    const { resultId } = await enqueue(db, { taskPath: 'tasks.slow' });
    // A 1-second lease whose renewals fail: the owner is alive but its lease runs out.
    const zombie = drainWith(failingRenewals(db), [slow], { leaseSeconds: 1, maxTasks: 1 });
    await waitFor(async () => (await statusOf(db, resultId)).status === 'RUNNING');
    await waitFor(async () => (await reclaim(db)).matched === 1, 10_000);
    expect((await statusOf(db, resultId)).status).toBe('READY');
    release();
    const s = await zombie;
    expect(s).toMatchObject({ claimed: 1, succeeded: 0, lostLease: 1 });
    const t = await row<Record<string, any>>(db, 'SELECT status, return_json, attempts FROM task_runs WHERE result_id = $1', [resultId]);
    expect(t).toEqual({ status: 'READY', return_json: null, attempts: 1 });
    // The next claimer runs it for real.
    const ok = defineTask({ path: 'tasks.slow', handler: () => 'done' });
    expect(await drainWith(db, [ok])).toMatchObject({ succeeded: 1 });
  });

  it('prunes expired rows that are not RUNNING, oldest first, in bounded batches', async () => {
    await db.query(
      `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, expires_at)
       SELECT '{}'::jsonb, md5(i::text), 'tasks.x', s, NOW() - make_interval(mins => i)
       FROM generate_series(1, 6) AS i,
            LATERAL (SELECT (ARRAY['READY','RUNNING','WAITING','SUCCESSFUL','FAILED','CANCELLED'])[i] AS s) x`,
    );
    await db.query(`INSERT INTO task_runs (spec_json, spec_hash, task_path, status, expires_at) VALUES ('{}', 'live', 'tasks.x', 'READY', NOW() + interval '1 hour'), ('{}', 'never', 'tasks.x', 'SUCCESSFUL', NULL)`);
    expect(await pruneExpired(db, { dryRun: true })).toEqual({ matched: 5, deleted: 0, dependantsEnded: 0, dryRun: true });
    expect(await pruneExpired(db, { limit: 2 })).toEqual({ matched: 2, deleted: 2, dependantsEnded: 0, dryRun: false });
    // The two oldest expiries (6 and 5 minutes ago) went first.
    const left = await db.query<{ status: string }>(`SELECT status FROM task_runs WHERE expires_at < NOW() ORDER BY expires_at`);
    expect(left.rows.map((r) => r.status)).toEqual(['SUCCESSFUL', 'WAITING', 'RUNNING', 'READY']);
    expect(await pruneExpired(db, { limit: 0 })).toEqual({ matched: 3, deleted: 3, dependantsEnded: 0, dryRun: false });
    expect((await row<{ n: number }>(db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(3);
  });

  it('prunes workers not seen for longer than older-than', async () => {
    await db.query(
      `INSERT INTO reproq_workers (worker_id, last_seen_at) VALUES
         ('gone', NOW() - interval '1 hour'), ('stale', NOW() - interval '11 minutes'), ('alive', NOW())`,
    );
    expect(await pruneWorkers(db, { dryRun: true })).toEqual({ matched: 2, deleted: 0, workerIds: ['gone', 'stale'], dryRun: true });
    expect(await pruneWorkers(db, { limit: 1 })).toMatchObject({ deleted: 1, workerIds: ['gone'] });
    expect(await pruneWorkers(db, { olderThanSeconds: 0 })).toMatchObject({ deleted: 2, workerIds: ['stale', 'alive'] });
  });
});
