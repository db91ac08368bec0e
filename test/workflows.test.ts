/**
 * Chains and chords, built the way reproq-django's workflows.py writes them (raw rows: a chain is a
 * READY head and WAITING links with wait_count 1 and parent_id; a chord is READY members, a WAITING
 * callback with wait_count N and a workflow_runs row), run by real drains. Every way a task ends
 * (success, failure after retries, reclaim, cancel, expiry, and other clients' writes found by the
 * sweep) must end what waits on it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/types.ts';
import { pruneExpired, reclaim } from '../src/reclaim.ts';
import { cancelTask } from '../src/runs/cancel.ts';
import { retryFailedTasks, retryTask } from '../src/runs/retry.ts';
import { type AnyTask, defineTask } from '../src/tasks/registry.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { drainWith, row, waitFor } from './support/queue.ts';

const FAST_RETRY = { retry: { baseSeconds: 0.001, maxSeconds: 0.001, jitter: false } };

interface TaskRow {
  result_id: number;
  status: string;
  attempts: number;
  wait_count: number;
  last_error: string | null;
  errors_json: Record<string, unknown>[];
  finished_at: Date | null;
  failed_at: Date | null;
}

/** One row as Django's workflows.py inserts it (spec without run_after/provenance, uuid hex hash). */
async function insertTask(
  db: Db,
  t: { path: string; arg: number; status: string; waitCount?: number; parentId?: number | null; workflowId: string; maxAttempts?: number },
): Promise<number> {
  const r = await row<{ id: string }>(
    db,
    `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, wait_count, parent_id, workflow_id, max_attempts)
     VALUES (jsonb_build_object('v', 1, 'task_path', $1::text, 'args', jsonb_build_array($2::int), 'kwargs', '{}'::jsonb,
               'takes_context', false, 'queue_name', 'default', 'priority', 0, 'lock_key', NULL,
               'concurrency_key', NULL, 'concurrency_limit', 0, 'exec', jsonb_build_object('timeout_seconds', 900, 'max_attempts', $7::int)),
             replace(gen_random_uuid()::text, '-', ''), $1, $3, $4, $5, $6, $7)
     RETURNING result_id AS id`,
    [t.path, t.arg, t.status, t.waitCount ?? 0, t.parentId ?? null, t.workflowId, t.maxAttempts ?? 3],
  );
  return Number(r.id);
}

async function newWorkflowId(db: Db): Promise<string> {
  return (await row<{ id: string }>(db, 'SELECT gen_random_uuid()::text AS id')).id;
}

/** Django's chain(): item 0 READY, item i WAITING with wait_count 1 and parent_id = item i-1. */
async function chain(db: Db, path: string, n: number, maxAttempts = 3): Promise<number[]> {
  const workflowId = await newWorkflowId(db);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      await insertTask(db, {
        path,
        arg: i,
        status: i === 0 ? 'READY' : 'WAITING',
        waitCount: i === 0 ? 0 : 1,
        parentId: i === 0 ? null : ids[i - 1],
        workflowId,
        maxAttempts,
      }),
    );
  }
  return ids;
}

/** Django's chord(): members READY, callback WAITING with wait_count N, then the workflow_runs row. */
async function chord(db: Db, memberPath: string, n: number, callbackPath: string, maxAttempts = 3) {
  const workflowId = await newWorkflowId(db);
  const members: number[] = [];
  for (let i = 0; i < n; i++) members.push(await insertTask(db, { path: memberPath, arg: i, status: 'READY', workflowId, maxAttempts }));
  const callback = await insertTask(db, { path: callbackPath, arg: 100, status: 'WAITING', waitCount: n, workflowId, maxAttempts });
  await db.query(
    `INSERT INTO workflow_runs (workflow_id, expected_count, callback_result_id, status) VALUES ($1, $2, $3, 'RUNNING')`,
    [workflowId, n, callback],
  );
  return { workflowId, members, callback };
}

async function task(db: Db, id: number): Promise<TaskRow> {
  const r = await row<TaskRow>(
    db,
    'SELECT result_id, status, attempts, wait_count, last_error, errors_json, finished_at, failed_at FROM task_runs WHERE result_id = $1',
    [id],
  );
  return { ...r, result_id: Number(r.result_id) };
}

async function statuses(db: Db, ids: number[]): Promise<string[]> {
  const r = await db.query<{ result_id: string; status: string }>('SELECT result_id, status FROM task_runs WHERE result_id = ANY($1::bigint[])', [ids]);
  const by = new Map(r.rows.map((x) => [Number(x.result_id), x.status]));
  return ids.map((id) => by.get(id) ?? 'GONE');
}

async function workflow(db: Db, id: string) {
  return row<{ status: string; success_count: number; failure_count: number }>(
    db,
    'SELECT status, success_count, failure_count FROM workflow_runs WHERE workflow_id = $1',
    [id],
  );
}

/** Drains until nothing is left to run (a drain may stop while released work waits for the next claim). */
async function drainAll(db: Db, tasks: AnyTask[], opts = {}): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await drainWith(db, tasks, { ...FAST_RETRY, ...opts });
    const left = await row<{ n: number }>(db, `SELECT count(*)::int AS n FROM task_runs WHERE status IN ('READY', 'RUNNING')`);
    if (left.n === 0) return;
  }
  throw new Error('work left after 50 drains');
}

/** The workflow_failed/cancelled/expired entry a dependant gets. */
function cascadeEntry(kind: string, causeKey: string, causeId: number) {
  return { kind, message: expect.any(String), [causeKey]: causeId, at: expect.any(String) };
}

/** Marks `id` RUNNING under someone else's lease that ended a minute ago. */
async function expiredLease(db: Db, id: number, attempts: number): Promise<void> {
  await db.query(
    `UPDATE task_runs SET status = 'RUNNING', attempts = $2, leased_by = 'gone/1', leased_until = NOW() - interval '1 minute',
       started_at = NOW() WHERE result_id = $1`,
    [id, attempts],
  );
}

describe.each(QUEUE_DRIVERS)('workflows on %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, workflow_runs, reproq_workers');
  let db: Db;
  let ran: string[];
  beforeEach(() => {
    db = t.db;
    ran = [];
  });
  const recorder = (path: string, fail: (arg: number) => boolean = () => false) =>
    defineTask({
      path,
      handler: ({ args }) => {
        const arg = (args as number[])[0]!;
        ran.push(`${path}:${arg}`);
        if (fail(arg)) throw new Error(`${path} ${arg} failed`);
        return arg;
      },
    });

  describe('success', () => {
    it('runs a chain in order, each link after its parent succeeded', async () => {
      const ids = await chain(db, 'tasks.step', 4);
      await drainAll(db, [recorder('tasks.step')]);
      expect(ran).toEqual(['tasks.step:0', 'tasks.step:1', 'tasks.step:2', 'tasks.step:3']);
      expect(await statuses(db, ids)).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL']);
    });

    it('runs a chord callback once, after all its members succeeded', async () => {
      const c = await chord(db, 'tasks.member', 3, 'tasks.callback');
      await drainAll(db, [recorder('tasks.member'), recorder('tasks.callback')]);
      expect(ran.slice(0, 3).sort()).toEqual(['tasks.member:0', 'tasks.member:1', 'tasks.member:2']);
      expect(ran.slice(3)).toEqual(['tasks.callback:100']);
      expect(await statuses(db, [...c.members, c.callback])).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL']);
      expect(await workflow(db, c.workflowId)).toEqual({ status: 'SUCCESSFUL', success_count: 3, failure_count: 0 });
    });
  });

  describe('failure', () => {
    it('a chain whose first link fails after its retries ends with all 4 links terminal', async () => {
      const ids = await chain(db, 'tasks.step', 4, 2);
      await drainAll(db, [recorder('tasks.step', (arg) => arg === 0)]);
      expect(ran).toEqual(['tasks.step:0', 'tasks.step:0']);
      expect(await statuses(db, ids)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED']);
      const head = await task(db, ids[0]!);
      expect(head.errors_json.map((e) => e.kind)).toEqual(['app_error', 'app_error']);
      for (const id of ids.slice(1)) {
        const link = await task(db, id);
        expect(link).toMatchObject({ attempts: 0, wait_count: 0, last_error: 'workflow_failed: Workflow failed due to task failure' });
        expect(link.errors_json).toEqual([cascadeEntry('workflow_failed', 'failed_result_id', ids[0]!)]);
        expect(link.failed_at).not.toBeNull();
        expect(link.finished_at).not.toBeNull();
      }
    });

    it('a chord member that fails after its retries fails the workflow and its callback, which never runs', async () => {
      const c = await chord(db, 'tasks.member', 3, 'tasks.callback', 2);
      await drainAll(db, [recorder('tasks.member', (arg) => arg === 1), recorder('tasks.callback')]);
      expect(ran.filter((r) => r === 'tasks.member:1')).toHaveLength(2);
      expect(ran).not.toContain('tasks.callback:100');
      expect(await statuses(db, [...c.members, c.callback])).toEqual(['SUCCESSFUL', 'FAILED', 'SUCCESSFUL', 'FAILED']);
      // Upstream counts members only until the workflow failed; the failure is counted once.
      const wf = await workflow(db, c.workflowId);
      expect(wf).toMatchObject({ status: 'FAILED', failure_count: 1 });
      const cb = await task(db, c.callback);
      expect(cb.last_error).toBe('workflow_failed: Workflow failed due to task failure');
      expect(cb.errors_json).toEqual([cascadeEntry('workflow_failed', 'failed_result_id', c.members[1]!)]);
    });

    it('a chord callback that fails fails its workflow', async () => {
      const c = await chord(db, 'tasks.member', 2, 'tasks.callback', 1);
      await drainAll(db, [recorder('tasks.member'), recorder('tasks.callback', () => true)]);
      expect(ran.at(-1)).toBe('tasks.callback:100');
      expect(await statuses(db, [...c.members, c.callback])).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'FAILED']);
      expect(await workflow(db, c.workflowId)).toEqual({ status: 'FAILED', success_count: 2, failure_count: 0 });
    });
  });

  describe('reclaim', () => {
    it('requeue: a member with attempts left goes back to READY and its workflow waits; out of attempts it fails the workflow', async () => {
      const c = await chord(db, 'tasks.member', 2, 'tasks.callback', 2);
      await expiredLease(db, c.members[0]!, 1);
      expect(await reclaim(db)).toMatchObject({ requeued: 1, failed: 0, dependantsEnded: 0 });
      expect(await statuses(db, [c.members[0]!, c.callback])).toEqual(['READY', 'WAITING']);
      expect((await workflow(db, c.workflowId)).status).toBe('RUNNING');

      await expiredLease(db, c.members[0]!, 2);
      expect(await reclaim(db)).toMatchObject({ requeued: 0, failed: 1, dependantsEnded: 1 });
      expect(await statuses(db, [c.members[0]!, c.callback])).toEqual(['FAILED', 'FAILED']);
      expect(await workflow(db, c.workflowId)).toMatchObject({ status: 'FAILED', failure_count: 1 });
      expect((await task(db, c.callback)).errors_json).toEqual([cascadeEntry('workflow_failed', 'failed_result_id', c.members[0]!)]);
    });

    it('fail: a reclaimed chain link fails every link after it, and a chord member its callback', async () => {
      const ids = await chain(db, 'tasks.step', 3);
      const c = await chord(db, 'tasks.member', 2, 'tasks.callback');
      await expiredLease(db, ids[0]!, 1);
      await expiredLease(db, c.members[1]!, 1);
      expect(await reclaim(db, { action: 'fail' })).toMatchObject({ matched: 2, failed: 2, dependantsEnded: 3 });
      expect(await statuses(db, ids)).toEqual(['FAILED', 'FAILED', 'FAILED']);
      expect((await task(db, ids[2]!)).errors_json).toEqual([cascadeEntry('workflow_failed', 'failed_result_id', ids[0]!)]);
      expect(await statuses(db, [...c.members, c.callback])).toEqual(['READY', 'FAILED', 'FAILED']);
      expect((await workflow(db, c.workflowId)).status).toBe('FAILED');
    });
  });

  describe('cancel', () => {
    const cancel = (id: number) => cancelTask(db, id);

    it('a READY chord member becomes CANCELLED and cancels the callback; the workflow fails', async () => {
      const c = await chord(db, 'tasks.member', 3, 'tasks.callback');
      expect(await cancel(c.members[0]!)).toMatchObject({ after: 'CANCELLED', dependants: 1 });
      expect(await statuses(db, [...c.members, c.callback])).toEqual(['CANCELLED', 'READY', 'READY', 'CANCELLED']);
      expect(await workflow(db, c.workflowId)).toMatchObject({ status: 'FAILED', failure_count: 1 });
      const cb = await task(db, c.callback);
      expect(cb).toMatchObject({ last_error: 'workflow_cancelled: Workflow cancelled due to task cancellation', failed_at: null });
      expect(cb.errors_json).toEqual([cascadeEntry('workflow_cancelled', 'cancelled_result_id', c.members[0]!)]);
      // The other members still run; the callback does not.
      await drainAll(db, [recorder('tasks.member'), recorder('tasks.callback')]);
      expect(ran.sort()).toEqual(['tasks.member:1', 'tasks.member:2']);
    });

    it('cancelling a WAITING chain link cancels the links after it, not before', async () => {
      const ids = await chain(db, 'tasks.step', 4);
      expect(await cancel(ids[1]!)).toMatchObject({ after: 'CANCELLED', dependants: 2 });
      expect(await statuses(db, ids)).toEqual(['READY', 'CANCELLED', 'CANCELLED', 'CANCELLED']);
      expect((await task(db, ids[3]!)).errors_json).toEqual([cascadeEntry('workflow_cancelled', 'cancelled_result_id', ids[1]!)]);
      await drainAll(db, [recorder('tasks.step')]);
      expect(ran).toEqual(['tasks.step:0']);
    });

    it('a RUNNING member gets cancel_requested; its worker records the cancel, which fails the callback', async () => {
      const c = await chord(db, 'tasks.member', 1, 'tasks.callback');
      const waiting = defineTask({
        path: 'tasks.member',
        handler: (_in, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      });
      const running = drainWith(db, [waiting], { heartbeatSeconds: 0.1 });
      await waitFor(async () => (await task(db, c.members[0]!)).status === 'RUNNING');
      expect(await cancel(c.members[0]!)).toMatchObject({ after: 'RUNNING', dependants: 0 });
      expect(await running).toMatchObject({ cancelled: 1 });
      expect(await statuses(db, [c.members[0]!, c.callback])).toEqual(['FAILED', 'FAILED']);
      expect((await task(db, c.members[0]!)).errors_json[0]).toMatchObject({ kind: 'cancelled' });
      expect((await task(db, c.callback)).errors_json).toEqual([cascadeEntry('workflow_failed', 'failed_result_id', c.members[0]!)]);
      expect((await workflow(db, c.workflowId)).status).toBe('FAILED');
    });
  });

  describe('expiry', () => {
    it('pruning an expired chain head cancels the rest of the chain instead of stranding it', async () => {
      const ids = await chain(db, 'tasks.step', 3);
      await db.query(`UPDATE task_runs SET expires_at = NOW() - interval '1 minute' WHERE result_id = $1`, [ids[0]]);
      expect(await pruneExpired(db)).toEqual({ matched: 1, deleted: 1, dependantsEnded: 2, dryRun: false });
      expect(await statuses(db, ids)).toEqual(['GONE', 'CANCELLED', 'CANCELLED']);
      const last = await task(db, ids[2]!);
      expect(last.last_error).toBe('workflow_expired: Workflow cancelled due to task expiry');
      expect(last.errors_json).toEqual([cascadeEntry('workflow_expired', 'expired_result_id', ids[0]!)]);
    });

    it('pruning an expired chord member fails the workflow and cancels the callback; a dry run changes nothing', async () => {
      const c = await chord(db, 'tasks.member', 2, 'tasks.callback');
      await db.query(`UPDATE task_runs SET expires_at = NOW() - interval '1 minute' WHERE result_id = $1`, [c.members[1]]);
      expect(await pruneExpired(db, { dryRun: true })).toEqual({ matched: 1, deleted: 0, dependantsEnded: 0, dryRun: true });
      expect(await statuses(db, [c.callback])).toEqual(['WAITING']);
      expect(await pruneExpired(db)).toMatchObject({ deleted: 1, dependantsEnded: 1 });
      expect(await statuses(db, [...c.members, c.callback])).toEqual(['READY', 'GONE', 'CANCELLED']);
      expect(await workflow(db, c.workflowId)).toMatchObject({ status: 'FAILED', failure_count: 1 });
    });
  });

  it('a chord whose members run in different drains at once releases its callback exactly once', async () => {
    const n = 4;
    const c = await chord(db, 'tasks.member', n, 'tasks.callback');
    let started = 0;
    let allStarted!: () => void;
    const together = new Promise<void>((r) => (allStarted = r));
    // Each member waits until every member has started: n drains hold one member each.
    const member = defineTask({
      path: 'tasks.member',
      handler: async () => {
        if (++started === n) allStarted();
        await together;
      },
    });
    const drains = await Promise.all(
      Array.from({ length: n }, () => drainWith(db, [member], { batchSize: 1, concurrency: 1, maxTasks: 1 })),
    );
    expect(new Set(drains.map((s) => s.workerId)).size).toBe(n);
    expect(drains.map((s) => s.succeeded)).toEqual([1, 1, 1, 1]);
    expect(await workflow(db, c.workflowId)).toEqual({ status: 'WAITING_CALLBACK', success_count: n, failure_count: 0 });
    expect(await task(db, c.callback)).toMatchObject({ status: 'READY', wait_count: 0 });
    await drainAll(db, [recorder('tasks.callback')]);
    expect(ran).toEqual(['tasks.callback:100']);
    expect((await workflow(db, c.workflowId)).status).toBe('SUCCESSFUL');
  });

  describe('triage retry', () => {
    const sorted = (r: { retried: number[]; resumed: number }) => ({ ...r, retried: r.retried.sort((a, b) => a - b) });

    it('retrying the failed link of a chain brings back the links its failure ended, and the chain resumes', async () => {
      const ids = await chain(db, 'tasks.step', 4, 1);
      await drainAll(db, [recorder('tasks.step', () => true)]);
      expect(await statuses(db, ids)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED']);
      expect(await retryTask(db, ids[0]!)).toEqual({ retried: [ids[0]], resumed: 3 });
      expect(await statuses(db, ids)).toEqual(['READY', 'WAITING', 'WAITING', 'WAITING']);
      expect(await task(db, ids[3]!)).toMatchObject({ wait_count: 1, last_error: null, failed_at: null, finished_at: null });
      ran = [];
      await drainAll(db, [recorder('tasks.step')]);
      expect(ran).toEqual(['tasks.step:0', 'tasks.step:1', 'tasks.step:2', 'tasks.step:3']);
      expect(await statuses(db, ids)).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL']);
    });

    it('retrying all does not run a link or a callback ahead of what it waits on', async () => {
      const ids = await chain(db, 'tasks.step', 3, 1);
      const c = await chord(db, 'tasks.member', 2, 'tasks.callback', 1);
      await drainAll(db, [recorder('tasks.step', () => true), recorder('tasks.member', (arg) => arg === 0), recorder('tasks.callback')]);
      expect(await statuses(db, [...ids, ...c.members, c.callback])).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED', 'SUCCESSFUL', 'FAILED']);
      expect(sorted(await retryFailedTasks(db))).toEqual({ retried: [ids[0], c.members[0]], resumed: 2 });
      // The chord's workflow stays FAILED, as upstream's retry leaves it: its callback does not run.
      expect(await statuses(db, [...ids, ...c.members, c.callback])).toEqual(['READY', 'WAITING', 'WAITING', 'READY', 'SUCCESSFUL', 'FAILED']);
    });
  });

  describe('the sweep ends what other clients stranded', () => {
    it('a chain head Django cancelled, a member Go failed, a parent psql deleted', async () => {
      // Django's admin: READY -> CANCELLED directly.
      const cancelled = await chain(db, 'tasks.step', 3);
      await db.query(`UPDATE task_runs SET status = 'CANCELLED', finished_at = NOW() WHERE result_id = $1`, [cancelled[0]]);
      // Go's reclaim: the member FAILED, the workflow untouched.
      const c = await chord(db, 'tasks.member', 2, 'tasks.callback');
      await db.query(`UPDATE task_runs SET status = 'FAILED', failed_at = NOW(), finished_at = NOW() WHERE result_id = $1`, [c.members[0]]);
      // psql: the parent deleted; the foreign key sets the child's parent_id to NULL.
      const orphaned = await chain(db, 'tasks.step', 3);
      await db.query(`DELETE FROM task_runs WHERE result_id = $1`, [orphaned[0]]);
      // A parentless WAITING row inside the grace period may be a chord callback still being written.
      const fresh = await insertTask(db, { path: 'tasks.step', arg: 9, status: 'WAITING', waitCount: 1, workflowId: await newWorkflowId(db) });
      await db.query(`UPDATE task_runs SET updated_at = NOW() - interval '10 minutes' WHERE result_id = ANY($1::bigint[])`, [orphaned]);

      expect(await reclaim(db)).toMatchObject({ matched: 0, dependantsEnded: 2 + 1 + 2 });
      expect(await statuses(db, cancelled)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
      expect((await task(db, cancelled[2]!)).errors_json).toEqual([cascadeEntry('workflow_cancelled', 'cancelled_result_id', cancelled[0]!)]);
      expect(await statuses(db, [...c.members, c.callback])).toEqual(['FAILED', 'READY', 'FAILED']);
      expect(await workflow(db, c.workflowId)).toMatchObject({ status: 'FAILED', failure_count: 1 });
      expect(await statuses(db, orphaned)).toEqual(['GONE', 'FAILED', 'FAILED']);
      const orphan = await task(db, orphaned[1]!);
      expect(orphan.last_error).toBe('workflow_orphaned: Workflow failed because the task it waited on no longer exists');
      expect(orphan.errors_json).toEqual([{ kind: 'workflow_orphaned', message: expect.any(String), at: expect.any(String) }]);
      expect((await task(db, orphaned[2]!)).errors_json).toEqual([cascadeEntry('workflow_failed', 'failed_result_id', orphaned[1]!)]);
      expect(await statuses(db, [fresh])).toEqual(['WAITING']);

      // Nothing stranded is left: a second sweep finds nothing, and once the live member ran only the
      // fresh parentless row waits.
      expect(await reclaim(db)).toMatchObject({ dependantsEnded: 0 });
      await drainAll(db, [recorder('tasks.member')]);
      const open = await db.query<{ id: string }>(`SELECT result_id AS id FROM task_runs WHERE status IN ('READY', 'RUNNING', 'WAITING')`);
      expect(open.rows.map((r) => Number(r.id))).toEqual([fresh]);
    });

    it('a chord member that succeeded before Django wrote the workflow_runs row is counted, and the callback runs', async () => {
      // chord() writes its rows one by one: a drain can finish a member before the workflow_runs row exists.
      const workflowId = await newWorkflowId(db);
      for (let i = 0; i < 3; i++) await insertTask(db, { path: 'tasks.member', arg: i, status: 'READY', workflowId });
      const callback = await insertTask(db, { path: 'tasks.callback', arg: 100, status: 'WAITING', waitCount: 3, workflowId });
      await drainWith(db, [recorder('tasks.member')], { maxTasks: 1 });
      await db.query(
        `INSERT INTO workflow_runs (workflow_id, expected_count, callback_result_id, status) VALUES ($1, 3, $2, 'RUNNING')`,
        [workflowId, callback],
      );
      await drainAll(db, [recorder('tasks.member'), recorder('tasks.callback')]);
      expect(await workflow(db, workflowId)).toEqual({ status: 'RUNNING', success_count: 2, failure_count: 0 });
      // Left alone while the chord may still be moving, recounted once it has been still for a while.
      expect(await reclaim(db)).toMatchObject({ callbacksReleased: 0 });
      await db.query(`UPDATE workflow_runs SET updated_at = NOW() - interval '10 minutes'`);
      expect(await reclaim(db)).toMatchObject({ callbacksReleased: 1, dependantsEnded: 0 });
      expect(await workflow(db, workflowId)).toEqual({ status: 'WAITING_CALLBACK', success_count: 3, failure_count: 0 });
      await drainAll(db, [recorder('tasks.callback')]);
      expect(ran.at(-1)).toBe('tasks.callback:100');
      expect((await workflow(db, workflowId)).status).toBe('SUCCESSFUL');
    });
  });
});
