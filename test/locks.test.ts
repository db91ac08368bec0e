/**
 * lock_key and concurrency_limit across concurrent drains. The claim's key checks read its
 * statement's snapshot; a claim another drain has made but not committed is invisible to it, so
 * reproq_claim_keys (migration 0004) checks again under a per-key advisory lock with a fresh
 * snapshot. First the race itself, step by step; then 16 drains at once, with every handler's start
 * and end recorded and the overlap per key computed from those intervals.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/types.ts';
import { stepSql } from '../src/sql/step.ts';
import { defineTask } from '../src/tasks/registry.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { drainWith, row, sleep } from './support/queue.ts';

const STEP = stepSql(60);
const PLAIN_STEP = stepSql(60, 'plain');
const PATHS = ['tasks.locked', 'tasks.limited', 'tasks.free'];

/** One claim through the drain's own statement (no outcomes to record); returns the claimed ids. */
async function claim(db: Db, workerId: string, want: number): Promise<number[]> {
  return (await claimWith(STEP, db, workerId, want)).ids;
}

async function claimWith(sql: string, db: Db, workerId: string, want: number): Promise<{ ids: number[]; needsFull: boolean }> {
  const res = await db.query<{ result_id: string | null; needs_full: boolean }>(sql, ['[]', workerId, 'default', PATHS, want, 60, null, false]);
  const ids = res.rows.filter((r) => r.result_id !== null).map((r) => Number(r.result_id));
  return { ids: ids.sort((a, b) => a - b), needsFull: res.rows[0]!.needs_full };
}

/** Inserts `n` READY tasks with the given keys; returns their ids. */
async function insert(db: Db, n: number, k: { path: string; lockKey?: (i: number) => string | null; concurrencyKey?: string; limit?: number }): Promise<number[]> {
  const res = await db.query<{ id: string }>(
    `INSERT INTO task_runs (spec_json, spec_hash, task_path, lock_key, concurrency_key, concurrency_limit)
     SELECT jsonb_build_object('task_path', $1::text, 'args', jsonb_build_array(i), 'kwargs', '{}'::jsonb),
            md5($1 || i::text || clock_timestamp()::text), $1, lk, $3, $4
     FROM unnest($2::text[]) WITH ORDINALITY AS x (lk, i)
     RETURNING result_id AS id`,
    [k.path, Array.from({ length: n }, (_, i) => k.lockKey?.(i) ?? null), k.concurrencyKey ?? null, k.limit ?? 0],
  );
  return res.rows.map((r) => Number(r.id));
}

async function runningBy(db: Db, column: 'lock_key' | 'concurrency_key', key: string): Promise<number> {
  return (await row<{ n: number }>(db, `SELECT count(*)::int AS n FROM task_runs WHERE status = 'RUNNING' AND ${column} = $1`, [key])).n;
}

/** Max number of intervals open at once per key, from start/end events in the order they happened. */
function maxOverlap(events: readonly { key: string; delta: 1 | -1 }[]): Map<string, number> {
  const open = new Map<string, number>();
  const max = new Map<string, number>();
  for (const e of events) {
    const n = (open.get(e.key) ?? 0) + e.delta;
    open.set(e.key, n);
    max.set(e.key, Math.max(max.get(e.key) ?? 0, n));
  }
  return max;
}

describe('maxOverlap', () => {
  it('counts the intervals open at once per key', () => {
    const ev = (key: string, delta: 1 | -1) => ({ key, delta });
    const m = maxOverlap([ev('a', 1), ev('b', 1), ev('a', 1), ev('a', -1), ev('a', 1), ev('a', -1), ev('a', -1), ev('b', -1), ev('b', 1)]);
    expect(Object.fromEntries(m)).toEqual({ a: 2, b: 1 });
  });
});

describe.each(QUEUE_DRIVERS)('claim locks across drains on %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, reproq_workers', 24);
  let db: Db;
  beforeEach(() => {
    db = t.db;
  });

  it('a claim in an open transaction holds its lock_key against a second drain', async () => {
    const [first, second] = await insert(db, 2, { path: 'tasks.locked', lockKey: () => 'K' });
    const [free] = await insert(db, 1, { path: 'tasks.free' });
    await db.transaction!(async (a) => {
      expect(await claim(a, 'A/1', 1)).toEqual([first]);
      // The old check alone: B's snapshot cannot see A's uncommitted claim, so K looks free to it.
      const blind = await row<{ free: boolean }>(
        db,
        `SELECT NOT EXISTS (SELECT 1 FROM task_runs WHERE lock_key = 'K' AND status = 'RUNNING') AS free`,
      );
      expect(blind.free).toBe(true);
      // B claims while A's transaction is open: it takes the free task, not K's second one.
      expect(await claim(db, 'B/1', 10)).toEqual([free]);
    });
    expect(await runningBy(db, 'lock_key', 'K')).toBe(1);
    // After A committed, K is visibly held: still nothing for B until A's task ends.
    expect(await claim(db, 'B/1', 10)).toEqual([]);
    await db.query(`UPDATE task_runs SET status = 'SUCCESSFUL', leased_by = NULL WHERE result_id = $1`, [first]);
    expect(await claim(db, 'B/1', 10)).toEqual([second]);
  });

  it('claims in an open transaction count against a concurrency limit in a second drain', async () => {
    await insert(db, 5, { path: 'tasks.limited', concurrencyKey: 'C', limit: 3 });
    await db.transaction!(async (a) => {
      expect(await claim(a, 'A/1', 2)).toHaveLength(2);
      expect(await claim(db, 'B/1', 10)).toEqual([]);
    });
    // A's two are visible now: one slot is left.
    expect(await claim(db, 'B/1', 10)).toHaveLength(1);
    expect(await runningBy(db, 'concurrency_key', 'C')).toBe(3);
    expect(await claim(db, 'C/1', 10)).toEqual([]);
  });

  it('the plain claim takes rows without keys only, and stands aside for the full claim while a candidate has a key or a rate limit is active', async () => {
    // A concurrency key without a limit (<= 0) is no key; an empty lock_key is one (upstream).
    const free = [...(await insert(db, 2, { path: 'tasks.free' })), ...(await insert(db, 1, { path: 'tasks.free', concurrencyKey: 'C', limit: 0 }))];
    expect(await claimWith(PLAIN_STEP, db, 'A/1', 10)).toEqual({ ids: free, needsFull: false });

    const [keyed] = await insert(db, 1, { path: 'tasks.locked', lockKey: () => '' });
    const more = await insert(db, 2, { path: 'tasks.free' });
    expect(await claimWith(PLAIN_STEP, db, 'A/1', 10)).toEqual({ ids: [], needsFull: true });
    expect(await claimWith(STEP, db, 'A/1', 10)).toEqual({ ids: [keyed!, ...more], needsFull: false });

    const [limited] = await insert(db, 1, { path: 'tasks.limited', concurrencyKey: 'C', limit: 2 });
    expect(await claimWith(PLAIN_STEP, db, 'A/1', 10)).toEqual({ ids: [], needsFull: true });
    expect(await claim(db, 'A/1', 10)).toEqual([limited]);

    const last = await insert(db, 1, { path: 'tasks.free' });
    await db.query(`UPDATE rate_limits SET tokens_per_second = 100, burst_size = 10, current_tokens = 10 WHERE key = 'global'`);
    try {
      expect(await claimWith(PLAIN_STEP, db, 'A/1', 10)).toEqual({ ids: [], needsFull: true });
    } finally {
      await db.query(`UPDATE rate_limits SET tokens_per_second = 0, burst_size = 1, current_tokens = 0 WHERE key = 'global'`);
    }
    expect(await claimWith(PLAIN_STEP, db, 'A/1', 10)).toEqual({ ids: last, needsFull: false });
  });

  it('16 concurrent drains never run a lock_key twice or a concurrency key beyond its limit, and run every task', async () => {
    const LOCKED = 1000;
    const LIMITED = 150;
    // Rows without keys as well: drains start with the plain claim and must turn to the full one.
    const FREE = 200;
    await insert(db, LOCKED, { path: 'tasks.locked', lockKey: (i) => `L${i % 10}` });
    await insert(db, LIMITED, { path: 'tasks.limited', concurrencyKey: 'C', limit: 3 });
    await insert(db, FREE, { path: 'tasks.free' });
    const total = LOCKED + LIMITED + FREE;

    // Handler starts and ends in the order they happen (one event loop: push order is time order).
    const events: { key: string; delta: 1 | -1 }[] = [];
    let ended = 0;
    const handler = (key: (n: number) => string) => async ({ args }: { args: unknown }) => {
      const k = key((args as number[])[0]!);
      events.push({ key: k, delta: 1 });
      await sleep(Math.random() * 3);
      events.push({ key: k, delta: -1 });
      ended++;
    };
    // insert() numbers args from 1 (WITH ORDINALITY), and lock keys from index 0.
    const tasks = [
      defineTask({ path: 'tasks.locked', handler: handler((n) => `L${(n - 1) % 10}`) }),
      defineTask({ path: 'tasks.limited', handler: handler(() => 'C') }),
      defineTask({ path: 'tasks.free', handler: handler(() => 'F') }),
    ];

    // The database's view as well: committed RUNNING rows per key, sampled while the drains run.
    const dbMax = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await db.query<{ key: string; n: number }>(
          `SELECT COALESCE(lock_key, concurrency_key) AS key, count(*)::int AS n FROM task_runs
           WHERE status = 'RUNNING' AND COALESCE(lock_key, concurrency_key) IS NOT NULL GROUP BY 1`,
        );
        for (const { key, n } of r.rows) dbMax.set(key, Math.max(dbMax.get(key) ?? 0, n));
        await sleep(2);
      }
    })();

    const worker = async (w: number) => {
      while (ended < total) {
        const s = await drainWith(db, tasks, { batchSize: 8, concurrency: 4, workerName: `w${w}`, budgetMs: 60_000 });
        if (s.claimed === 0) await sleep(5);
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    sampling = false;
    await sampler;

    const handlerMax = maxOverlap(events);
    const lockMax = Math.max(...[...handlerMax].filter(([k]) => k.startsWith('L')).map(([, n]) => n));
    const concurrencyMax = handlerMax.get('C');
    const dbLockMax = Math.max(0, ...[...dbMax].filter(([k]) => k.startsWith('L')).map(([, n]) => n));
    console.log(
      `[${driver}] 16 drains, ${total} tasks: max handlers at once per lock_key ${lockMax}, on concurrency key C ${concurrencyMax}; ` +
        `sampled RUNNING rows per lock_key ${dbLockMax}, on C ${dbMax.get('C') ?? 0}`,
    );
    expect(lockMax).toBe(1);
    expect(concurrencyMax).toBeLessThanOrEqual(3);
    expect(dbLockMax).toBeLessThanOrEqual(1);
    expect(dbMax.get('C') ?? 0).toBeLessThanOrEqual(3);
    expect(events.length).toBe(2 * total);
    const done = await row<{ ok: number; other: number }>(
      db,
      `SELECT count(*) FILTER (WHERE status = 'SUCCESSFUL' AND attempts = 1)::int AS ok,
              count(*) FILTER (WHERE status <> 'SUCCESSFUL' OR attempts <> 1)::int AS other FROM task_runs`,
    );
    expect(done).toEqual({ ok: total, other: 0 });
  }, 300_000);
});
