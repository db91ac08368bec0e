import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLogSink } from '../src/cli/logs-dir.ts';
import { drain, type TaskLog } from '../src/drain.ts';
import { enqueue } from '../src/enqueue.ts';
import { silentLogger } from '../src/logger.ts';
import { defineTask, TaskRegistry } from '../src/tasks/registry.ts';
import { useTestDb } from './support/db.ts';
import { row, sleep } from './support/queue.ts';

const chatty = defineTask({
  path: 'tasks.chatty',
  handler: ({ args }, ctx) => {
    ctx.log.info('working', { n: args[0] });
    ctx.log.child({ step: 2 }).error('half done');
    return 'ok';
  },
});
const quiet = defineTask({ path: 'tasks.quiet', handler: () => 'ok' });
// Ignores its signal on purpose: the drain must still record it when the worker's grace period ends.
const stubborn = defineTask({ path: 'tasks.stubborn', handler: () => sleep(30_000) });

describe('drain hooks for the long-running worker', () => {
  const t = useTestDb('pg', 'task_runs, reproq_workers');

  it('hands each attempt’s ctx.log to the sink and stores its URI in logs_uri (upstream file format)', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'reproq-logs-')), 'logs');
    const seen: TaskLog[] = [];
    const sink = fileLogSink(dir);
    const a = await enqueue(t.db, { taskPath: 'tasks.chatty', args: [1] });
    const b = await enqueue(t.db, { taskPath: 'tasks.quiet' });
    const summary = await drain(
      { db: t.db, registry: new TaskRegistry([chatty, quiet]), logger: silentLogger, logSink: (log) => (seen.push(log), sink(log)) },
      { allowedTaskModules: ['*'] },
    );
    expect(summary.succeeded).toBe(2);
    expect(seen.map((s) => s.resultId)).toEqual([a.resultId]); // nothing logged, nothing written
    const file = path.join(dir, `task-${a.resultId}-attempt-1.log`);
    expect((await row<{ logs_uri: string }>(t.db, 'SELECT logs_uri FROM task_runs WHERE result_id = $1', [a.resultId])).logs_uri).toBe(file);
    expect((await row<{ logs_uri: string | null }>(t.db, 'SELECT logs_uri FROM task_runs WHERE result_id = $1', [b.resultId])).logs_uri).toBeNull();
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^STDOUT:\n\{.*"msg":"working","n":1\}\nSTDERR:\n\{.*"msg":"half done","step":2\}\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('a failing sink costs the log, not the outcome', async () => {
    const r = await enqueue(t.db, { taskPath: 'tasks.chatty', args: [2] });
    const summary = await drain(
      { db: t.db, registry: new TaskRegistry([chatty]), logger: silentLogger, logSink: () => Promise.reject(new Error('disk full')) },
      { allowedTaskModules: ['*'] },
    );
    expect(summary.succeeded).toBe(1);
    expect((await row<{ status: string }>(t.db, 'SELECT status FROM task_runs WHERE result_id = $1', [r.resultId])).status).toBe('SUCCESSFUL');
  });

  it('stop aborts running handlers and records them as retries; signal alone releases the unstarted', async () => {
    const running = await enqueue(t.db, { taskPath: 'tasks.stubborn', args: [1] });
    const waiting = await enqueue(t.db, { taskPath: 'tasks.stubborn', args: [2] });
    const claiming = new AbortController();
    const stop = new AbortController();
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const watched = defineTask({ path: stubborn.path, handler: (input, ctx) => (started(), stubborn.handler(input, ctx)) });
    const done = drain(
      { db: t.db, registry: new TaskRegistry([watched]), logger: silentLogger, signal: claiming.signal, stop: stop.signal },
      { allowedTaskModules: ['*'], concurrency: 1 },
    );
    // Both are claimed; one handler runs, the other waits for the single lane.
    await handlerStarted;
    claiming.abort();
    stop.abort();
    const summary = await done;
    expect(summary).toMatchObject({ stoppedBecause: 'aborted', retried: 1, released: 1 });
    const r1 = await row<{ status: string; attempts: number; errors_json: { kind: string; message: string }[] }>(
      t.db, 'SELECT status, attempts, errors_json FROM task_runs WHERE result_id = $1', [running.resultId]);
    expect(r1).toMatchObject({ status: 'READY', attempts: 1 });
    expect(r1.errors_json.at(-1)).toMatchObject({ kind: 'infra_error', message: expect.stringMatching(/shut down/) });
    expect(await row(t.db, 'SELECT status, attempts FROM task_runs WHERE result_id = $1', [waiting.resultId])).toEqual({ status: 'READY', attempts: 0 });
  });
});
