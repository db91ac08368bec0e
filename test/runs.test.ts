import { describe, expect, it } from 'vitest';
import {
  ActiveSpecConflictError,
  cancelTask,
  defineTask,
  enqueue,
  getTask,
  listFailedTasks,
  pauseQueue,
  replayTask,
  resumeQueue,
  retryFailedTasks,
  retryTask,
  statusReport,
  TaskNotFoundError,
  TaskStateError,
  ValidationError,
} from '../src/index.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { drainWith, row } from './support/queue.ts';

const ok = defineTask({ path: 'app.tasks.ok', handler: ({ args }) => ({ got: args }) });
const boom = defineTask({ path: 'app.tasks.boom', handler: () => { throw new Error('boom'); } });

describe.each(QUEUE_DRIVERS)('the domain API over %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, workflow_runs, reproq_queue_controls, reproq_workers');
  const put = async (args: unknown[] = [Math.random()], extra: Record<string, unknown> = {}) =>
    (await enqueue(t.db, { taskPath: 'app.tasks.ok', args: args as never, ...extra })).resultId;

  it('getTask reads status, args, result, errors, attempts and timestamps', async () => {
    const id = await put([1, 'two'], { kwargs: { k: true } });
    expect(await getTask(t.db, id)).toMatchObject({
      result_id: id, task_path: 'app.tasks.ok', queue_name: 'default', status: 'READY', attempts: 0, max_attempts: 3,
      args: [1, 'two'], kwargs: { k: true }, return_json: null, errors_json: [], started_at: null, workflow: null,
    });
    await drainWith(t.db, [ok]);
    const done = await getTask(t.db, id);
    expect(done).toMatchObject({ status: 'SUCCESSFUL', attempts: 1, return_json: { got: [1, 'two'] } });
    expect(done.finished_at).toBeInstanceOf(Date);
    expect(done.spec_hash).toMatch(/^[0-9a-f]{64}$/);

    const failing = (await enqueue(t.db, { taskPath: 'app.tasks.boom', maxAttempts: 1 })).resultId;
    await drainWith(t.db, [boom]);
    expect(await getTask(t.db, failing)).toMatchObject({ status: 'FAILED', attempts: 1, last_error: expect.stringContaining('boom'), errors_json: [expect.objectContaining({ message: expect.stringContaining('boom') })] });
  });

  it("getTask shows a chord member's workflow_runs row", async () => {
    const id = await put();
    await t.db.query(`UPDATE task_runs SET workflow_id = '6f9619ff-8b86-d011-b42d-00c04fc964ff' WHERE result_id = $1`, [id]);
    await t.db.query(`INSERT INTO workflow_runs (workflow_id, expected_count, callback_result_id) VALUES ('6f9619ff-8b86-d011-b42d-00c04fc964ff', 2, NULL)`);
    expect((await getTask(t.db, id)).workflow).toEqual({
      workflow_id: '6f9619ff-8b86-d011-b42d-00c04fc964ff', status: 'RUNNING', expected_count: 2, success_count: 0, failure_count: 0, callback_result_id: null,
    });
  });

  it('names a missing task and a bad id', async () => {
    await expect(getTask(t.db, 424242)).rejects.toThrow(TaskNotFoundError);
    await expect(cancelTask(t.db, 0)).rejects.toMatchObject({ name: 'ValidationError', field: 'id' });
    await expect(retryTask(t.db, 1.5)).rejects.toBeInstanceOf(ValidationError);
  });

  it('cancelTask: READY is cancelled, RUNNING is asked to stop once, finished tasks are left alone', async () => {
    const [ready, running, done] = [await put(), await put(), await put()];
    await t.db.query(`UPDATE task_runs SET status = 'RUNNING', leased_by = 'w/1', leased_until = NOW() + interval '1 minute' WHERE result_id = $1`, [running]);
    await t.db.query(`UPDATE task_runs SET status = 'SUCCESSFUL', finished_at = NOW() WHERE result_id = $1`, [done]);
    expect(await cancelTask(t.db, ready)).toEqual({ resultId: ready, before: 'READY', after: 'CANCELLED', changed: true, outcome: 'cancelled', dependants: 0 });
    expect(await cancelTask(t.db, running)).toMatchObject({ after: 'RUNNING', outcome: 'cancel_requested' });
    expect(await cancelTask(t.db, running)).toMatchObject({ changed: false, outcome: 'already_requested' });
    expect(await cancelTask(t.db, done)).toMatchObject({ changed: false, outcome: 'already_finished' });
    await expect(cancelTask(t.db, 99999)).rejects.toMatchObject({ name: 'TaskNotFoundError', resultId: 99999 });
  });

  it('replayTask copies a finished task, refuses while the same spec is active, and names an unknown hash', async () => {
    const id = await put(['x']);
    await t.db.query(`UPDATE task_runs SET status = 'SUCCESSFUL', finished_at = NOW() WHERE result_id = $1`, [id]);
    const copy = await replayTask(t.db, { id });
    expect(copy).toMatchObject({ sourceId: id, specHash: (await getTask(t.db, id)).spec_hash });
    expect((await getTask(t.db, copy.resultId)).status).toBe('READY');
    const blocked = await replayTask(t.db, { specHash: copy.specHash }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(ActiveSpecConflictError);
    expect(blocked).toMatchObject({ activeResultId: copy.resultId, activeStatus: 'READY' });
    await expect(replayTask(t.db, { specHash: 'ab'.repeat(32) })).rejects.toMatchObject({ name: 'TaskNotFoundError', specHash: 'ab'.repeat(32) });
    await expect(replayTask(t.db, { id: 1, specHash: 'ab' } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('retryTask and retryFailedTasks move FAILED back to READY, keeping the error history', async () => {
    const [a, b, ready] = [await put(), await put(), await put()];
    await t.db.query(`UPDATE task_runs SET status = 'FAILED', failed_at = NOW(), attempts = 3, last_error = 'boom', errors_json = '[{"kind":"app_error"}]' WHERE result_id = ANY($1)`, [[a, b]]);
    expect((await listFailedTasks(t.db)).map((f) => f.result_id).sort()).toEqual([a, b].sort());
    expect(await retryTask(t.db, a)).toEqual({ retried: [a], resumed: 0 });
    expect(await getTask(t.db, a)).toMatchObject({ status: 'READY', attempts: 0, last_error: null, errors_json: [{ kind: 'app_error' }] });
    await expect(retryTask(t.db, ready)).rejects.toMatchObject({ name: 'TaskStateError', status: 'READY' });
    await expect(retryTask(t.db, 99999)).rejects.toBeInstanceOf(TaskNotFoundError);
    expect(await retryFailedTasks(t.db)).toEqual({ retried: [b], resumed: 0 });
    expect(await retryFailedTasks(t.db)).toEqual({ retried: [], resumed: 0 });
  });

  it('pauseQueue and resumeQueue write the control row; statusReport shows it', async () => {
    await put([1], { queue: 'reports' });
    expect(await pauseQueue(t.db, 'reports', { reason: 'maintenance' })).toMatchObject({ queue: 'reports', paused: true, reason: 'maintenance' });
    expect((await statusReport(t.db)).queues.find((q) => q.queue === 'reports')).toMatchObject({ ready: 1, paused: true, reason: 'maintenance' });
    expect(await resumeQueue(t.db, 'reports')).toEqual({ queue: 'reports', paused: false, pausedAt: null, reason: '' });
    expect(await row(t.db, `SELECT paused, paused_at FROM reproq_queue_controls WHERE queue_name = 'reports'`)).toEqual({ paused: false, paused_at: null });
    await expect(pauseQueue(t.db, 'no spaces')).rejects.toMatchObject({ field: 'queue' });
  });
});
