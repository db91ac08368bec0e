import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { enqueueMany } from '../src/enqueue.ts';
import { defineTask } from '../src/tasks/registry.ts';
import { openDb, QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { drainWith, waitFor } from './support/queue.ts';

/**
 * Another writer (Django, Go, psql) can lock task rows in an order that deadlocks with a step. The
 * server then rolls the step back whole; the drain sends it again and every outcome is recorded.
 */
describe.each(QUEUE_DRIVERS)('a step rolled back by a deadlock on %s', (driver) => {
  const tdb = useTestDb(driver, 'task_runs, reproq_workers');

  it('is sent again: both tasks succeed once and the drain does not stop on it', async () => {
    const dbName = new URL(tdb.url).pathname.slice(1);
    // The step's session finds the deadlock (after 1 s of waiting); the other writer waits longer.
    await tdb.db.query(`ALTER DATABASE ${dbName} SET deadlock_timeout = '1s'`);
    const db = await openDb(driver, tdb.url, 2);
    const other = new pg.Client({ connectionString: tdb.url });
    await other.connect();
    try {
      const [low, high] = (await enqueueMany(db, [1, 2].map((i) => ({ taskPath: 'tasks.hold', args: [i] })))).map((r) => r.resultId);
      const deadlocksBefore = await deadlocks(other, dbName);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const runs: number[] = [];
      const hold = defineTask({
        path: 'tasks.hold',
        handler: async (_in, ctx) => {
          runs.push(ctx.resultId);
          await gate;
        },
      });
      const drained = drainWith(db, [hold], { batchSize: 2, concurrency: 2 });
      await waitFor(async () => runs.length === 2);

      // The other writer holds the higher row; the step records both outcomes, locks the lower
      // row first and waits for the higher one.
      await other.query(`BEGIN; SET LOCAL deadlock_timeout = '60s'`);
      await other.query('SELECT 1 FROM task_runs WHERE result_id = $1 FOR UPDATE', [high]);
      release();
      await waitFor(async () => {
        const waiting = await other.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%jsonb_to_recordset%'`,
          [dbName],
        );
        return waiting.rowCount === 1;
      }, 10_000);
      // Now the other writer wants the lower row: a cycle, which the server breaks by rolling the step back.
      await other.query('SELECT 1 FROM task_runs WHERE result_id = $1 FOR UPDATE', [low]);
      await other.query('ROLLBACK');

      const summary = await drained;
      expect(summary).toMatchObject({ claimed: 2, succeeded: 2, lostLease: 0, stoppedBecause: 'empty' });
      expect(runs.sort()).toEqual([low, high]);
      const statuses = await tdb.db.query<{ status: string; attempts: number }>(
        'SELECT status, attempts FROM task_runs ORDER BY result_id',
      );
      expect(statuses.rows).toEqual([
        { status: 'SUCCESSFUL', attempts: 1 },
        { status: 'SUCCESSFUL', attempts: 1 },
      ]);
      await waitFor(async () => (await deadlocks(other, dbName)) > deadlocksBefore, 10_000);
    } finally {
      await other.end();
      await db.close();
      await tdb.db.query(`ALTER DATABASE ${dbName} RESET deadlock_timeout`);
    }
  });
});

async function deadlocks(client: pg.Client, dbName: string): Promise<number> {
  const r = await client.query<{ n: string }>('SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = $1', [dbName]);
  return Number(r.rows[0]!.n);
}
