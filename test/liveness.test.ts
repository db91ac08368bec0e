import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Db } from '../src/db/types.ts';
import { enqueueMany } from '../src/enqueue.ts';
import { defineTask } from '../src/tasks/registry.ts';
import { project, reproq } from './support/cli.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { drainWith, row } from './support/queue.ts';

/**
 * A chain as reproq-django writes one: the first link READY, each later link WAITING on the one
 * before it (wait_count 1, parent_id), all sharing a workflow_id.
 */
async function insertChain(db: Db, taskPath: string, links: number): Promise<number[]> {
  const workflowId = randomUUID();
  const ids: number[] = [];
  for (let i = 0; i < links; i++) {
    const res = await db.query<{ result_id: string }>(
      `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, wait_count, parent_id, workflow_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING result_id`,
      [
        JSON.stringify({ v: 1, task_path: taskPath, args: [`chain:${i}`], kwargs: {} }),
        randomBytes(32).toString('hex'),
        taskPath,
        i === 0 ? 'READY' : 'WAITING',
        i === 0 ? 0 : 1,
        ids.at(-1) ?? null,
        workflowId,
      ],
    );
    ids.push(Number(res.rows[0]!.result_id));
  }
  return ids;
}

/** 15 tasks on 3 lock keys and a 4-link chain, all in the one queue `default`. */
async function lockedAndChained(db: Db, taskPath: string): Promise<void> {
  await enqueueMany(db, Array.from({ length: 15 }, (_, i) => ({ taskPath, args: [`lock:${i}`], lockKey: `k${i % 3}` })));
  await insertChain(db, taskPath, 4);
}

const statusCounts = async (db: Db) =>
  Object.fromEntries(
    (await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM task_runs GROUP BY 1')).rows.map((r) => [r.status, r.n]),
  );

describe.each(QUEUE_DRIVERS)('claim liveness on %s', (driver) => {
  const tdb = useTestDb(driver, 'task_runs, reproq_workers, rate_limits');

  it('one drain runs a whole chain and whole lock_key series in one queue before it says empty', async () => {
    const order: string[] = [];
    const rec = defineTask({ path: 'tasks.rec', handler: ({ args }) => void order.push(args[0] as string) });
    await lockedAndChained(tdb.db, 'tasks.rec');
    const s = await drainWith(tdb.db, [rec], { concurrency: 4 });
    expect(s).toMatchObject({ claimed: 19, succeeded: 19, stoppedBecause: 'empty' });
    expect(await statusCounts(tdb.db)).toEqual({ SUCCESSFUL: 19 });
    expect(order.filter((a) => a.startsWith('chain:'))).toEqual(['chain:0', 'chain:1', 'chain:2', 'chain:3']);
  });

  const ok = defineTask({ path: 'tasks.ok', handler: () => 1 });
  /** `tasks` no-op tasks behind a full token bucket. */
  async function limited(tasks: number, key: string, perSecond: number, burst: number): Promise<void> {
    await enqueueMany(tdb.db, Array.from({ length: tasks }, (_, i) => ({ taskPath: 'tasks.ok', args: [i] })));
    await tdb.db.query(
      `INSERT INTO rate_limits (key, tokens_per_second, burst_size, current_tokens, last_refilled_at) VALUES ($1, $2, $3::int, $3::real, NOW())`,
      [key, perSecond, burst],
    );
  }

  it('a rate-limited queue runs at its rate inside the budget instead of stopping at the burst', async () => {
    await limited(30, 'queue:default', 2, 2);
    const s = await drainWith(tdb.db, [ok], { budgetMs: 3000 });
    // 2 from the burst, then one every 0.5 s: 6 to 8 in 3 s, never more than the bucket allows.
    expect(s.succeeded).toBeGreaterThanOrEqual(5);
    expect(s.succeeded).toBeLessThanOrEqual(8);
    expect(['rate_limited', 'budget']).toContain(s.stoppedBecause);
    expect((await statusCounts(tdb.db)).READY).toBe(30 - s.succeeded);
  });

  it('says rate_limited, with the wait it would need, when the next token is beyond the budget', async () => {
    // One token per 100 s.
    await limited(3, 'task:tasks.ok', 0.01, 1);
    const s = await drainWith(tdb.db, [ok], { budgetMs: 2000 });
    expect(s).toMatchObject({ succeeded: 1, stoppedBecause: 'rate_limited' });
    expect(s.retryAfterMs).toBeGreaterThan(90_000);
    expect(s.retryAfterMs).toBeLessThanOrEqual(100_000 + 1000);
  });

  it('costs no extra round trip when nothing was released: 1,000 tasks at batch 100 stay 11 statements', async () => {
    await enqueueMany(tdb.db, Array.from({ length: 1000 }, (_, i) => ({ taskPath: 'tasks.ok', args: [i] })));
    const s = await drainWith(tdb.db, [ok], { batchSize: 100, concurrency: 100 });
    expect(s).toMatchObject({ claimed: 1000, roundTrips: 11, stoppedBecause: 'empty' });
  });
});

describe('reproq drain --once', () => {
  const tdb = useTestDb('pg', 'task_runs, reproq_workers');

  it('runs a 4-link chain and 15 tasks on 3 lock keys in one invocation', async () => {
    await lockedAndChained(tdb.db, 'app.tasks.quiet');
    const run = await reproq(['drain', '--once', '--json', '--tasks', './tasks.ts', '--allowed-task-modules', 'app.tasks.'], {
      cwd: project(`export const quiet = defineTask({ path: 'app.tasks.quiet', handler: ({ args }) => args[0] });\n`),
      env: { DATABASE_URL: tdb.url },
    });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ claimed: 19, succeeded: 19, stoppedBecause: 'empty' });
    expect(await statusCounts(tdb.db)).toEqual({ SUCCESSFUL: 19 });
    expect(await row(tdb.db, `SELECT count(*)::int AS n FROM task_runs WHERE status <> 'SUCCESSFUL'`)).toEqual({ n: 0 });
  });
});
