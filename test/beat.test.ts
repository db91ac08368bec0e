import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { beat } from '../src/beat.ts';
import type { Db } from '../src/db/types.ts';
import { ValidationError } from '../src/errors.ts';
import { collectMetrics } from '../src/metrics/collect.ts';
import { renderPrometheus, renderStats } from '../src/metrics/index.ts';
import { deletePeriodicTask, listPeriodicTasks, setPeriodicEnabled, syncRecurring, upsertPeriodicTask } from '../src/periodic.ts';
import { goPeriodicSpecBytes, goPeriodicSpecHash, RawJson } from '../src/spec/periodic.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { allowNulls, BAD_PERIODIC_ROWS, insertPeriodicRows, storedNextRunAt } from './support/periodic.ts';
import { countingDb, row, waitFor } from './support/queue.ts';

const T0 = new Date('2026-03-02T12:00:00Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

async function addTask(db: Db, name: string, cron: string, nextRunAt: Date, payload: unknown = { args: [1], kwargs: { a: 1 } }) {
  await db.query(
    `INSERT INTO periodic_tasks (name, cron_expr, task_path, payload_json, next_run_at) VALUES ($1, $2, 'tasks.tick', $3::jsonb, $4)`,
    [name, cron, JSON.stringify(payload), nextRunAt.toISOString()],
  );
}

async function runsOf(db: Db, name: string): Promise<{ run_after: Date; spec_json: Record<string, unknown>; spec_hash: string }[]> {
  const res = await db.query<{ run_after: Date; spec_json: Record<string, unknown>; spec_hash: string }>(
    `SELECT run_after, spec_json, spec_hash FROM task_runs WHERE spec_json->>'periodic_name' = $1 ORDER BY run_after`,
    [name],
  );
  return res.rows;
}

describe.each(QUEUE_DRIVERS)('beat on %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, periodic_tasks, reproq_workers');
  let db: Db;
  beforeEach(() => {
    db = t.db;
  });

  it('enqueues one run with the Go beat spec bytes, hash and run_after, then advances next_run_at', async () => {
    await addTask(db, 'report', '*/5 * * * *', minutes(0), { args: [1, '<b>'], kwargs: { z: 1, a: [true, null] } });
    const counted = countingDb(db);
    const s = await beat(counted, { now: minutes(0.5) });
    expect(s).toMatchObject({ due: 1, advanced: 1, enqueued: 1, deduplicated: 0, lostRace: 0, errors: [] });
    expect(counted.count).toBe(2);
    const [run] = await runsOf(db, 'report');
    const fields = {
      taskPath: 'tasks.tick',
      args: new RawJson('[1, "<b>"]'),
      kwargs: new RawJson('{"a": [true, null], "z": 1}'),
      queueName: 'default',
      priority: 0,
      concurrencyKey: null,
      concurrencyLimit: 0,
      periodicName: 'report',
      scheduledAt: minutes(0),
      maxAttempts: 3,
    };
    expect(run!.spec_hash.trim()).toBe(await goPeriodicSpecHash(fields));
    expect(run!.spec_json).toEqual(JSON.parse(goPeriodicSpecBytes(fields)));
    expect(run!.spec_json).toMatchObject({ periodic_name: 'report', scheduled_at: '2026-03-02T12:00:00Z' });
    expect(new Date(run!.run_after).toISOString()).toBe(minutes(0).toISOString());
    const t = await row<{ next_run_at: Date; last_run_at: Date }>(db, `SELECT next_run_at, last_run_at FROM periodic_tasks`);
    expect(new Date(t.next_run_at).toISOString()).toBe(minutes(5).toISOString());
    expect(new Date(t.last_run_at).toISOString()).toBe(minutes(0).toISOString());
    // Not due any more: a second tick does nothing.
    expect(await beat(db, { now: minutes(1) })).toMatchObject({ due: 0, enqueued: 0 });
  });

  it('16 concurrent ticks over 1,000 due tasks enqueue exactly 1,000 runs', async () => {
    await db.query(
      `INSERT INTO periodic_tasks (name, cron_expr, task_path, payload_json, next_run_at)
       SELECT 'p' || i, '*/5 * * * *', 'tasks.tick', jsonb_build_object('args', jsonb_build_array(i)), $1
       FROM generate_series(1, 1000) AS i`,
      [minutes(0).toISOString()],
    );
    const results = await Promise.all(Array.from({ length: 16 }, () => beat(db, { now: minutes(1), batchSize: 250 })));
    expect(results.reduce((n, r) => n + r.enqueued, 0)).toBe(1000);
    expect(results.reduce((n, r) => n + r.advanced, 0)).toBe(1000);
    expect(results.every((r) => r.errors.length === 0)).toBe(true);
    const counts = await row<{ runs: number; distinct_names: number; advanced: number }>(
      db,
      `SELECT (SELECT count(*)::int FROM task_runs) AS runs,
              (SELECT count(DISTINCT spec_json->>'periodic_name')::int FROM task_runs) AS distinct_names,
              (SELECT count(*)::int FROM periodic_tasks WHERE next_run_at = $1) AS advanced`,
      [minutes(5).toISOString()],
    );
    expect(counts).toEqual({ runs: 1000, distinct_names: 1000, advanced: 1000 });
  });

  it('one row with task_path = \'\' among 500 due: 500 runs, and the row is reported and left due', async () => {
    await insertPeriodicRows(db, 500, [BAD_PERIODIC_ROWS.find((b) => b.name === 'bad_task_path_empty')!]);
    const before = await storedNextRunAt(db);
    const s = await beat(db, { batchSize: 100 });
    expect(s).toMatchObject({ due: 501, advanced: 500, enqueued: 500, lostRace: 0 });
    expect(s.errors).toEqual([{ name: 'bad_task_path_empty', field: 'task_path', message: 'is empty' }]);
    expect((await row<{ n: number }>(db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(500);
    expect(await storedNextRunAt(db)).toEqual(before);
    // The next tick finds only the bad row, and reports it again.
    expect(await beat(db)).toMatchObject({ due: 1, enqueued: 0, errors: [{ name: 'bad_task_path_empty' }] });
  });

  it(`each of ${BAD_PERIODIC_ROWS.length} kinds of bad row is reported with its column and left as it was; the good rows all run`, async () => {
    await allowNulls(db);
    await insertPeriodicRows(db, 40, BAD_PERIODIC_ROWS);
    const before = await storedNextRunAt(db);
    // Small pages, so bad rows fall in every page and in front of good ones.
    const s = await beat(db, { batchSize: 7 });
    expect(s.enqueued).toBe(40);
    expect(s.advanced + s.lostRace + s.errors.length).toBe(s.due);
    expect(Object.fromEntries(s.errors.map((e) => [e.name, e.field]))).toEqual(Object.fromEntries(BAD_PERIODIC_ROWS.map((b) => [b.name, b.field])));
    for (const e of s.errors) expect(e.message, e.name).not.toMatch(/object Object|undefined/);
    expect(await storedNextRunAt(db)).toEqual(before);
    const runs = await db.query<{ task_path: string; n: number }>('SELECT task_path, count(*)::int AS n FROM task_runs GROUP BY 1');
    expect(runs.rows).toEqual([{ task_path: 'tasks.tick', n: 40 }]);
    const m = await collectMetrics(db, { periodicGraceSeconds: 30 });
    expect(m.periodic.overdue).toBe(BAD_PERIODIC_ROWS.length);
    // The rows no JS Date can hold still render.
    expect(renderStats(m).periodic.filter((p: { next_run_at: string | null }) => p.next_run_at === null)).toHaveLength(3);
    expect(renderPrometheus(m)).toMatch(/reproq_periodic_tasks_overdue \d+/);
  });

  it('a row the database still refuses is isolated; the rest of its page runs', async () => {
    // A rule the checks before the statement do not know, as a site-specific constraint would be.
    await db.query(`ALTER TABLE task_runs ADD CONSTRAINT test_no_evil CHECK (task_path <> 'tasks.evil') NOT VALID`);
    try {
      await insertPeriodicRows(db, 100, []);
      await db.query(`UPDATE periodic_tasks SET task_path = 'tasks.evil' WHERE name = 'good_0042'`);
      const s = await beat(db);
      expect(s).toMatchObject({ due: 100, advanced: 99, enqueued: 99, lostRace: 0 });
      expect(s.errors).toHaveLength(1);
      expect(s.errors[0]).toMatchObject({ name: 'good_0042', field: 'row' });
      expect(s.errors[0]!.message).toMatch(/test_no_evil/);
      const left = await row<{ due: boolean }>(db, `SELECT next_run_at <= NOW() AS due FROM periodic_tasks WHERE name = 'good_0042'`);
      expect(left.due).toBe(true);
    } finally {
      await db.query('ALTER TABLE task_runs DROP CONSTRAINT test_no_evil');
    }
  });

  it('32 concurrent ticks over 500 due tasks and a bad row: 500 runs, and every count each tick reports is true', async () => {
    await insertPeriodicRows(db, 500, [BAD_PERIODIC_ROWS.find((b) => b.name === 'bad_task_path_empty')!]);
    const ticks = await Promise.all(Array.from({ length: 32 }, () => beat(db, { batchSize: 100 })));
    for (const t of ticks) {
      // Each row a tick read is advanced by it, lost to another writer, or reported.
      expect(t.advanced + t.lostRace + t.errors.length).toBe(t.due);
      expect(t.enqueued).toBe(t.advanced);
      expect(t.errors.map((e) => e.name)).toEqual(['bad_task_path_empty']);
    }
    expect(ticks.reduce((n, t) => n + t.enqueued, 0)).toBe(500);
    expect(ticks.reduce((n, t) => n + t.advanced, 0)).toBe(500);
    const counts = await row<{ runs: number; names: number; left: number }>(
      db,
      `SELECT (SELECT count(*)::int FROM task_runs) AS runs,
              (SELECT count(DISTINCT spec_json->>'periodic_name')::int FROM task_runs) AS names,
              (SELECT count(*)::int FROM periodic_tasks WHERE next_run_at <= NOW()) AS left`,
    );
    expect(counts).toEqual({ runs: 500, names: 500, left: 1 });
    // A row a tick read but another advanced is a lost race; the counts say so, summed over ticks.
    const lost = ticks.reduce((n, t) => n + t.lostRace, 0);
    expect(lost).toBe(ticks.reduce((n, t) => n + t.due - t.errors.length, 0) - 500);
  });

  it('a row another session holds and then releases unchanged is advanced by the tick that waited, not counted as lost', async () => {
    await insertPeriodicRows(db, 3, []);
    const other = new pg.Client({ connectionString: t.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM periodic_tasks WHERE name = 'good_0002' FOR UPDATE`);
      const tick = beat(db);
      await waitFor(async () => (await row<{ n: number }>(db, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).n > 0);
      await other.query('ROLLBACK');
      expect(await tick).toMatchObject({ due: 3, advanced: 3, enqueued: 3, lostRace: 0, errors: [] });
    } finally {
      await other.end();
    }
  });

  describe('misfire policies after a 1-hour outage (every 10 minutes, due since 12:00, tick at 13:00:30)', () => {
    const now = minutes(60.5);
    const scheduled = async () => (await runsOf(db, 'ten')).map((r) => r.spec_json.scheduled_at);
    const nextRun = async () => new Date((await row<{ n: Date }>(db, 'SELECT next_run_at AS n FROM periodic_tasks')).n).toISOString();

    it('catch_up_once (default, upstream): one run at the stale time, then the next future time', async () => {
      await addTask(db, 'ten', '*/10 * * * *', minutes(0));
      expect(await beat(db, { now })).toMatchObject({ enqueued: 1 });
      expect(await scheduled()).toEqual(['2026-03-02T12:00:00Z']);
      expect(await nextRun()).toBe(minutes(70).toISOString());
    });

    it('skip: the missed runs are dropped; the current one runs when within the grace period', async () => {
      await addTask(db, 'ten', '*/10 * * * *', minutes(0));
      expect(await beat(db, { now, misfirePolicy: 'skip' })).toMatchObject({ enqueued: 1 });
      expect(await scheduled()).toEqual(['2026-03-02T13:00:00Z']);
      expect(await nextRun()).toBe(minutes(70).toISOString());
    });

    it('skip: nothing runs when even the latest time is older than the grace period', async () => {
      await addTask(db, 'ten', '*/10 * * * *', minutes(0));
      expect(await beat(db, { now: minutes(65), misfirePolicy: 'skip' })).toMatchObject({ advanced: 1, enqueued: 0 });
      expect(await scheduled()).toEqual([]);
      expect(await nextRun()).toBe(minutes(70).toISOString());
    });

    it('backfill: every missed run, oldest first', async () => {
      await addTask(db, 'ten', '*/10 * * * *', minutes(0));
      expect(await beat(db, { now, misfirePolicy: 'backfill', maxCatchUp: 100 })).toMatchObject({ enqueued: 7 });
      expect(await scheduled()).toEqual(['00', '10', '20', '30', '40', '50'].map((m) => `2026-03-02T12:${m}:00Z`).concat('2026-03-02T13:00:00Z'));
      expect(await nextRun()).toBe(minutes(70).toISOString());
    });

    it('backfill with maxCatchUp: the most recent N', async () => {
      await addTask(db, 'ten', '*/10 * * * *', minutes(0));
      expect(await beat(db, { now, misfirePolicy: 'backfill', maxCatchUp: 3 })).toMatchObject({ enqueued: 3 });
      expect(await scheduled()).toEqual(['2026-03-02T12:40:00Z', '2026-03-02T12:50:00Z', '2026-03-02T13:00:00Z']);
    });
  });

  it('a bad cron or payload row does not block the others, is reported, stays due and shows in metrics', async () => {
    // Real time here: metrics compare with the database clock.
    const due = new Date(Date.now() - 60_000);
    await addTask(db, 'a_bad_cron', '61 * * * *', due);
    await addTask(db, 'b_bad_payload', '*/5 * * * *', due, 'just a string');
    await addTask(db, 'c_bad_args', '*/5 * * * *', due, { args: { not: 'a list' } });
    await addTask(db, 'd_good', '*/5 * * * *', due);
    // Page size 1: the bad rows come first and must not starve the good one.
    const s = await beat(db, { batchSize: 1 });
    expect(s.enqueued).toBe(1);
    expect(s.errors.map((e) => [e.name, e.field])).toEqual([
      ['a_bad_cron', 'cron_expr'],
      ['b_bad_payload', 'payload_json'],
      ['c_bad_args', 'payload_json'],
    ]);
    const left = await db.query<{ name: string }>(`SELECT name FROM periodic_tasks WHERE next_run_at = $1 ORDER BY name`, [due.toISOString()]);
    expect(left.rows.map((r) => r.name)).toEqual(['a_bad_cron', 'b_bad_payload', 'c_bad_args']);
    const m = await collectMetrics(db, { periodicGraceSeconds: 30 });
    expect(m.periodic.overdue).toBe(3);
    expect(m.periodic.beatLagSeconds).toBeGreaterThanOrEqual(60);
  });

  it('an active run with the same spec suppresses the insert but the task still advances', async () => {
    await addTask(db, 'dup', '*/5 * * * *', minutes(0));
    await beat(db, { now: minutes(1) });
    await db.query(`UPDATE periodic_tasks SET next_run_at = $1`, [minutes(0).toISOString()]);
    expect(await beat(db, { now: minutes(1) })).toMatchObject({ advanced: 1, enqueued: 0, deduplicated: 1 });
    expect((await runsOf(db, 'dup')).length).toBe(1);
  });

  it('keeps next_run_at microseconds when comparing (run now = NOW())', async () => {
    await db.query(
      `INSERT INTO periodic_tasks (name, cron_expr, task_path, next_run_at) VALUES ('now', '0 0 * * *', 'tasks.tick', NOW() - interval '1.234567 seconds')`,
    );
    expect(await beat(db)).toMatchObject({ advanced: 1, enqueued: 1 });
  });

  describe('CRUD and sync-recurring', () => {
    it('validates at write time, naming the field', async () => {
      for (const [input, field] of [
        [{ name: 'x', cronExpr: '* * * *', taskPath: 't.x' }, 'cronExpr'],
        [{ name: 'x', cronExpr: '0 0 * * 7', taskPath: 't.x' }, 'cronExpr'],
        [{ name: '', cronExpr: '* * * * *', taskPath: 't.x' }, 'name'],
        [{ name: 'x', cronExpr: '* * * * *', taskPath: 't.x', priority: 500 }, 'priority'],
      ] as const) {
        const err = await upsertPeriodicTask(db, input as never).catch((e) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe(field);
      }
      expect(await listPeriodicTasks(db)).toEqual([]);
    });

    it('upserts, lists, toggles, deletes; keeps next_run_at while the cron is unchanged', async () => {
      const t = await upsertPeriodicTask(db, { name: 'n', cronExpr: '0 * * * *', taskPath: 't.x', args: [1] }, { now: T0 });
      expect(t).toMatchObject({ name: 'n', payload: { args: [1], kwargs: {} }, nextRunAt: minutes(60), enabled: true });
      const again = await upsertPeriodicTask(db, { name: 'n', cronExpr: '0 * * * *', taskPath: 't.y' }, { now: minutes(30) });
      expect(again).toMatchObject({ taskPath: 't.y', nextRunAt: minutes(60) });
      const changed = await upsertPeriodicTask(db, { name: 'n', cronExpr: '*/5 * * * *', taskPath: 't.y' }, { now: minutes(30) });
      expect(changed.nextRunAt).toEqual(minutes(35));
      expect(await setPeriodicEnabled(db, 'n', false)).toBe(true);
      expect(await listPeriodicTasks(db, { enabled: true })).toEqual([]);
      // Re-enabled long after: no stale catch-up, the next time after now.
      expect(await setPeriodicEnabled(db, 'n', true, { now: minutes(600) })).toBe(true);
      expect((await listPeriodicTasks(db))[0]!.nextRunAt).toEqual(minutes(605));
      expect(await setPeriodicEnabled(db, 'missing', true)).toBe(false);
      expect(await deletePeriodicTask(db, 'n')).toBe(true);
      expect(await deletePeriodicTask(db, 'n')).toBe(false);
    });

    it('syncRecurring upserts by name and disables the missing ones', async () => {
      await upsertPeriodicTask(db, { name: 'old', cronExpr: '0 * * * *', taskPath: 't.old' });
      await upsertPeriodicTask(db, { name: 'keep', cronExpr: '0 * * * *', taskPath: 't.keep' });
      const r = await syncRecurring(
        db,
        [
          { name: 'keep', cronExpr: '0 * * * *', taskPath: 't.keep2' },
          { name: 'new', cronExpr: 'TZ=Europe/Paris 0 9 * * 1-5', taskPath: 't.new', kwargs: { k: 'v' } },
        ],
        { disableMissing: true },
      );
      expect(r).toEqual({ created: ['new'], updated: ['keep'], disabled: ['old'] });
      const rows = await listPeriodicTasks(db);
      expect(rows.map((t) => [t.name, t.enabled, t.taskPath])).toEqual([
        ['keep', true, 't.keep2'],
        ['new', true, 't.new'],
        ['old', false, 't.old'],
      ]);
      await expect(syncRecurring(db, [{ name: 'a', cronExpr: '* * * * *', taskPath: 't' }, { name: 'a', cronExpr: '* * * * *', taskPath: 't' }])).rejects.toBeInstanceOf(ValidationError);
      expect(await syncRecurring(db, [], { disableMissing: true })).toEqual({ created: [], updated: [], disabled: ['keep', 'new'] });
    });
  });
});
