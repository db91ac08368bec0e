import { describe, expect, it } from 'vitest';
import { configFromEnv, resolveConfig, flatten } from '../src/config.ts';
import { DrainOptionsSchema, drainOptionsFromConfig } from '../src/drain/options.ts';
import { enqueue, enqueueMany } from '../src/enqueue.ts';
import { ConfigError } from '../src/errors.ts';
import { reclaim } from '../src/reclaim.ts';
import { RENEW_LEASES } from '../src/sql/renewLeases.ts';
import { defineTask } from '../src/tasks/registry.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { countingDb, drainWith, failingRenewals, row, sleep, waitFor } from './support/queue.ts';

/** A handler that runs until its signal aborts, and records why. */
const untilAborted = (reasons: string[]) =>
  defineTask({
    path: 'tasks.long',
    handler: (_in, ctx) =>
      new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => {
          reasons.push(`${ctx.resultId}:${(ctx.signal.reason as { reason?: string }).reason}`);
          reject(ctx.signal.reason);
        }),
      ),
  });

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
};

describe.each(QUEUE_DRIVERS)('leases on %s', (driver) => {
  const tdb = useTestDb(driver, 'task_runs, reproq_workers, rate_limits');
  const statusOf = (id: number) =>
    row<{ status: string; attempts: number; leased_by: string | null; return_json: unknown }>(
      tdb.db,
      'SELECT status, attempts, leased_by, return_json FROM task_runs WHERE result_id = $1',
      [id],
    );

  it('a batch that outlives its lease runs each task once, with reclaims and a second drain in between', async () => {
    // The repro: batch 3, concurrency 1, a 1 s lease and 1.5 s tasks. Waiting rows are renewed
    // with the running one, so reclaim finds nothing to requeue and drain B nothing to claim.
    const executions: string[] = [];
    const slow = (who: string) =>
      defineTask({
        path: 'tasks.slow',
        handler: async (_in, ctx) => {
          executions.push(`${who}:${ctx.resultId}`);
          await sleep(1500);
        },
      });
    await enqueueMany(tdb.db, [1, 2, 3].map((i) => ({ taskPath: 'tasks.slow', args: [i] })));
    const opts = { batchSize: 3, concurrency: 1, leaseSeconds: 1 };
    let aDone = false;
    const a = drainWith(tdb.db, [slow('A')], { ...opts, invocationId: 'A' }).finally(() => (aDone = true));
    const reclaimed: number[] = [];
    while (!aDone) {
      reclaimed.push(...(await reclaim(tdb.db)).ids);
      await drainWith(tdb.db, [slow('B')], { ...opts, invocationId: 'B' });
      await sleep(100);
    }
    const s = await a;
    expect(reclaimed).toEqual([]);
    expect(executions).toEqual(['A:1', 'A:2', 'A:3']);
    expect(s).toMatchObject({ claimed: 3, succeeded: 3, lostLease: 0, released: 0 });
  });

  it('when renewals fail, the run is aborted at the local lease deadline and unstarted rows are handed back', async () => {
    const reasons: string[] = [];
    await enqueueMany(tdb.db, [1, 2, 3].map((i) => ({ taskPath: 'tasks.long', args: [i] })));
    const db = failingRenewals(tdb.db);
    const s = await drainWith(db, [untilAborted(reasons)], { batchSize: 3, concurrency: 1, leaseSeconds: 1 });
    expect(db.renewals).toBeGreaterThan(0);
    expect(reasons).toEqual(['1:lease_lost']);
    expect(s).toMatchObject({ claimed: 3, lostLease: 1, released: 2, succeeded: 0 });
    // Handed back with the attempt restored; the aborted run is left to reclaim.
    expect(await statusOf(2)).toMatchObject({ status: 'READY', attempts: 0, leased_by: null });
    expect(await statusOf(3)).toMatchObject({ status: 'READY', attempts: 0, leased_by: null });
    expect(await statusOf(1)).toMatchObject({ status: 'RUNNING', attempts: 1 });
    await waitFor(async () => (await reclaim(tdb.db)).matched === 1);
    expect(await statusOf(1)).toMatchObject({ status: 'READY', attempts: 1, leased_by: null });
  });

  it('rows that lose their lease while waiting are never started, and a cancel request stops a waiting row', async () => {
    const started: number[] = [];
    const g = gate();
    const task = defineTask({
      path: 'tasks.gated',
      handler: async (_in, ctx) => {
        started.push(ctx.resultId);
        if (ctx.resultId === 1) await g.opened;
      },
    });
    await enqueueMany(tdb.db, [1, 2, 3, 4].map((i) => ({ taskPath: 'tasks.gated', args: [i] })));
    const db = countingDb(tdb.db);
    const renewals = () => db.texts.filter((t) => t === RENEW_LEASES).length;
    const a = drainWith(db, [task], { batchSize: 4, concurrency: 1, heartbeatSeconds: 0.1 });
    await waitFor(async () => started.length === 1);
    // Row 3 is taken over (as reclaim and another claim would), row 4 is cancelled.
    await tdb.db.query(`UPDATE task_runs SET leased_by = 'other/1' WHERE result_id = 3`);
    await tdb.db.query(`UPDATE task_runs SET cancel_requested = TRUE WHERE result_id = 4`);
    const seen = renewals();
    await waitFor(async () => renewals() >= seen + 2);
    g.open();
    const s = await a;
    expect(started).toEqual([1, 2]);
    expect(s).toMatchObject({ claimed: 4, succeeded: 2, lostLease: 1, cancelled: 1, failed: 1 });
    expect(await statusOf(3)).toMatchObject({ status: 'RUNNING', leased_by: 'other/1' });
    expect(await statusOf(4)).toMatchObject({ status: 'FAILED' });
  });

  it('claims what its lanes can start within half a lease, not a whole batch', async () => {
    const g = gate();
    const task = defineTask({ path: 'tasks.gated', handler: () => g.opened });
    await enqueueMany(tdb.db, Array.from({ length: 50 }, (_, i) => ({ taskPath: 'tasks.gated', args: [i] })));
    const a = drainWith(tdb.db, [task], { batchSize: 50, concurrency: 2, leaseSeconds: 2, maxTasks: 12 });
    await waitFor(async () => (await row<{ n: number }>(tdb.db, `SELECT count(*)::int AS n FROM task_runs WHERE status = 'RUNNING'`)).n > 0);
    // concurrency 2 × (1 + 1000 ms / (minTaskMs 200 + 50 ms to record)) = 10 of the 50.
    expect((await row<{ n: number }>(tdb.db, `SELECT count(*)::int AS n FROM task_runs WHERE status = 'RUNNING'`)).n).toBe(10);
    g.open();
    expect(await a).toMatchObject({ claimed: 12, succeeded: 12 });
  });

  it('leases under an id no other invocation has, even with the same invocation id', async () => {
    const ok = defineTask({ path: 'tasks.ok', handler: () => 1 });
    await enqueueMany(tdb.db, [1, 2].map((i) => ({ taskPath: 'tasks.ok', args: [i] })));
    const [s1, s2] = await Promise.all([1, 2].map(() => drainWith(tdb.db, [ok], { invocationId: 'req-1', maxTasks: 1 })));
    expect(s1!.workerId).not.toBe(s2!.workerId);
    for (const s of [s1!, s2!]) expect(s.workerId).toMatch(/^reproq-edge\/req-1\/[0-9a-f]{12}$/);
    const ids = await tdb.db.query<{ w: string }>(`SELECT worker_ids->>0 AS w FROM task_runs ORDER BY 1`);
    expect(ids.rows.map((r) => r.w)).toEqual([s1!.workerId, s2!.workerId].sort());
  });

  it("a zombie's late completion under a reused invocation id cannot overwrite the live run", async () => {
    const zombieGate = gate();
    const liveGate = gate();
    const zombieTask = defineTask({ path: 'tasks.t', handler: async () => (await zombieGate.opened, 'zombie') });
    const liveTask = defineTask({ path: 'tasks.t', handler: async () => (await liveGate.opened, 'live') });
    const { resultId } = await enqueue(tdb.db, { taskPath: 'tasks.t' });
    // An async retry of the same request: both invocations carry the same invocation id.
    const zombie = drainWith(tdb.db, [zombieTask], { invocationId: 'req-9' });
    await waitFor(async () => (await statusOf(resultId)).status === 'RUNNING');
    const zombieLease = (await statusOf(resultId)).leased_by;
    // Its lease lapses without it noticing (a frozen process), and reclaim requeues the task.
    await tdb.db.query(`UPDATE task_runs SET leased_until = NOW() - interval '1 second' WHERE result_id = $1`, [resultId]);
    expect((await reclaim(tdb.db)).ids).toEqual([resultId]);
    const live = drainWith(tdb.db, [liveTask], { invocationId: 'req-9' });
    await waitFor(async () => (await statusOf(resultId)).status === 'RUNNING');
    const liveLease = (await statusOf(resultId)).leased_by;
    expect(liveLease).not.toBe(zombieLease);
    zombieGate.open();
    expect(await zombie).toMatchObject({ succeeded: 0, lostLease: 1 });
    expect(await statusOf(resultId)).toMatchObject({ status: 'RUNNING', leased_by: liveLease, return_json: null });
    liveGate.open();
    expect(await live).toMatchObject({ succeeded: 1 });
    expect(await statusOf(resultId)).toMatchObject({ status: 'SUCCESSFUL', return_json: 'live' });
  });
});

describe('heartbeat configuration', () => {
  const fileLayer = (obj: Record<string, unknown>) => ({ values: flatten(obj), source: () => 'file:reproq.yaml' as const });

  it('derives the heartbeat from the lease when none is set, or 0 is (upstream: no renewal)', () => {
    expect(configFromEnv({}).worker.heartbeat_seconds).toBe(60);
    expect(resolveConfig([fileLayer({ worker: { lease_seconds: 30 } })]).config.worker.heartbeat_seconds).toBe(6);
    expect(resolveConfig([fileLayer({ worker: { lease_seconds: 30, heartbeat_seconds: 0 } })]).config.worker.heartbeat_seconds).toBe(6);
    expect(DrainOptionsSchema.parse({ leaseSeconds: 1 }).heartbeatSeconds).toBe(0.2);
    expect(DrainOptionsSchema.parse({}).heartbeatSeconds).toBe(60);
  });

  it('refuses a heartbeat that is not shorter than the lease, naming the key and its source', () => {
    const err = (() => {
      try {
        resolveConfig([fileLayer({ worker: { lease_seconds: 30, heartbeat_seconds: 60 } })]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('worker.heartbeat_seconds (file:reproq.yaml)');
    expect((err as ConfigError).message).toContain('not shorter than worker.lease_seconds (30)');
    expect(DrainOptionsSchema.safeParse({ leaseSeconds: 30, heartbeatSeconds: 30 }).success).toBe(false);
  });

  it('maps config to drain options in one place, the heartbeat included', () => {
    const { config } = resolveConfig([fileLayer({ worker: { lease_seconds: 120, heartbeat_seconds: 20, queues: ['a'] }, drain: { batch_size: 7 } })]);
    expect(drainOptionsFromConfig(config, { budgetMs: 5000, concurrency: undefined })).toMatchObject({
      leaseSeconds: 120,
      heartbeatSeconds: 20,
      queues: ['a'],
      batchSize: 7,
      concurrency: 10,
      budgetMs: 5000,
      workerName: 'reproq-edge',
    });
  });
});
