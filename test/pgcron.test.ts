import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCron } from '../src/cron.ts';
import type { Db } from '../src/db/types.ts';
import { migrate } from '../src/migrate.ts';
import { installPgCron, PgCronUnavailableError, removePgCron } from '../src/pgcron.ts';
import type { JsonValue } from '../src/spec/canonical.ts';
import { goJsonb, goPeriodicSpecHash, RawJson } from '../src/spec/periodic.ts';
import { PG_CRON_FUNCTIONS } from '../src/sql/pgCronTick.ts';
import { NO_PG_CRON, openDb, pgCronAvailable, useTestDb } from './support/db.ts';
import { cli } from './support/cli.ts';
import { allowNulls, BAD_PERIODIC_ROWS, insertPeriodicRows, storedNextRunAt } from './support/periodic.ts';
import { needs } from './support/needs.ts';
import { row, waitFor } from './support/queue.ts';
import { ADMIN_URL, databaseUrl } from './support/urls.ts';

/** The database .ci/run names in `cron.database_name`: pg_cron runs jobs there only. */
const CRON_DB = 'reproq_pg_cron';

describe('pg_cron tick functions (plain Postgres, no pg_cron needed)', () => {
  const t = useTestDb('pg', 'task_runs, periodic_tasks');
  let db: Db;
  beforeAll(async () => {
    for (const sql of PG_CRON_FUNCTIONS) await t.db.query(sql);
  });
  beforeEach(() => {
    db = t.db;
  });

  // Expressions of upstream's dialect, built field by field.
  const field = (lo: number, hi: number, names: readonly string[] = []) => {
    const v = fc.oneof(fc.integer({ min: lo, max: hi }).map(String), ...(names.length ? [fc.constantFrom(...names)] : []));
    const item = fc.oneof(
      { weight: 3, arbitrary: fc.constant('*') },
      { weight: 3, arbitrary: v },
      fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.tuple(fc.constantFrom('*', '?', String(lo)), fc.integer({ min: 1, max: Math.max(1, hi - lo) })).map(([r, s]) => `${r}/${s}`),
    );
    return fc.array(item, { minLength: 1, maxLength: 3 }).map((xs) => (xs.includes('*') ? '*' : xs.join(',')));
  };
  const expression = fc
    .tuple(
      fc.constantFrom('', 'TZ=Asia/Kolkata ', 'CRON_TZ=America/Sao_Paulo ', 'TZ=UTC '),
      field(0, 59),
      field(0, 23),
      field(1, 28),
      field(1, 12, ['jan', 'JUN', 'dec']),
      field(0, 6, ['sun', 'Mon', 'sat']),
    )
    .map(([tz, ...f]) => tz + f.join(' '));
  const instant = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }).map((ms) => new Date(ms));

  it('reproq_cron_next agrees with the TS beat (cron-parser) on random expressions', async () => {
    const cases = fc.sample(fc.tuple(expression, instant), { numRuns: 1000, seed: 42 });
    const res = await db.query<{ next: Date | null }>(
      'SELECT reproq_cron_next(e, a) AS next FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS u(e, a, i) ORDER BY i',
      [cases.map(([e]) => e), cases.map(([, a]) => a.toISOString())],
    );
    const mismatches = cases
      .map(([e, a], i) => ({ e, a: a.toISOString(), sql: res.rows[i]!.next?.toISOString() ?? null, ts: parseCron(e).next(a).toISOString() }))
      .filter((c) => c.sql !== c.ts);
    expect(mismatches).toEqual([]);
  });

  it.each(['* * * *', '0 0 * * 7', '61 * * * *', '@daily', 'TZ=Mars/Olympus 0 0 * * *', '*/0 * * * *'])(
    'reproq_cron_next rejects %j as the TS parser does',
    async (expr) => {
      expect(() => parseCron(expr)).toThrow();
      await expect(db.query('SELECT reproq_cron_next($1, NOW())', [expr])).rejects.toThrow();
    },
  );

  it('reproq_go_json renders jsonb exactly as the Go beat bytes', async () => {
    const values = fc.sample(fc.jsonValue({ maxDepth: 3 }), { numRuns: 300, seed: 7 }) as JsonValue[];
    values.push({ html: '<a href="x">&</a>', sep: '\u2028\u2029', ctl: '\u0001\n\t', long_key: 1, k: [1.5, -0, 1e21] });
    const res = await db.query<{ text: string; go: string }>(
      'SELECT v::text AS text, reproq_go_json(v) AS go FROM unnest($1::jsonb[]) WITH ORDINALITY AS u(v, i) ORDER BY i',
      [values.map((v) => JSON.stringify(v).replaceAll('\\u0000', ''))],
    );
    for (const r of res.rows) expect(r.go).toBe(goJsonb(new RawJson(r.text)));
  });

  it('the tick enqueues like the TS beat (same spec_hash), advances, and leaves bad rows due', async () => {
    await db.query(
      `INSERT INTO periodic_tasks (name, cron_expr, task_path, payload_json, queue_name, max_attempts, next_run_at) VALUES
         ('good', '*/5 * * * *', 'tasks.tick', '{"args": [1, "<b>"], "kwargs": {"z": [null, true]}}', '', 0, NOW() - interval '1 minute'),
         ('bad_cron', '0 0 * * 7', 'tasks.tick', '{}', 'default', 3, NOW() - interval '1 minute'),
         ('bad_payload', '* * * * *', 'tasks.tick', '"text"', 'default', 3, NOW() - interval '1 minute')`,
    );
    const before = await row<{ next_run_at: Date }>(db, `SELECT next_run_at FROM periodic_tasks WHERE name = 'good'`);
    expect((await row<{ n: number }>(db, 'SELECT reproq_pg_cron_tick() AS n')).n).toBe(1);
    const run = await row<{ spec_hash: string; queue_name: string; max_attempts: number; run_after: Date }>(
      db,
      'SELECT spec_hash, queue_name, max_attempts, run_after FROM task_runs',
    );
    const expected = await goPeriodicSpecHash({
      taskPath: 'tasks.tick',
      args: new RawJson('[1, "<b>"]'),
      kwargs: new RawJson('{"z": [null, true]}'),
      queueName: '',
      priority: 0,
      concurrencyKey: null,
      concurrencyLimit: 0,
      periodicName: 'good',
      scheduledAt: new Date(before.next_run_at),
      maxAttempts: 0,
    });
    expect(run).toMatchObject({ spec_hash: expected, queue_name: 'default', max_attempts: 3, run_after: before.next_run_at });
    const tasks = await db.query<{ name: string; due: boolean; last_run_at: Date | null }>(
      'SELECT name, next_run_at <= NOW() AS due, last_run_at FROM periodic_tasks ORDER BY name',
    );
    expect(tasks.rows.map((t) => [t.name, t.due])).toEqual([
      ['bad_cron', true],
      ['bad_payload', true],
      ['good', false],
    ]);
    // A second tick finds nothing due but the bad rows, and enqueues nothing twice.
    expect((await row<{ n: number }>(db, 'SELECT reproq_pg_cron_tick() AS n')).n).toBe(0);
    expect((await row<{ n: number }>(db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(1);
  });

  /** Runs the tick on its own connection and returns its count and the WARNINGs it raised. */
  async function tick(): Promise<{ done: number; warnings: string[] }> {
    const client = new pg.Client({ connectionString: t.url });
    const warnings: string[] = [];
    client.on('notice', (n) => n.severity === 'WARNING' && warnings.push(n.message ?? ''));
    await client.connect();
    try {
      const res = await client.query<{ n: number }>('SELECT reproq_pg_cron_tick() AS n');
      return { done: res.rows[0]!.n, warnings };
    } finally {
      await client.end();
    }
  }

  it("the tick with one task_path = '' row among 500 due: 500 runs, and the row is left due with a warning", async () => {
    await insertPeriodicRows(db, 500, [BAD_PERIODIC_ROWS.find((b) => b.name === 'bad_task_path_empty')!]);
    const before = await storedNextRunAt(db);
    const r = await tick();
    expect(r.done).toBe(500);
    expect(r.warnings).toEqual(['reproq: periodic task bad_task_path_empty left due: task_path: is empty']);
    expect((await row<{ n: number }>(db, 'SELECT count(*)::int AS n FROM task_runs')).n).toBe(500);
    expect(await storedNextRunAt(db)).toEqual(before);
  });

  it(`the tick leaves each of ${BAD_PERIODIC_ROWS.length} kinds of bad row due, naming the column the TS beat names; the good rows all run`, async () => {
    await allowNulls(db);
    await insertPeriodicRows(db, 40, BAD_PERIODIC_ROWS);
    const before = await storedNextRunAt(db);
    const r = await tick();
    expect(r.done).toBe(40);
    const named = Object.fromEntries(
      r.warnings.map((w) => /^reproq: periodic task (\S+) left due: (\w+):/.exec(w)).map((m) => [m?.[1], m?.[2]]),
    );
    expect(named).toEqual(Object.fromEntries(BAD_PERIODIC_ROWS.map((b) => [b.name, b.field])));
    expect(await storedNextRunAt(db)).toEqual(before);
    expect((await row<{ n: number }>(db, `SELECT count(*)::int AS n FROM task_runs WHERE task_path = 'tasks.tick'`)).n).toBe(40);
  });
});

describe('pg-cron install, remove and availability', () => {
  const t = useTestDb('pg', 'task_runs');
  let db: Db;
  let url: string;
  let available = false;
  beforeAll(async () => {
    available = await pgCronAvailable();
  });
  beforeEach(() => {
    ({ db, url } = t);
  });

  it('fails clearly where pg_cron cannot be enabled, and --if-supported exits 0', async (ctx) => {
    needs(ctx, available, NO_PG_CRON);
    // pg_cron can only be created in cron.database_name, so in this database it cannot be enabled.
    const err = await installPgCron(db).catch((e) => e);
    expect(err).toBeInstanceOf(PgCronUnavailableError);
    const strict = await cli(['pg-cron', '--install'], url);
    expect(strict.code).toBe(1);
    expect(strict.err).toMatch(/could not enable pg_cron.*--if-supported/s);
    const lenient = await cli(['pg-cron', '--install', '--if-supported'], url);
    expect(lenient).toMatchObject({ code: 0 });
    expect(lenient.out).toMatch(/pg_cron unavailable; skipping/);
  });

  it('reports a server without the extension as not available', async () => {
    const noCron: Db = {
      driver: 'pg',
      close: async () => {},
      query: (async (text: string) =>
        ({ rows: [{ has_table: true, available: false, installed: null }], rowCount: 1 }) as never) as Db['query'],
    };
    await expect(installPgCron(noCron)).rejects.toMatchObject({ reason: 'not_available' });
  });

  it('--dry-run prints the SQL and changes nothing', async (ctx) => {
    needs(ctx, available, NO_PG_CRON);
    const r = await cli(['pg-cron', '--install', '--dry-run', '--prefix', 'dry'], url);
    expect(r.code).toBe(0);
    expect(r.out).toContain('CREATE OR REPLACE FUNCTION reproq_pg_cron_tick()');
    expect(r.out).toContain(`SELECT cron.schedule('dry_tick', '* * * * *', 'SELECT "public".reproq_pg_cron_tick()');`);
    expect((await row<{ n: number }>(db, `SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'reproq_pg_cron_tick'`)).n).toBe(0);
  });
});

describe('pg_cron for real (the cron.database_name database)', () => {
  let admin: pg.Client;
  let db: Db;
  let preloaded = false;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    const libs = await admin.query<{ v: string }>(`SELECT current_setting('shared_preload_libraries') AS v`);
    preloaded = libs.rows[0]!.v.split(',').map((s) => s.trim()).includes('pg_cron');
    if (!preloaded) return;
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [CRON_DB]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${CRON_DB}`);
    db = await openDb('pg', databaseUrl(CRON_DB));
    await migrate(db);
    await db.query('TRUNCATE task_runs, periodic_tasks RESTART IDENTITY');
  });
  afterAll(async () => {
    await db?.close();
    await admin?.end();
  });

  it('installs one tick job, which pg_cron runs to enqueue a due task, then removes it', { timeout: 150_000 }, async (ctx) => {
    needs(ctx, preloaded, `pg_cron is not in the server's shared_preload_libraries (.ci/run configures it)`);
    const installed = await installPgCron(db);
    expect(installed.jobName).toBe('reproq_periodic_tick');
    // Reinstalling replaces the job instead of adding a second one.
    const again = await installPgCron(db);
    expect(again.unscheduled.map((j) => j.jobname)).toEqual(['reproq_periodic_tick']);
    const jobs = await db.query<{ jobname: string; schedule: string; command: string }>('SELECT jobname, schedule, command FROM cron.job');
    expect(jobs.rows).toEqual([{ jobname: 'reproq_periodic_tick', schedule: '* * * * *', command: 'SELECT "public".reproq_pg_cron_tick()' }]);

    await db.query(
      `INSERT INTO periodic_tasks (name, cron_expr, task_path, payload_json, next_run_at)
       VALUES ('by_pg_cron', '* * * * *', 'tasks.tick', '{"args": [42]}', NOW() - interval '1 second')`,
    );
    // pg_cron fires at the top of the next minute.
    await waitFor(async () => (await row<{ n: number }>(db, 'SELECT count(*)::int AS n FROM task_runs')).n > 0, 125_000);
    const run = await row<{ spec_json: Record<string, unknown>; status: string }>(db, 'SELECT spec_json, status FROM task_runs');
    expect(run.spec_json).toMatchObject({ periodic_name: 'by_pg_cron', args: [42] });
    // pg_cron's launcher records the run in its own transaction, a moment after the job's.
    const lastRun = async () =>
      (
        await db.query<{ status: string; return_message: string }>(
          `SELECT d.status, d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid)
           WHERE j.jobname = 'reproq_periodic_tick' ORDER BY d.runid DESC LIMIT 1`,
        )
      ).rows[0];
    await waitFor(async () => (await lastRun())?.status === 'succeeded', 15_000);
    expect(await lastRun()).toMatchObject({ status: 'succeeded', return_message: 'SELECT 1' });
    const task = await row<{ future: boolean }>(db, `SELECT next_run_at > NOW() AS future FROM periodic_tasks`);
    expect(task.future).toBe(true);

    const removed = await removePgCron(db);
    expect(removed.unscheduled.map((j) => j.jobname)).toEqual(['reproq_periodic_tick']);
    expect((await row<{ n: number }>(db, 'SELECT count(*)::int AS n FROM cron.job')).n).toBe(0);
    expect((await row<{ n: number }>(db, `SELECT count(*)::int AS n FROM pg_proc WHERE proname LIKE 'reproq_%cron%' OR proname LIKE 'reproq_go_%'`)).n).toBe(0);
  });
});
