import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { enqueue } from '../src/enqueue.ts';
import { project, reproq } from './support/cli.ts';
import { useTestDb } from './support/db.ts';
import { row, sleep } from './support/queue.ts';

describe('reproq worker', () => {
  const t = useTestDb('pg', 'task_runs, reproq_workers');

  async function until(sql: string, params: unknown[] = []): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if ((await row<{ ok: boolean }>(t.db, sql, params)).ok) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for: ${sql}`);
  }

  it('drains, writes task logs for `reproq logs`, and on SIGTERM finishes the running task before exiting 0', async () => {
    const dir = project();
    const env = { DATABASE_URL: t.url };
    const hellos = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(t.db, { taskPath: 'app.tasks.hello', args: [i] })));
    const slow = await enqueue(t.db, { taskPath: 'app.tasks.slow', args: [1500], queue: 'slow' });
    const worker = reproq(['worker', '--tasks', './tasks.ts', '--queues', 'default,slow', '--logs-dir', './logs', '--allowed-task-modules', 'app.tasks.'], { cwd: dir, env });
    await worker.waitFor(/ready: queues default,slow/);
    await until(`SELECT count(*) FILTER (WHERE status = 'SUCCESSFUL') = 20 AND bool_or(result_id = $1 AND status = 'RUNNING') AS ok FROM task_runs`, [slow.resultId]);
    worker.kill('SIGTERM');
    const result = await worker;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^loading tasks…\nconnecting…\nchecking schema…\nworker .* ready/); // plain lines off a TTY
    expect(result.stdout).toMatch(/"msg":"worker stopped".*"succeeded":21/);
    expect(await row(t.db, 'SELECT status FROM task_runs WHERE result_id = $1', [slow.resultId])).toEqual({ status: 'SUCCESSFUL' });
    expect(await row(t.db, `SELECT (last_seen_at > NOW() - interval '1 minute') AS alive FROM reproq_workers`)).toEqual({ alive: true });

    const id = String(hellos[3]!.resultId);
    const [logs, where, none] = await Promise.all([
      reproq(['logs', '--id', id], { env }),
      reproq(['logs', '--id', id, '--show-path'], { env }),
      reproq(['logs', '--id', String(slow.resultId)], { env }),
    ]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^STDOUT:\n\{.*"msg":"hello","n":3\}\nSTDERR:\n\n$/); // an empty stream still gets its newline, as upstream
    expect(where.stdout.trim()).toBe(path.join(dir, 'logs', `task-${id}-attempt-1.log`));
    expect(none.stdout).toBe('No logs_uri recorded for this task run.\n');
  });

  it('accepts the flags Django passes; past worker.shutdown_timeout it aborts the running task and records a retry', async () => {
    const dir = project();
    writeFileSync(path.join(dir, 'reproq.yaml'), `tasks: ./tasks.ts\nworker:\n  shutdown_timeout: 1s\n  allowed_task_modules: ["app.tasks."]\n  payload_mode: stdin\n`);
    const stuck = await enqueue(t.db, { taskPath: 'app.tasks.stubborn', queue: 'stuck' });
    const worker = reproq(
      ['worker', '--dsn', t.url, '--concurrency', '2', '--queue', 'stuck', '--payload-mode', 'stdin', '--metrics-port', '9100', '--metrics-auth-token', 't', '--metrics-allow-cidrs', '127.0.0.1/32'],
      { cwd: dir },
    );
    await worker.waitFor(/ready: queues stuck, concurrency 2/);
    await until(`SELECT status = 'RUNNING' AS ok FROM task_runs WHERE result_id = $1`, [stuck.resultId]);
    worker.kill('SIGTERM');
    const result = await worker;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/--queue is deprecated/);
    expect(result.stdout).toMatch(/--payload-mode is ignored/);
    // --metrics-port listens (all interfaces, as upstream); a port taken by another process only costs the metrics.
    expect(result.stdout).toMatch(/"metrics listening".*:9100\/metrics|metrics listener failed/);
    const r = await row<{ status: string; errors_json: { kind: string; message: string }[] }>(t.db, 'SELECT status, errors_json FROM task_runs WHERE result_id = $1', [stuck.resultId]);
    expect(r.status).toBe('READY');
    expect(r.errors_json.at(-1)).toMatchObject({ kind: 'infra_error', message: expect.stringMatching(/shut down/) });
  });
});
