import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/types.ts';
import { useTestDb } from './support/db.ts';
import { cli } from './support/cli.ts';
import { row } from './support/queue.ts';

describe('reproq beat / schedule / reclaim', () => {
  const t = useTestDb('pg', 'task_runs, periodic_tasks, reproq_workers');
  let db: Db;
  let url: string;
  beforeEach(() => {
    ({ db, url } = t);
  });

  it('beat --once (and schedule) enqueue due tasks once, warning about another active beat', async () => {
    await db.query(`INSERT INTO periodic_tasks (name, cron_expr, task_path, next_run_at) VALUES ('p', '*/5 * * * *', 'tasks.p', NOW() - interval '1 minute')`);
    await db.query(`INSERT INTO reproq_workers (worker_id, last_seen_at) VALUES ('beat/elsewhere/1', NOW())`);
    const r = await cli(['beat', '--once', '--json'], url);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.trim())).toMatchObject({ due: 1, enqueued: 1, errors: [] });
    expect(r.err).toContain('Another beat is running against this database');
    expect(r.err).toContain('beat/elsewhere/1');
    const again = await cli(['schedule', '--json'], url);
    expect(JSON.parse(again.out.trim())).toMatchObject({ due: 0, enqueued: 0 });
    expect((await row<{ n: number }>(db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(1);
  });

  it('beat rejects bad flags with exit 2, naming the flag', async () => {
    const r = await cli(['beat', '--once', '--interval', '30'], url);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--interval');
    const m = await cli(['beat', '--once', '--misfire', 'sometimes'], url);
    expect(m.code).toBe(2);
    expect(m.err).toContain('--misfire');
  });

  it('reclaim --dry-run lists, then reclaim requeues', async () => {
    await db.query(
      `INSERT INTO task_runs (spec_json, spec_hash, task_path, status, attempts, leased_by, leased_until)
       VALUES ('{}', 'a', 'tasks.x', 'RUNNING', 1, 'w', NOW() - interval '10 minutes')`,
    );
    const dry = await cli(['reclaim', '--dry-run', '--older-than', '5m'], url);
    expect(dry).toMatchObject({ code: 0, out: 'Dry run: 1 task(s) match reclaim criteria.\n' });
    const none = await cli(['reclaim', '--older-than', '1h'], url);
    expect(none.out).toBe('No expired leases found.\n');
    const done = await cli(['reclaim', '--json'], url);
    expect(JSON.parse(done.out)).toMatchObject({ matched: 1, requeued: 1, failed: 0 });
    const bad = await cli(['reclaim', '--older-than', 'soon'], url);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--older-than');
  });
});
