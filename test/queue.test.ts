import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Db } from '../src/db/types.ts';
import { enqueue, enqueueMany } from '../src/enqueue.ts';
import { DuplicateActiveTaskError, ValidationError } from '../src/errors.ts';
import { defineTask } from '../src/tasks/registry.ts';
import { QUEUE_DRIVERS, openDb, useTestDb } from './support/db.ts';
import { countingDb, drainWith, row, sleep, waitFor } from './support/queue.ts';

const ok = defineTask({ path: 'tasks.ok', handler: ({ args }) => ({ echoed: args }) });
const boom = defineTask({
  path: 'tasks.boom',
  handler: () => {
    throw new RangeError('kaboom');
  },
});

// The single-statement paths also run over Neon's HTTP driver and on embedded PGlite (one session,
// so its "concurrent" cases are serialised there, which they must survive too).
describe.each([...QUEUE_DRIVERS, 'neon-http', 'pglite'] as const)('queue on %s', (driver) => {
  const tdb = useTestDb(driver, 'task_runs, reproq_workers, reproq_queue_controls, workflow_runs');

  describe('enqueue', () => {
    it('writes the upstream spec shape, columns and hash', async () => {
      const runAfter = new Date('2030-01-01T00:00:00Z');
      const r = await enqueue(tdb.db, {
        taskPath: 'tasks.ok',
        args: [1, 'a'],
        kwargs: { k: 'v' },
        priority: 5,
        runAfter,
        lockKey: 'user:1',
        concurrencyKey: 'acct',
        concurrencyLimit: 2,
        maxAttempts: 4,
        timeoutSeconds: 60,
        metadata: { source: 'test' },
        expiresInSeconds: 3600,
      });
      const t = await row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [r.resultId]);
      expect(t.status).toBe('READY');
      expect(t.task_path).toBe('tasks.ok');
      expect(t.spec_hash.trim()).toBe(r.specHash);
      expect(t.priority).toBe(5);
      expect(t.max_attempts).toBe(4);
      expect(t.timeout_seconds).toBe(60);
      expect(t.lock_key).toBe('user:1');
      expect(t.concurrency_key).toBe('acct');
      expect(t.concurrency_limit).toBe(2);
      expect(new Date(t.run_after).toISOString()).toBe(runAfter.toISOString());
      expect(t.metadata_json).toEqual({ source: 'test' });
      expect(t.expires_at).not.toBeNull();
      expect(Object.keys(t.spec_json).sort()).toEqual(
        ['args', 'concurrency_key', 'concurrency_limit', 'exec', 'kwargs', 'lock_key', 'priority', 'provenance', 'queue_name', 'run_after', 'takes_context', 'task_path', 'v'],
      );
      expect(t.spec_json.exec).toEqual({ max_attempts: 4, timeout_seconds: 60 });
      expect(t.spec_json.run_after).toBe('2030-01-01T00:00:00+00:00');
    });

    it('returns the active row for a duplicate spec, and inserts again once it is done', async () => {
      const a = await enqueue(tdb.db, { taskPath: 'tasks.ok', args: [1] });
      const b = await enqueue(tdb.db, { taskPath: 'tasks.ok', args: [1] });
      expect(b).toEqual({ ...a, deduplicated: true });
      await expect(enqueue(tdb.db, { taskPath: 'tasks.ok', args: [1] }, { dedup: false })).rejects.toBeInstanceOf(
        DuplicateActiveTaskError,
      );
      await drainWith(tdb.db, [ok]);
      const c = await enqueue(tdb.db, { taskPath: 'tasks.ok', args: [1] });
      expect(c.resultId).not.toBe(a.resultId);
      expect(c.deduplicated).toBe(false);
    });

    it('racing enqueues of one spec produce one row', async () => {
      const results = await Promise.all(
        Array.from({ length: 24 }, () => enqueue(tdb.db, { taskPath: 'tasks.ok', kwargs: { race: true } })),
      );
      expect(new Set(results.map((r) => r.resultId)).size).toBe(1);
      expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
      expect((await row<{ n: number }>(tdb.db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(1);
    });

    it('bulk-enqueues in one round trip, in order, deduplicating inside the batch', async () => {
      const counted = countingDb(tdb.db);
      const items = Array.from({ length: 1000 }, (_, i) => ({ taskPath: 'tasks.ok', args: [i % 900] }));
      const res = await enqueueMany(counted, items);
      expect(counted.count).toBe(1);
      expect(res).toHaveLength(1000);
      expect(res[950]!.resultId).toBe(res[50]!.resultId);
      expect(res[950]!.deduplicated).toBe(true);
      expect(res[50]!.deduplicated).toBe(false);
      const ids = res.slice(0, 900).map((r) => r.resultId);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect((await row<{ n: number }>(tdb.db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(900);
    });

    it('a bulk call returns the active row of a spec already queued, and writes every column it was given', async () => {
      const a = await enqueue(tdb.db, { taskPath: 'tasks.ok', args: ['queued'] });
      const expiresAt = new Date('2031-01-01T00:00:00Z');
      const fresh = { taskPath: 'tasks.ok', args: ['fresh'], backendAlias: 'other', metadata: { m: 1 }, expiresAt };
      const res = await enqueueMany(tdb.db, [{ taskPath: 'tasks.ok', args: ['queued'] }, fresh, fresh]);
      expect(res[0]).toEqual({ ...a, deduplicated: true });
      expect(res[1]!.deduplicated).toBe(false);
      expect(res[2]).toEqual({ ...res[1], deduplicated: true });
      const t = await row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [res[1]!.resultId]);
      expect([t.backend_alias, t.metadata_json, new Date(t.expires_at).toISOString()]).toEqual(['other', { m: 1 }, expiresAt.toISOString()]);
      const strict = await enqueueMany(tdb.db, [{ taskPath: 'tasks.ok', args: ['new'] }, { taskPath: 'tasks.ok', args: ['queued'] }], { dedup: false }).catch((e) => e);
      expect(strict).toBeInstanceOf(DuplicateActiveTaskError);
      expect((await row<{ n: number }>(tdb.db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(2);
    });

    it.each([
      [{ taskPath: '' }, 'taskPath'],
      [{ taskPath: 'tasks.ok', priority: 101 }, 'priority'],
      [{ taskPath: 'tasks.ok', args: [Number.NaN] }, 'args'],
      [{ taskPath: 'tasks.ok', kwargs: { f: (() => 1) as unknown as string } }, 'kwargs'],
      [{ taskPath: 'tasks.ok', args: ['x'.repeat(1024 * 1024)] }, 'args'],
      [{ taskPath: 'tasks.ok', queue: 'bad queue!' }, 'queue'],
    ])('rejects bad input %# naming the field, writing nothing', async (input, field) => {
      const err = await enqueueMany(tdb.db, [{ taskPath: 'tasks.ok', args: ['fine'] }, input as never]).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toContain(field);
      expect((await row<{ n: number }>(tdb.db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(0);
    });
  });

  describe('drain', () => {
    it('runs tasks and records results with upstream columns', async () => {
      const { resultId } = await enqueue(tdb.db, { taskPath: 'tasks.ok', args: [7] });
      const s = await drainWith(tdb.db, [ok], { workerName: 'w-test', invocationId: 'inv1' });
      expect(s).toMatchObject({ claimed: 1, succeeded: 1, failed: 0, stoppedBecause: 'empty' });
      const t = await row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [resultId]);
      expect(t).toMatchObject({ status: 'SUCCESSFUL', attempts: 1, leased_by: null, leased_until: null, last_error: null });
      expect(t.return_json).toEqual({ echoed: [7] });
      expect(t.worker_ids).toEqual([s.workerId]);
      expect(s.workerId).toMatch(/^w-test\/inv1\/[0-9a-f]{12}$/);
      expect(t.started_at).not.toBeNull();
      expect(t.finished_at).not.toBeNull();
      const w = await row<Record<string, any>>(tdb.db, 'SELECT * FROM reproq_workers');
      expect(w).toMatchObject({ worker_id: 'w-test', queues: ['default'] });
    });

    it('claims by priority, then age, and honours run_after, pause, lock_key and concurrency limits', async () => {
      const order: number[] = [];
      const rec = defineTask({ path: 'tasks.rec', handler: ({ args }) => void order.push(args[0] as number) });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [1], priority: 0 });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [2], priority: 10 });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [3], priority: 0, runAfter: { delaySeconds: 3600 } });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [4], priority: 5, lockKey: 'L' });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [5], priority: 5, lockKey: 'L' });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [6], priority: 1, concurrencyKey: 'C', concurrencyLimit: 1 });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [7], priority: 1, concurrencyKey: 'C', concurrencyLimit: 1 });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [8], queue: 'paused' });
      await tdb.db.query(`INSERT INTO reproq_queue_controls (queue_name, paused, paused_at) VALUES ('paused', TRUE, NOW())`);
      // Aging off so the order is plain priority.
      await drainWith(tdb.db, [rec], { agingFactor: 0, concurrency: 1, batchSize: 50, queues: ['default', 'paused'], maxTasks: 50 });
      // 5 and 7 share a lock_key / full concurrency_key with 4 and 6, so they wait for the next batch.
      expect(order).toEqual([2, 4, 6, 1, 5, 7]);
      const left = await tdb.db.query<{ a: number }>(
        `SELECT (spec_json->'args'->>0)::int AS a FROM task_runs WHERE status = 'READY' ORDER BY 1`,
      );
      expect(left.rows.map((r) => r.a)).toEqual([3, 8]);
    });

    it('takes no more tasks than a rate-limit bucket holds, with upstream key precedence', async () => {
      await tdb.db.query('TRUNCATE rate_limits');
      await enqueueMany(tdb.db, Array.from({ length: 10 }, (_, i) => ({ taskPath: 'tasks.ok', args: [i] })));
      await enqueueMany(tdb.db, Array.from({ length: 4 }, (_, i) => ({ taskPath: 'tasks.free', args: [i] })));
      // Slow refill, three tokens: three tasks.ok run; tasks.free has a rate-0 task key, which
      // shadows the queue limit (upstream's precedence), so all of them run.
      await tdb.db.query(`INSERT INTO rate_limits (key, tokens_per_second, burst_size, current_tokens) VALUES
        ('task:tasks.ok', 0.0001, 3, 3), ('queue:default', 0.0001, 1, 0), ('task:tasks.free', 0, 1, 0)`);
      const free = defineTask({ path: 'tasks.free', handler: () => 'free' });
      const s = await drainWith(tdb.db, [ok, free], { batchSize: 50 });
      expect(s.succeeded).toBe(7);
      const left = await row<{ n: number }>(tdb.db, `SELECT count(*)::int AS n FROM task_runs WHERE status = 'READY'`);
      expect(left.n).toBe(7);
      const bucket = await row<{ t: number }>(tdb.db, `SELECT current_tokens AS t FROM rate_limits WHERE key = 'task:tasks.ok'`);
      expect(bucket.t).toBeLessThan(0.01);
      await tdb.db.query('DELETE FROM rate_limits');
    });

    it('with aging an old low-priority task beats a fresh high-priority one', async () => {
      const order: number[] = [];
      const rec = defineTask({ path: 'tasks.rec', handler: ({ args }) => void order.push(args[0] as number) });
      const old = await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [1], priority: 0 });
      await tdb.db.query(`UPDATE task_runs SET enqueued_at = NOW() - interval '120 seconds' WHERE result_id = $1`, [old.resultId]);
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [2], priority: 10 });
      await drainWith(tdb.db, [rec], { agingFactor: 10, concurrency: 1, batchSize: 1 });
      expect(order).toEqual([1, 2]);
      order.length = 0;
      await tdb.db.query('TRUNCATE task_runs');
      const old2 = await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [1], priority: 0 });
      await tdb.db.query(`UPDATE task_runs SET enqueued_at = NOW() - interval '120 seconds' WHERE result_id = $1`, [old2.resultId]);
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [2], priority: 10 });
      await drainWith(tdb.db, [rec], { agingFactor: 0, concurrency: 1, batchSize: 1 });
      expect(order).toEqual([2, 1]);
    });

    it('on a queue shared with other task paths and rows not due, claims its own due rows in claim order; the sweep takes only the others', async () => {
      const order: number[] = [];
      const push = ({ args }: { args: unknown }) => void order.push((args as number[])[0]!);
      const rec = defineTask({ path: 'tasks.rec', handler: push });
      const rec2 = defineTask({ path: 'tasks.rec2', handler: push });
      // Older and higher-ranked than ours: other paths (one not due) and ours not due yet.
      const others = await enqueueMany(tdb.db, [
        ...Array.from({ length: 5 }, (_, i) => ({ taskPath: 'python.tasks.other', args: [100 + i], priority: 10 })),
        { taskPath: 'python.tasks.other', args: [200], priority: 10, runAfter: { delaySeconds: 3600 } },
        { taskPath: 'tasks.rec', args: [3], priority: 10, runAfter: { delaySeconds: 3600 } },
      ]);
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [1], priority: 0 });
      await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [2], priority: 5 });
      await enqueue(tdb.db, { taskPath: 'tasks.rec2', args: [5], priority: 4 });
      // A retried or scheduled row whose run_after has passed is claimed in its place in the order.
      const due = await enqueue(tdb.db, { taskPath: 'tasks.rec', args: [4], priority: 3, runAfter: { delaySeconds: 3600 } });
      await tdb.db.query(`UPDATE task_runs SET run_after = NOW() - interval '1 minute' WHERE result_id = $1`, [due.resultId]);

      // Batches of two across both paths and the due row: the order holds across batches.
      const s = await drainWith(tdb.db, [rec, rec2], { concurrency: 1, batchSize: 2 });
      expect(s).toMatchObject({ claimed: 4, succeeded: 4, stoppedBecause: 'empty' });
      expect(order).toEqual([2, 5, 4, 1]);

      const sweep = await drainWith(tdb.db, [rec, rec2], { unknownTasks: 'fail', batchSize: 2 });
      expect(sweep).toMatchObject({ claimed: 5, failed: 5 });
      expect(order).toEqual([2, 5, 4, 1]);
      const left = await tdb.db.query<{ a: number; status: string }>(
        `SELECT (spec_json->'args'->>0)::int AS a, status FROM task_runs WHERE result_id = ANY($1::bigint[]) ORDER BY 1`,
        [others.map((o) => o.resultId)],
      );
      expect(left.rows).toEqual([
        ...[100, 101, 102, 103, 104].map((a) => ({ a, status: 'FAILED' })),
        { a: 200, status: 'READY' },
        { a: 3, status: 'READY' },
      ].sort((x, y) => x.a - y.a));
    });

    it('retries with upstream backoff and errors_json entries, then fails terminally', async () => {
      const { resultId } = await enqueue(tdb.db, { taskPath: 'tasks.boom', maxAttempts: 3 });
      const get = () => row<Record<string, any>>(tdb.db, `SELECT *, EXTRACT(EPOCH FROM run_after - NOW())::float8 AS wait FROM task_runs WHERE result_id = $1`, [resultId]);
      const expected = [30, 60];
      for (const [i, delay] of expected.entries()) {
        const s = await drainWith(tdb.db, [boom], { workerName: 'w' });
        expect(s).toMatchObject({ claimed: 1, retried: 1 });
        const t = await get();
        expect(t).toMatchObject({ status: 'READY', attempts: i + 1, last_error: null, failed_at: null, finished_at: null });
        expect(t.wait).toBeGreaterThan(delay - 5);
        expect(t.wait).toBeLessThanOrEqual(delay);
        const entry = t.errors_json[i];
        expect(Object.keys(entry).sort()).toEqual(['at', 'attempt', 'exception_class', 'kind', 'message', 'traceback', 'worker_id']);
        expect(entry).toMatchObject({ kind: 'app_error', attempt: i + 1, exception_class: 'RangeError', message: 'kaboom' });
        await tdb.db.query('UPDATE task_runs SET run_after = NOW() - interval \'1 second\' WHERE result_id = $1', [resultId]);
      }
      const s = await drainWith(tdb.db, [boom]);
      expect(s).toMatchObject({ claimed: 1, failed: 1, retried: 0 });
      const t = await get();
      expect(t).toMatchObject({ status: 'FAILED', attempts: 3, last_error: 'kaboom', run_after: null });
      expect(t.failed_at).not.toBeNull();
      expect(t.errors_json).toHaveLength(3);
    });

    it('fences a zombie: an outcome after the lease moved on changes nothing', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slow = defineTask({ path: 'tasks.slow', handler: async () => (await gate, 'late') });
      const { resultId } = await enqueue(tdb.db, { taskPath: 'tasks.slow' });
      const running = drainWith(tdb.db, [slow]);
      await waitFor(async () => (await row<{ s: string }>(tdb.db, 'SELECT status AS s FROM task_runs')).s === 'RUNNING');
      // Another worker took the task over (as reclaim + re-claim would).
      await tdb.db.query(`UPDATE task_runs SET leased_by = 'other/1', attempts = attempts + 1 WHERE result_id = $1`, [resultId]);
      release();
      const s = await running;
      expect(s).toMatchObject({ claimed: 1, succeeded: 0, lostLease: 1 });
      const t = await row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [resultId]);
      expect(t).toMatchObject({ status: 'RUNNING', leased_by: 'other/1', return_json: null });
    });

    it('stops inside its budget and releases unstarted tasks with their attempt intact', async () => {
      const slow = defineTask({ path: 'tasks.nap', handler: () => sleep(250) });
      await enqueueMany(tdb.db, Array.from({ length: 12 }, (_, i) => ({ taskPath: 'tasks.nap', args: [i] })));
      const s = await drainWith(tdb.db, [slow], { budgetMs: 1000, concurrency: 1, batchSize: 12, minTaskMs: 50 });
      expect(s.stoppedBecause).toBe('budget');
      expect(s.succeeded).toBeGreaterThan(0);
      // Claimed only what the budget could start; the unstarted part of that is handed back.
      expect(s.released).toBeGreaterThan(0);
      expect(s.released).toBe(s.claimed - s.succeeded);
      const counts = await tdb.db.query<{ status: string; attempts: number; n: number; leased: number; wids: number }>(
        `SELECT status, attempts, count(*)::int AS n, count(leased_by)::int AS leased, max(jsonb_array_length(worker_ids))::int AS wids
         FROM task_runs GROUP BY 1, 2 ORDER BY 1`,
      );
      expect(counts.rows).toEqual([
        { status: 'READY', attempts: 0, n: 12 - s.succeeded, leased: 0, wids: 0 },
        { status: 'SUCCESSFUL', attempts: 1, n: s.succeeded, leased: 0, wids: 1 },
      ]);
    });

    it('times out a hung handler, cancels on request, and treats unknown tasks per policy', async () => {
      const hang = defineTask({ path: 'tasks.hang', handler: () => new Promise(() => {}) });
      const cancellable = defineTask({
        path: 'tasks.cancellable',
        handler: (_in, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      });
      const hung = await enqueue(tdb.db, { taskPath: 'tasks.hang', timeoutSeconds: 1, maxAttempts: 2 });
      const unknown = await enqueue(tdb.db, { taskPath: 'tasks.nobody_knows' });
      const s = await drainWith(tdb.db, [hang], {});
      expect(s).toMatchObject({ claimed: 1, retried: 1 });
      const t = await row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [hung.resultId]);
      expect(t.status).toBe('READY');
      expect(t.errors_json[0]).toMatchObject({ kind: 'infra_error', message: 'task exceeded timeout_seconds=1' });
      expect((await row<{ s: string }>(tdb.db, 'SELECT status AS s FROM task_runs WHERE result_id = $1', [unknown.resultId])).s).toBe('READY');

      const c = await enqueue(tdb.db, { taskPath: 'tasks.cancellable' });
      const running = drainWith(tdb.db, [cancellable], { heartbeatSeconds: 0.1 });
      await waitFor(async () => (await row<{ s: string }>(tdb.db, 'SELECT status AS s FROM task_runs WHERE result_id = $1', [c.resultId])).s === 'RUNNING');
      await tdb.db.query('UPDATE task_runs SET cancel_requested = TRUE WHERE result_id = $1', [c.resultId]);
      const s2 = await running;
      expect(s2).toMatchObject({ cancelled: 1, failed: 1 });
      const ct = await row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [c.resultId]);
      expect(ct).toMatchObject({ status: 'FAILED', last_error: 'Task cancelled by request' });
      expect(ct.errors_json[0]).toMatchObject({ kind: 'cancelled', task_path: 'tasks.cancellable' });

      const s3 = await drainWith(tdb.db, [], { unknownTasks: 'fail' });
      expect(s3).toMatchObject({ failed: 1 });
      const ut = await row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [unknown.resultId]);
      expect(ut).toMatchObject({ status: 'FAILED', last_error: 'unknown task path: tasks.nobody_knows' });
      expect(ut.errors_json[0].kind).toBe('invalid_spec');
    });

    it('fails invalid arguments, disallowed paths and unserialisable results without retrying forever', async () => {
      const typed = defineTask({ path: 'tasks.typed', args: z.tuple([z.number()]), handler: ({ args }) => args[0] * 2 });
      const bigint = defineTask({ path: 'tasks.bigint', handler: () => ({ n: 10n }) });
      const elsewhere = defineTask({ path: 'other.thing', handler: () => 1 });
      const bad = await enqueue(tdb.db, { taskPath: 'tasks.typed', args: ['nope'] });
      const good = await enqueue(tdb.db, { taskPath: 'tasks.typed', args: [21] });
      const big = await enqueue(tdb.db, { taskPath: 'tasks.bigint', maxAttempts: 1 });
      const denied = await enqueue(tdb.db, { taskPath: 'other.thing' });
      await drainWith(tdb.db, [typed, bigint, elsewhere], { allowedTaskModules: ['tasks.'] });
      const get = (id: number) => row<Record<string, any>>(tdb.db, 'SELECT * FROM task_runs WHERE result_id = $1', [id]);
      expect(await get(good.resultId)).toMatchObject({ status: 'SUCCESSFUL', return_json: 42 });
      const b = await get(bad.resultId);
      expect(b).toMatchObject({ status: 'FAILED' });
      expect(b.errors_json[0].kind).toBe('invalid_spec');
      const bg = await get(big.resultId);
      expect(bg.status).toBe('FAILED');
      expect(bg.errors_json[0]).toMatchObject({ kind: 'app_error', exception_class: 'TypeError' });
      const d = await get(denied.resultId);
      expect(d).toMatchObject({ status: 'FAILED', last_error: 'security violation: unauthorized task module path: other.thing' });
      expect(d.errors_json[0]).toMatchObject({ kind: 'security_violation', task_path: 'other.thing' });
    });

    it('costs one statement per batch: 1,000 tasks at batch 100 take 11 round trips', async () => {
      await enqueueMany(tdb.db, Array.from({ length: 1000 }, (_, i) => ({ taskPath: 'tasks.ok', args: [i] })));
      const counted = countingDb(tdb.db);
      const s = await drainWith(counted, [ok], { batchSize: 100, concurrency: 16 });
      expect(s).toMatchObject({ claimed: 1000, succeeded: 1000 });
      expect(s.roundTrips).toBe(counted.count);
      expect(s.roundTrips).toBe(11);
    });

    it('parallel drains run every task exactly once and leave nothing RUNNING', async () => {
      const runs = new Map<number, number>();
      const count = defineTask({
        path: 'tasks.count',
        handler: async (_in, ctx) => {
          runs.set(ctx.resultId, (runs.get(ctx.resultId) ?? 0) + 1);
          if (ctx.resultId % 7 === 0) await sleep(1);
        },
      });
      const n = 3000;
      await enqueueMany(tdb.db, Array.from({ length: n }, (_, i) => ({ taskPath: 'tasks.count', args: [i] })));
      const summaries = await Promise.all(
        Array.from({ length: 6 }, (_, i) => drainWith(tdb.db, [count], { batchSize: 50, concurrency: 8, invocationId: `p${i}` })),
      );
      expect(summaries.reduce((a, s) => a + s.succeeded, 0)).toBe(n);
      expect(runs.size).toBe(n);
      expect([...runs.values()].every((v) => v === 1)).toBe(true);
      const st = await tdb.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM task_runs GROUP BY 1');
      expect(st.rows).toEqual([{ status: 'SUCCESSFUL', n }]);
    });

    it.runIf(driver === 'pg' || driver === 'neon-ws')(
      'a server that kills the connection mid-statement loses nothing, and the drain says so',
      async () => {
        await enqueueMany(tdb.db, Array.from({ length: 40 }, (_, i) => ({ taskPath: 'tasks.killer', args: [i] })));
        // The drain gets its own pool, tagged so exactly its connection is killed.
        const victimUrl = new URL(tdb.url);
        victimUrl.searchParams.set('application_name', 'reproq_victim');
        const victim = await openDb(driver, victimUrl.toString(), 4);
        // Task 5 holds its own row lock from another session, so the statement recording its batch
        // waits on it: the server kills that waiting backend, then the lock is let go.
        const holder = await openDb('pg', tdb.url, 1);
        let killed: Promise<number> | undefined;
        const killer = defineTask({
          path: 'tasks.killer',
          handler: async ({ args }, ctx) => {
            if (args[0] !== 5) return;
            let lockHeld!: () => void;
            const held = new Promise<void>((resolve) => (lockHeld = resolve));
            killed = holder.transaction!(async (tx) => {
              await tx.query('SELECT 1 FROM task_runs WHERE result_id = $1 FOR UPDATE', [ctx.resultId]);
              lockHeld();
              let n = 0;
              await waitFor(async () => {
                const r = await tx.query<{ n: number }>(
                  `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
                   WHERE application_name = 'reproq_victim' AND wait_event_type = 'Lock'`,
                );
                n = r.rows[0]!.n;
                return n > 0;
              }, 30_000);
              return n;
            });
            await held;
          },
        });
        const s = await drainWith(victim, [killer], { batchSize: 10, concurrency: 2 }).finally(() => victim.close());
        expect(await killed).toBe(1);
        await holder.close();
        expect(s.stoppedBecause).toBe('db_error');
        expect(s.error).toMatch(/terminat/i);
        // The batch's outcomes were recorded after the failed step; every other task is still leased
        // (reclaim will retry it) or was never claimed: none is lost.
        const st = await tdb.db.query<{ status: string; n: number; leased: number }>(
          `SELECT status, count(*)::int AS n, count(*) FILTER (WHERE leased_until > NOW())::int AS leased
           FROM task_runs GROUP BY 1 ORDER BY 1`,
        );
        const byStatus = Object.fromEntries(st.rows.map((r) => [r.status, r]));
        expect((byStatus.SUCCESSFUL?.n ?? 0) + (byStatus.RUNNING?.n ?? 0) + (byStatus.READY?.n ?? 0)).toBe(40);
        expect(byStatus.RUNNING?.leased ?? 0).toBe(byStatus.RUNNING?.n ?? 0);
        expect(byStatus.SUCCESSFUL?.n ?? 0).toBe(s.succeeded);
      },
    );

    it('a database error mid-batch loses nothing: unrecorded tasks stay leased for reclaim', async () => {
      await enqueueMany(tdb.db, Array.from({ length: 5 }, (_, i) => ({ taskPath: 'tasks.ok', args: [i] })));
      let calls = 0;
      const flaky: Db = {
        driver: tdb.db.driver,
        close: () => tdb.db.close(),
        async query(text, params) {
          calls++;
          if (calls >= 2) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
          return tdb.db.query(text, params);
        },
      };
      const s = await drainWith(flaky, [ok], { batchSize: 5, workerName: 'flaky', invocationId: 'x' });
      expect(s).toMatchObject({ claimed: 5, succeeded: 0, stoppedBecause: 'db_error' });
      expect(s.error).toContain('Connection terminated');
      const st = await tdb.db.query<{ status: string; leased_by: string; n: number; future: boolean }>(
        `SELECT status, leased_by, count(*)::int AS n, bool_and(leased_until > NOW()) AS future FROM task_runs GROUP BY 1, 2`,
      );
      expect(st.rows).toEqual([{ status: 'RUNNING', leased_by: s.workerId, n: 5, future: true }]);
    });
  });
});
