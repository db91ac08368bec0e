import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LosslessNumber } from 'lossless-json';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import type { Db } from '../src/db/types.ts';
import { drain } from '../src/drain.ts';
import { enqueue } from '../src/enqueue.ts';
import { silentLogger } from '../src/logger.ts';
import { defineTask, TaskRegistry } from '../src/tasks/registry.ts';
import { collectMetrics, renderPrometheus } from '../src/metrics/index.ts';
import { UNCLAIMABLE_TASKS, UNKNOWN_STATUS } from '../src/sql/unclaimableTasks.ts';
import * as tasks from './fixtures/poison-tasks.ts';
import { cli, reproq } from './support/cli.ts';
import { QUEUE_DRIVERS, useTestDb } from './support/db.ts';
import { drainWith, row, waitFor } from './support/queue.ts';

/**
 * The poison matrix: each kind of bad row (as Django, Go or a human with psql may write it, inserted
 * with raw SQL) stands alone in front of good rows, and is drained by drain() and by a real
 * `reproq worker`. Every good row must succeed on its first attempt, neither the drain nor the
 * worker may throw or stall, and the bad row must end as specified: FAILED with a recorded reason,
 * run as written, or left alone and reported as unclaimable.
 */

const TASKS = Object.values(tasks);
const GOOD_PER_KIND = 20;
const TASKS_FILE = fileURLToPath(new URL('./fixtures/poison-tasks.ts', import.meta.url));

interface BadRow {
  status: string;
  attempts: number;
  last_error: string | null;
  errors_json: Record<string, any>[] | unknown;
  return_text: string | null;
}

type Unclaimable = 'unknown_status' | 'no_task_path' | 'attempts_overflow';

interface Kind {
  name: string;
  /** Column values of the bad row, as SQL expressions (the rest as a plain good row). */
  cols?: Record<string, string>;
  /** Written as a legacy row: with the task_path trigger and check constraint out of the way. */
  legacy?: boolean;
  /** The status the bad row must reach (or keep). */
  status: string;
  /** More about the bad row once it is there. */
  check?: (r: BadRow) => void;
  /** Reported by doctor and the metrics under this reason. */
  unclaimable?: Unclaimable;
}

const spec = (o: unknown) => `'${JSON.stringify(o).replaceAll("'", "''")}'::jsonb`;
const hostile = (what: string): Record<string, string> => ({
  task_path: `'poison.hostile'`,
  spec_json: spec({ task_path: 'poison.hostile', args: [what], kwargs: {} }),
  max_attempts: '1',
});
const invalidSpec = (message: RegExp) => (r: BadRow) => {
  expect(r.errors_json).toEqual([expect.objectContaining({ kind: 'invalid_spec', message: expect.stringMatching(message) })]);
  expect(r.last_error).toMatch(message);
};
const appError = (message: RegExp, exceptionClass?: string) => (r: BadRow) => {
  const entries = r.errors_json as Record<string, any>[];
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({ kind: 'app_error', attempt: 1, message: expect.stringMatching(message) });
  if (exceptionClass) expect(entries[0]!.exception_class).toBe(exceptionClass);
};
const returns = (text: string) => (r: BadRow) => expect(r.return_text).toBe(text);

const KINDS: Kind[] = [
  // spec_json that is not an object, and missing or wrong-typed keys.
  { name: 'spec_json JSON null (Django None)', cols: { spec_json: `'null'::jsonb` }, status: 'FAILED', check: invalidSpec(/spec_json is not a JSON object \(got null\)/) },
  { name: 'spec_json a list', cols: { spec_json: `'[1,2]'::jsonb` }, status: 'FAILED', check: invalidSpec(/not a JSON object \(got a list\)/) },
  { name: 'spec_json a string', cols: { spec_json: `'"poison.good"'::jsonb` }, status: 'FAILED', check: invalidSpec(/not a JSON object \(got a string\)/) },
  { name: 'spec_json a number', cols: { spec_json: `'42'::jsonb` }, status: 'FAILED', check: invalidSpec(/not a JSON object \(got a number\)/) },
  { name: 'spec_json {} (no task_path, args or kwargs)', cols: { spec_json: `'{}'::jsonb` }, status: 'SUCCESSFUL', check: returns('"ok"') },
  { name: 'args an object', cols: { spec_json: spec({ task_path: 'poison.good', args: { a: 1 } }) }, status: 'FAILED', check: invalidSpec(/args is not a list \(got an object\)/) },
  { name: 'args a string', cols: { spec_json: spec({ task_path: 'poison.good', args: 'abc' }) }, status: 'FAILED', check: invalidSpec(/args is not a list \(got a string\)/) },
  { name: 'kwargs a list', cols: { spec_json: spec({ task_path: 'poison.good', args: [], kwargs: [1] }) }, status: 'FAILED', check: invalidSpec(/kwargs is not an object \(got a list\)/) },
  { name: 'kwargs a number', cols: { spec_json: spec({ task_path: 'poison.good', kwargs: 5 }) }, status: 'FAILED', check: invalidSpec(/kwargs is not an object \(got a number\)/) },
  { name: 'args and kwargs JSON null', cols: { spec_json: spec({ task_path: 'poison.good', args: null, kwargs: null }) }, status: 'SUCCESSFUL', check: returns('"ok"') },
  { name: 'spec task_path a number (the column wins)', cols: { spec_json: spec({ task_path: 7, args: ['col'] }) }, status: 'SUCCESSFUL', check: returns('"col"') },
  { name: 'args not matching the task schema', cols: { task_path: `'poison.typed'`, spec_json: spec({ task_path: 'poison.typed', args: ['x'] }) }, status: 'FAILED', check: invalidSpec(/args do not match poison.typed/) },
  { name: 'unknown task path (unknown tasks = fail)', cols: { task_path: `'poison.nobody'`, spec_json: spec({ task_path: 'poison.nobody' }) }, status: 'FAILED', check: invalidSpec(/unknown task path: poison.nobody/) },
  // Numbers other clients write.
  { name: 'kwargs integer beyond 2^53', cols: { spec_json: `'{"task_path":"poison.good","args":[],"kwargs":{"big":9007199254740993}}'::jsonb` }, status: 'FAILED', check: invalidSpec(/kwargs\.big \(9007199254740993: truncate_integer\)/) },
  { name: 'args integer beyond 2^53', cols: { spec_json: `'{"task_path":"poison.good","args":[-18446744073709551617]}'::jsonb` }, status: 'FAILED', check: invalidSpec(/args\[0\] \(-18446744073709551617/) },
  { name: 'number beyond a double (1e400)', cols: { spec_json: `'{"task_path":"poison.good","args":[1e400]}'::jsonb` }, status: 'FAILED', check: invalidSpec(/args\[0\]/) },
  { name: 'decimal with more digits than a double keeps', cols: { spec_json: `'{"task_path":"poison.good","args":[0.10000000000000001]}'::jsonb` }, status: 'FAILED', check: invalidSpec(/args\[0\] \(0.10000000000000001: truncate_float\)/) },
  { name: 'underflowing decimal (1e-400)', cols: { spec_json: `'{"task_path":"poison.good","args":[1e-400]}'::jsonb` }, status: 'FAILED', check: invalidSpec(/underflow/) },
  { name: 'Python float 1.0 (same double as 1)', cols: { spec_json: `'{"task_path":"poison.good","args":[1.0]}'::jsonb` }, status: 'SUCCESSFUL', check: returns('1') },
  { name: 'a 16-digit string is not a number', cols: { spec_json: spec({ task_path: 'poison.good', args: ['9007199254740993'] }) }, status: 'SUCCESSFUL', check: returns('"9007199254740993"') },
  {
    name: 'lossless task: big integer and 1.0 kept exactly',
    cols: { task_path: `'poison.exact'`, spec_json: `'{"task_path":"poison.exact","kwargs":{"big":9007199254740993,"f":1.0,"d":0.10000000000000001}}'::jsonb` },
    status: 'SUCCESSFUL',
    check: returns('{"d": 0.10000000000000001, "f": 1.0, "big": 9007199254740993}'),
  },
  // Rows no claim can take: left READY, reported.
  { name: 'NULL task_path (legacy row)', legacy: true, cols: { task_path: 'NULL', spec_json: spec({ args: [] }) }, status: 'READY', unclaimable: 'no_task_path' },
  { name: "empty task_path '' (legacy row)", legacy: true, cols: { task_path: `''`, spec_json: spec({ args: [] }) }, status: 'READY', unclaimable: 'no_task_path' },
  { name: 'attempts = 2147483647', cols: { attempts: '2147483647' }, status: 'READY', unclaimable: 'attempts_overflow' },
  { name: "lowercase status 'ready'", cols: { status: `'ready'` }, status: 'ready', unclaimable: 'unknown_status' },
  { name: "padded status ' READY'", cols: { status: `' READY'` }, status: ' READY', unclaimable: 'unknown_status' },
  { name: "padded status 'READY '", cols: { status: `'READY '` }, status: 'READY ', unclaimable: 'unknown_status' },
  // Out-of-range integers that can run.
  { name: 'attempts = -2147483648', cols: { attempts: '-2147483648' }, status: 'SUCCESSFUL' },
  { name: 'max_attempts = 0', cols: { max_attempts: '0' }, status: 'SUCCESSFUL' },
  { name: 'max_attempts = -2147483648 with a failing handler', cols: { ...hostile('throw-symbol'), max_attempts: '-2147483648' }, status: 'FAILED', check: appError(/Symbol\(sym\)/, 'symbol') },
  { name: 'max_attempts = 2147483647', cols: { max_attempts: '2147483647' }, status: 'SUCCESSFUL' },
  { name: 'priority = 2147483647', cols: { priority: '2147483647' }, status: 'SUCCESSFUL' },
  { name: 'priority = -2147483648', cols: { priority: '-2147483648' }, status: 'SUCCESSFUL' },
  { name: 'timeout_seconds = 2147483647 (beyond a JS timer)', cols: { timeout_seconds: '2147483647' }, status: 'SUCCESSFUL' },
  { name: 'timeout_seconds = 2147484 (just beyond a JS timer)', cols: { timeout_seconds: '2147484' }, status: 'SUCCESSFUL' },
  { name: 'timeout_seconds = 0', cols: { timeout_seconds: '0' }, status: 'FAILED', check: invalidSpec(/timeout_seconds must be at least 1 \(got 0\)/) },
  { name: 'timeout_seconds = -2147483648', cols: { timeout_seconds: '-2147483648' }, status: 'FAILED', check: invalidSpec(/timeout_seconds must be at least 1/) },
  { name: 'concurrency_limit = -1 with a key', cols: { concurrency_key: `'k'`, concurrency_limit: '-1' }, status: 'SUCCESSFUL' },
  { name: 'concurrency_limit = 2147483647', cols: { concurrency_key: `'k'`, concurrency_limit: '2147483647' }, status: 'SUCCESSFUL' },
  { name: "lock_key ''", cols: { lock_key: `''` }, status: 'SUCCESSFUL' },
  { name: 'wait_count = -2147483648 on a READY row', cols: { wait_count: '-2147483648' }, status: 'SUCCESSFUL' },
  // Times.
  { name: 'run_after NULL', cols: { run_after: 'NULL' }, status: 'SUCCESSFUL' },
  { name: 'run_after far in the future', cols: { run_after: `'9999-12-31T00:00:00Z'` }, status: 'READY' },
  { name: "run_after 'infinity'", cols: { run_after: `'infinity'` }, status: 'READY' },
  { name: "run_after '-infinity'", cols: { run_after: `'-infinity'` }, status: 'SUCCESSFUL' },
  { name: "enqueued_at '-infinity'", cols: { enqueued_at: `'-infinity'` }, status: 'SUCCESSFUL' },
  { name: "enqueued_at 'infinity'", cols: { enqueued_at: `'infinity'` }, status: 'SUCCESSFUL' },
  // NULLs in every nullable column (0001: all but task_path, which has its own kinds above).
  {
    name: 'NULL in every nullable column',
    cols: Object.fromEntries(
      ['run_after', 'started_at', 'last_attempted_at', 'finished_at', 'lock_key', 'concurrency_key', 'return_json', 'last_error', 'failed_at',
        'leased_until', 'leased_by', 'logs_uri', 'artifacts_uri', 'expires_at', 'parent_id', 'workflow_id'].map((c) => [c, 'NULL']),
    ),
    status: 'SUCCESSFUL',
  },
  // Odd values in the other jsonb columns.
  { name: 'worker_ids a JSON object', cols: { worker_ids: `'{"a":1}'::jsonb` }, status: 'SUCCESSFUL' },
  { name: 'worker_ids JSON null', cols: { worker_ids: `'null'::jsonb` }, status: 'SUCCESSFUL' },
  { name: 'metadata_json a string', cols: { metadata_json: `'"meta"'::jsonb` }, status: 'SUCCESSFUL' },
  {
    name: 'errors_json a JSON object, with a failing handler',
    cols: { ...hostile('throw-nul'), errors_json: `'{"old":true}'::jsonb` },
    status: 'FAILED',
    check: (r) => expect(r.errors_json).toEqual([{ old: true }, expect.objectContaining({ kind: 'app_error' })]),
  },
  { name: 'workflow_id and parent_id of rows that do not exist', cols: { workflow_id: `'00000000-0000-4000-8000-000000000001'`, parent_id: 'NULL' }, status: 'SUCCESSFUL' },
  { name: 'leased_by and leased_until left on a READY row', cols: { leased_by: `'ghost/1'`, leased_until: `now() + interval '1 day'` }, status: 'SUCCESSFUL' },
  { name: 'cancel_requested on a READY row', cols: { cancel_requested: 'true' }, status: 'FAILED', check: (r) => expect(r.last_error).toBe('Task cancelled by request') },
  // Huge args.
  { name: 'huge args: an 8 MB string', cols: { task_path: `'poison.size'`, spec_json: `jsonb_build_object('task_path', 'poison.size', 'args', jsonb_build_array(repeat('x', 8 * 1024 * 1024)))` }, status: 'SUCCESSFUL', check: returns(String(8 * 1024 * 1024 + 4)) },
  { name: 'huge args: 200,000 numbers', cols: { task_path: `'poison.size'`, spec_json: `jsonb_build_object('task_path', 'poison.size', 'args', (SELECT jsonb_agg(g) FROM generate_series(1, 200000) g))` }, status: 'SUCCESSFUL' },
  { name: 'deeply nested args (depth 2,000)', cols: { spec_json: `jsonb_build_object('task_path', 'poison.good', 'args', jsonb_build_array((repeat('[', 2000) || repeat(']', 2000))::jsonb, 'deep'))` }, status: 'SUCCESSFUL' },
  // Handlers that throw or return what nobody expects.
  { name: 'handler throws Object.create(null) with a field', cols: hostile('throw-null-proto'), status: 'FAILED', check: appError(/^\{"code":7\}$/, 'object') },
  { name: 'handler throws a bare Object.create(null)', cols: hostile('throw-bare-null-proto'), status: 'FAILED', check: appError(/an object with no message/, 'object') },
  { name: 'handler throws an object whose toString and toJSON throw', cols: hostile('throw-toString-throws'), status: 'FAILED', check: appError(/cannot be described|no message/, 'object') },
  { name: 'handler throws a Symbol', cols: hostile('throw-symbol'), status: 'FAILED', check: appError(/^Symbol\(sym\)$/, 'symbol') },
  { name: 'handler throws a Proxy whose traps throw', cols: hostile('throw-proxy'), status: 'FAILED', check: appError(/cannot be described/, 'object') },
  { name: 'handler throws an Error whose message/stack/name getters throw', cols: hostile('throw-getters'), status: 'FAILED', check: appError(/message cannot be read/, 'GetterError') },
  { name: 'handler throws undefined', cols: hostile('throw-undefined'), status: 'FAILED', check: appError(/^undefined$/, 'undefined') },
  { name: 'handler returns a bigint (strict numbers)', cols: hostile('return-bigint'), status: 'FAILED', check: appError(/cannot be serialised to JSON/, 'TypeError') },
  // Resolving the handler's promise with it reads its `then`, and that trap throws.
  { name: 'handler returns a Proxy whose traps throw', cols: hostile('return-proxy'), status: 'FAILED', check: appError(/get trap/, 'Error') },
  { name: 'handler returns a cyclic object', cols: hostile('return-cyclic'), status: 'FAILED', check: appError(/cannot be serialised to JSON/, 'TypeError') },
];

const BAD_DEFAULTS: Record<string, string> = {
  task_path: `'poison.good'`,
  spec_json: spec({ task_path: 'poison.good', args: ['bad'], kwargs: {} }),
  spec_hash: 'md5(random()::text) || md5(random()::text)',
  // In front of the good rows.
  enqueued_at: `now() - interval '1 hour'`,
};

/** The bad row and GOOD_PER_KIND good rows, in one statement (a claim sees all of them or none). */
async function insertKind(db: Db, kind: Kind): Promise<{ bad: number; good: number[] }> {
  const cols = { ...BAD_DEFAULTS, ...kind.cols };
  const text = `
    WITH bad AS (
      INSERT INTO task_runs (${Object.keys(cols).join(', ')}) VALUES (${Object.values(cols).join(', ')}) RETURNING result_id),
    good AS (
      INSERT INTO task_runs (task_path, spec_json, spec_hash)
      SELECT 'poison.good', jsonb_build_object('task_path', 'poison.good', 'args', jsonb_build_array(g), 'kwargs', '{}'::jsonb),
             md5(random()::text) || md5(random()::text)
      FROM generate_series(1, ${GOOD_PER_KIND}) g RETURNING result_id)
    SELECT (SELECT result_id FROM bad) AS bad, (SELECT array_agg(result_id ORDER BY result_id) FROM good) AS good`;
  const insert = async (tx: Db) => (await tx.query<{ bad: string; good: string[] }>(text)).rows[0]!;
  const r = kind.legacy
    ? await db.transaction!(async (tx) => {
        // A row from before the task_path guard existed: the constraint is NOT VALID, so it stays.
        await tx.query('ALTER TABLE task_runs DROP CONSTRAINT task_runs_task_path_not_empty');
        await tx.query('ALTER TABLE task_runs DISABLE TRIGGER trg_task_runs_task_path');
        const inserted = await insert(tx);
        await tx.query('ALTER TABLE task_runs ENABLE TRIGGER trg_task_runs_task_path');
        await tx.query(`ALTER TABLE task_runs ADD CONSTRAINT task_runs_task_path_not_empty CHECK (task_path IS NOT NULL AND task_path <> '') NOT VALID`);
        return inserted;
      })
    : await insert(db);
  return { bad: Number(r.bad), good: r.good.map(Number) };
}

const readBad = (db: Db, id: number) =>
  row<BadRow>(db, 'SELECT status, attempts, last_error, errors_json, return_json::text AS return_text FROM task_runs WHERE result_id = $1', [id]);

async function goodDone(db: Db, ids: number[]): Promise<{ done: number; firstAttempt: number }> {
  return row(db, `SELECT count(*) FILTER (WHERE status = 'SUCCESSFUL')::int AS done, count(*) FILTER (WHERE status = 'SUCCESSFUL' AND attempts = 1)::int AS "firstAttempt" FROM task_runs WHERE result_id = ANY($1)`, [ids]);
}

async function expectBad(db: Db, kind: Kind, id: number): Promise<void> {
  const r = await readBad(db, id);
  expect(r.status, kind.name).toBe(kind.status);
  if (kind.status !== 'SUCCESSFUL' && kind.status !== 'FAILED') expect(r.attempts, kind.name).toBe(kind.cols?.attempts ? Number(kind.cols.attempts) : 0);
  kind.check?.(r);
  if (kind.unclaimable) {
    const report = await db.query<{ reason: string; n: number; rows: { result_id: number }[] }>(UNCLAIMABLE_TASKS, [10]);
    expect(report.rows).toEqual([expect.objectContaining({ reason: kind.unclaimable, n: 1, rows: [expect.objectContaining({ result_id: id })] })]);
    const metrics = await collectMetrics(db);
    expect(metrics.unclaimable[kind.unclaimable]).toBe(1);
  }
}

const facts: string[] = [];
afterAll(() => console.log(facts.join('\n')));

describe.each(QUEUE_DRIVERS)('poison matrix on %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, reproq_workers, workflow_runs');
  let completed = 0;
  let enqueued = 0;
  afterAll(() => {
    if (enqueued > 0) facts.push(`poison matrix, drain() on ${driver}: ${KINDS.length} kinds of bad row, ${completed} of ${enqueued} good rows completed on their first attempt`);
  });

  it.each(KINDS)('drain(): $name', async (kind) => {
    const { bad, good } = await insertKind(t.db, kind);
    enqueued += good.length;
    const summary = await drainWith(t.db, TASKS, { unknownTasks: 'fail' });
    expect(summary.stoppedBecause).toBe('empty');
    const g = await goodDone(t.db, good);
    completed += g.firstAttempt;
    expect(g).toEqual({ done: GOOD_PER_KIND, firstAttempt: GOOD_PER_KIND });
    await expectBad(t.db, kind, bad);
    // The drain leaves nothing of its own behind.
    expect(await row(t.db, `SELECT count(*)::int AS n FROM task_runs WHERE status = 'RUNNING'`)).toEqual({ n: 0 });
  });

  it('reproq worker: every kind in turn in front of good rows; the worker neither exits nor stalls', async () => {
    const proxy = `127.0.0.1:${inject('wsProxyPort')}`;
    // An idle worker polls at most every 200 ms, so each kind is picked up promptly.
    const dir = mkdtempSync(path.join(tmpdir(), 'reproq-poison-'));
    writeFileSync(path.join(dir, 'reproq.yaml'), 'worker:\n  poll_max_backoff: 200ms\n');
    const worker = reproq(
      ['worker', '--tasks', TASKS_FILE, '--dsn', t.url, '--driver', driver, '--ws-proxy', proxy, '--unknown-tasks', 'fail',
        '--allowed-task-modules', 'poison.', '--reclaim-interval-seconds', '0'],
      { cwd: dir },
    );
    let exited = false;
    void worker.then(() => (exited = true));
    await worker.waitFor(/ready: queues default/);
    let workerCompleted = 0;
    let workerEnqueued = 0;
    try {
      for (const kind of KINDS) {
        const { bad, good } = await insertKind(t.db, kind);
        workerEnqueued += good.length;
        await waitFor(async () => exited || ((await goodDone(t.db, good)).done === GOOD_PER_KIND && (await readBad(t.db, bad)).status === kind.status), 30_000);
        expect(exited, `worker exited at ${kind.name}`).toBe(false);
        workerCompleted += (await goodDone(t.db, good)).firstAttempt;
        await expectBad(t.db, kind, bad);
        // Unclaimable rows stay; clear them so the next kind's report stands alone.
        await t.db.query(`DELETE FROM task_runs WHERE result_id = $1 AND status <> 'SUCCESSFUL' AND status <> 'FAILED'`, [bad]);
      }
    } finally {
      worker.kill('SIGTERM');
    }
    const result = await worker;
    expect(result.code).toBe(0);
    expect(workerCompleted).toBe(workerEnqueued);
    facts.push(`poison matrix, reproq worker on ${driver}: ${KINDS.length} kinds of bad row, ${workerCompleted} of ${workerEnqueued} good rows completed on their first attempt`);
  }, 600_000);
});

/** One offender among batch-mates: every mate must succeed on its first attempt. */
async function batchWithOffender(db: Db, what: string, mates = 9) {
  const enqueue = (args: unknown[], taskPath = 'poison.good') =>
    row<{ id: string }>(db, `INSERT INTO task_runs (task_path, spec_json, spec_hash) VALUES ($1, $2, md5(random()::text) || md5(random()::text)) RETURNING result_id AS id`, [
      taskPath,
      JSON.stringify({ task_path: taskPath, args, kwargs: {} }),
    ]);
  const offender = Number((await enqueue([what], 'poison.hostile')).id);
  const good = await Promise.all(Array.from({ length: mates }, (_, i) => enqueue([i]).then((r) => Number(r.id))));
  const summary = await drainWith(db, TASKS, { batchSize: 100 });
  return { offender, good, summary };
}

describe.each(QUEUE_DRIVERS)('outcomes PostgreSQL refuses, on %s', (driver) => {
  const t = useTestDb(driver, 'task_runs, reproq_workers, workflow_runs');
  const offenderRow = (id: number) =>
    row<{ status: string; attempts: number; return_text: string | null; errors_json: Record<string, any>[]; size: number }>(
      t.db,
      'SELECT status, attempts, return_json::text AS return_text, errors_json, pg_column_size(errors_json) AS size FROM task_runs WHERE result_id = $1',
      [id],
    );

  async function expectMatesFirstAttempt(good: number[], summary: Awaited<ReturnType<typeof drainWith>>) {
    expect(summary.stoppedBecause).toBe('empty');
    expect(await goodDone(t.db, good)).toEqual({ done: good.length, firstAttempt: good.length });
  }

  it('a result holding U+0000 (in a value and a key): stored with U+FFFD, still a success, the change recorded', async () => {
    const { offender, good, summary } = await batchWithOffender(t.db, 'return-nul');
    await expectMatesFirstAttempt(good, summary);
    const r = await offenderRow(offender);
    expect(r).toMatchObject({ status: 'SUCCESSFUL', attempts: 1 });
    expect(JSON.parse(r.return_text!)).toEqual({ text: 'nul\uFFFDhere', 'key\uFFFD': 1 });
    expect(r.errors_json).toEqual([expect.objectContaining({ kind: 'result_altered', attempt: 1, message: 'return value altered to be storable: 2 U+0000 or lone surrogate(s) replaced by U+FFFD' })]);
    expect(summary.succeeded).toBe(good.length + 1);
  });

  it('a result holding a lone surrogate: replaced, the surrogate pair beside it kept', async () => {
    const { offender, good, summary } = await batchWithOffender(t.db, 'return-surrogate');
    await expectMatesFirstAttempt(good, summary);
    const r = await offenderRow(offender);
    expect(r.status).toBe('SUCCESSFUL');
    expect(JSON.parse(r.return_text!)).toEqual(['\uFFFD lone low', 'pair 😀 kept']);
    expect(r.errors_json[0]).toMatchObject({ kind: 'result_altered', message: expect.stringMatching(/^return value altered to be storable: 1 /) });
  });

  it.each([
    ['U+0000', 'throw-nul', 'nul\uFFFDin message', 'Error'],
    ['a lone surrogate', 'throw-surrogate', 'lone \uFFFD surrogate', 'TypeError'],
  ])('an error message holding %s: the retry is recorded with U+FFFD and says what changed', async (_, what, message, cls) => {
    const { offender, good, summary } = await batchWithOffender(t.db, what);
    await expectMatesFirstAttempt(good, summary);
    const r = await offenderRow(offender);
    expect(r).toMatchObject({ status: 'READY', attempts: 1 });
    expect(r.errors_json).toEqual([
      expect.objectContaining({
        kind: 'app_error',
        exception_class: cls,
        message,
        traceback: expect.stringContaining(message),
        altered: ['message: U+0000 or lone surrogates replaced by U+FFFD', 'traceback: U+0000 or lone surrogates replaced by U+FFFD'],
      }),
    ]);
    expect(summary.retried).toBe(1);
  });

  it('a 5 MB error message: the entry is capped (8 KiB message, 32 KiB traceback) and says so', async () => {
    const { offender, good, summary } = await batchWithOffender(t.db, 'throw-5mb');
    await expectMatesFirstAttempt(good, summary);
    const r = await offenderRow(offender);
    expect(r.status).toBe('READY');
    const e = r.errors_json[0]!;
    expect(e.message).toBe('x'.repeat(8192));
    expect(new TextEncoder().encode(e.traceback).byteLength).toBeLessThanOrEqual(32 * 1024);
    expect(e.altered).toEqual(['message: cut to 8192 of 5242880 bytes', expect.stringMatching(/^traceback: cut to \d+ of \d+ bytes$/)]);
    expect(r.size).toBeLessThan(64 * 1024);
  });

  it('a null-prototype throw: an app_error naming what was thrown', async () => {
    const { offender, good, summary } = await batchWithOffender(t.db, 'throw-null-proto');
    await expectMatesFirstAttempt(good, summary);
    const r = await offenderRow(offender);
    expect(r).toMatchObject({ status: 'READY', attempts: 1 });
    expect(r.errors_json).toEqual([expect.objectContaining({ kind: 'app_error', exception_class: 'object', message: '{"code":7}', traceback: '' })]);
  });

  it('a lossless task: enqueue checks its schema against LosslessNumbers, and the handler gets and returns them exactly', async () => {
    const exactSum = defineTask({
      path: 'poison.exact_sum',
      numbers: 'lossless',
      kwargs: z.object({ a: z.instanceof(LosslessNumber), b: z.instanceof(LosslessNumber) }),
      handler: ({ kwargs }) => ({ sum: BigInt(kwargs.a.toString()) + BigInt(kwargs.b.toString()), a: kwargs.a }),
    });
    const registry = new TaskRegistry([exactSum]);
    const { resultId } = await enqueue(t.db, { taskPath: exactSum.path, kwargs: { a: 2, b: 3 } }, { registry });
    await expect(enqueue(t.db, { taskPath: exactSum.path, kwargs: { a: 'x', b: 3 } }, { registry })).rejects.toThrow(/kwargs\.a/);
    // A Django row the drain reads exactly.
    await t.db.query(`UPDATE task_runs SET spec_json = jsonb_set(spec_json, '{kwargs,a}', '9007199254740993') WHERE result_id = $1`, [resultId]);
    const summary = await drain({ db: t.db, registry, logger: silentLogger }, { allowedTaskModules: ['*'] });
    expect(summary.succeeded).toBe(1);
    expect((await offenderRow(resultId)).return_text).toBe('{"a": 9007199254740993, "sum": 9007199254740996}');
  });

  it('a log sink that returns a URI PostgreSQL cannot store costs the URI, not the outcome', async () => {
    const id = Number((await row<{ id: string }>(t.db, `INSERT INTO task_runs (task_path, spec_json, spec_hash) VALUES ('poison.logs', '{"args":[1]}', md5(random()::text)) RETURNING result_id AS id`)).id);
    const logs = defineTask({ path: 'poison.logs', handler: (_, ctx) => ctx.log.info('a line') });
    let sunk = 0;
    const logSink = async () => (sunk++, 'file:///tmp/a\0b');
    const summary = await drain({ db: t.db, registry: new TaskRegistry([logs]), logger: silentLogger, logSink }, { allowedTaskModules: ['*'] });
    expect(sunk).toBe(1);
    expect(summary).toMatchObject({ succeeded: 1, stoppedBecause: 'empty' });
    expect(await row(t.db, 'SELECT status, logs_uri FROM task_runs WHERE result_id = $1', [id])).toEqual({ status: 'SUCCESSFUL', logs_uri: null });
  });

  it('an outcome the database still refuses is isolated: the others get their true outcome, the offenders a recorded refusal', async () => {
    // A rule of the user's own schema that our outcome cannot know about.
    await t.db.query(`ALTER TABLE task_runs ADD CONSTRAINT no_refusals CHECK (return_json IS DISTINCT FROM '"refuse me"'::jsonb)`);
    try {
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) {
        const arg = i === 3 || i === 15 ? 'refuse me' : i;
        ids.push(Number((await row<{ id: string }>(t.db, `INSERT INTO task_runs (task_path, spec_json, spec_hash) VALUES ('poison.good', $1, md5(random()::text) || md5(random()::text)) RETURNING result_id AS id`, [JSON.stringify({ task_path: 'poison.good', args: [arg] })])).id));
      }
      const summary = await drainWith(t.db, TASKS, { batchSize: 100 });
      expect(summary).toMatchObject({ stoppedBecause: 'empty', claimed: 20, succeeded: 18, failed: 2, lostLease: 0 });
      const offenders = [ids[3]!, ids[15]!];
      const mates = ids.filter((id) => !offenders.includes(id));
      expect(await goodDone(t.db, mates)).toEqual({ done: 18, firstAttempt: 18 });
      for (const id of offenders) {
        const r = await offenderRow(id);
        expect(r).toMatchObject({ status: 'FAILED', attempts: 1, return_text: null });
        expect(r.errors_json).toEqual([
          expect.objectContaining({
            kind: 'outcome_refused',
            sqlstate: '23514',
            message: expect.stringMatching(/^the database refused to record this task's success outcome: .*no_refusals/),
          }),
        ]);
      }
      facts.push(`isolation on ${driver}: 2 refused outcomes among 20 found in ${summary.roundTrips} statements in all`);
    } finally {
      await t.db.query('ALTER TABLE task_runs DROP CONSTRAINT no_refusals');
    }
  });

  it.each([
    ['22023', 'data'],
    ['40001', 'transient'],
  ])('a claim that fails with SQLSTATE %s stops the drain as a %s error, after recording the outcomes it holds', async (code, kind) => {
    await t.db.query(`
      CREATE FUNCTION refuse_trap() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION USING ERRCODE = '${code}', MESSAGE = 'trap row refused'; END $$`);
    await t.db.query(`
      CREATE TRIGGER refuse_trap BEFORE UPDATE ON task_runs FOR EACH ROW
        WHEN (OLD.status = 'READY' AND NEW.status = 'RUNNING' AND NEW.spec_json -> 'args' ->> 0 = 'trap') EXECUTE FUNCTION refuse_trap()`);
    try {
      const insert = (arg: unknown, age: number) =>
        t.db.query(`INSERT INTO task_runs (task_path, spec_json, spec_hash, enqueued_at) VALUES ('poison.good', $1, md5(random()::text) || md5(random()::text), now() - make_interval(secs => $2))`, [
          JSON.stringify({ task_path: 'poison.good', args: [arg] }),
          age,
        ]);
      for (let i = 0; i < 5; i++) await insert(i, 100 - i);
      await insert('trap', 1);
      const summary = await drainWith(t.db, TASKS, { batchSize: 5 });
      expect(summary).toMatchObject({ stoppedBecause: 'db_error', errorKind: kind, error: 'trap row refused', succeeded: 5 });
      expect(await row(t.db, `SELECT count(*) FILTER (WHERE status = 'SUCCESSFUL')::int AS ok, count(*) FILTER (WHERE status = 'READY')::int AS ready, count(*) FILTER (WHERE status = 'RUNNING')::int AS running FROM task_runs`)).toEqual({ ok: 5, ready: 1, running: 0 });
    } finally {
      await t.db.query('DROP TRIGGER refuse_trap ON task_runs');
      await t.db.query('DROP FUNCTION refuse_trap()');
    }
  });

  it('a step that is wrong for the schema stops as a program error at once, not as an outage', async () => {
    await row(t.db, `INSERT INTO task_runs (task_path, spec_json, spec_hash) VALUES ('poison.good', '{"args":[1]}', md5(random()::text) || md5(random()::text)) RETURNING 1`);
    await t.db.query('ALTER TABLE reproq_queue_controls RENAME TO reproq_queue_controls_gone');
    try {
      const summary = await drainWith(t.db, TASKS);
      expect(summary).toMatchObject({ stoppedBecause: 'db_error', errorKind: 'program', roundTrips: 1 });
      expect(summary.error).toMatch(/reproq_queue_controls/);
    } finally {
      await t.db.query('ALTER TABLE reproq_queue_controls_gone RENAME TO reproq_queue_controls');
    }
  });
});

describe('rows no claim will take', () => {
  const t = useTestDb('pg', 'task_runs');

  it('are named by `reproq doctor` with the statement that fixes them, and counted by reason in the metrics', async () => {
    const ids: Record<string, number> = {};
    for (const kind of KINDS.filter((k) => k.unclaimable)) ids[kind.name] = (await insertKind(t.db, kind)).bad;
    const doctor = await cli(['doctor', '--json'], t.url);
    const checks = (JSON.parse(doctor.out) as { checks: { level: string; message: string; fix?: string }[] }).checks;
    const unclaimable = checks.filter((c) => /no drain will claim/.test(c.message));
    expect(unclaimable.map((c) => c.level)).toEqual(['warn', 'warn', 'warn']);
    expect(unclaimable.map((c) => c.message)).toEqual([
      `1 task(s) no drain will claim (attempts_overflow: attempts at the integer maximum): result_id ${ids['attempts = 2147483647']}`,
      `2 task(s) no drain will claim (no_task_path: no task_path, which the check constraint refuses on update): result_id ${ids['NULL task_path (legacy row)']}, ${ids["empty task_path '' (legacy row)"]}`,
      `3 task(s) no drain will claim (unknown_status: a status Reproq does not know): result_id ${ids["lowercase status 'ready'"]} (status "ready"), ${ids["padded status ' READY'"]} (status " READY"), ${ids["padded status 'READY '"]} (status "READY ")`,
    ]);
    expect(unclaimable[0]!.fix).toBe(`UPDATE task_runs SET attempts = 0 WHERE result_id IN (${ids['attempts = 2147483647']});`);

    const text = renderPrometheus(await collectMetrics(t.db));
    expect(text).toContain('reproq_unclaimable_tasks{reason="unknown_status"} 3\nreproq_unclaimable_tasks{reason="no_task_path"} 2\nreproq_unclaimable_tasks{reason="attempts_overflow"} 1\n');
    // The unknown-status count can be an index lookup (the planner picks a scan only on a table this small).
    const plan = await t.db.transaction!(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM task_runs WHERE ${UNKNOWN_STATUS}`);
    });
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('idx_task_runs_unknown_status');
  });
});
