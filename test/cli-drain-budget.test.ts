import { describe, expect, it } from 'vitest';
import { enqueue } from '../src/enqueue.ts';
import { project, reproq } from './support/cli.ts';
import { useTestDb } from './support/db.ts';
import { row } from './support/queue.ts';

describe('reproq drain --once', () => {
  const t = useTestDb('pg', 'task_runs, reproq_workers');

  it('exits inside its budget, summary printed and the attempt recorded, although a handler ignores its abort signal', async () => {
    const dir = project();
    const stubborn = await enqueue(t.db, { taskPath: 'app.tasks.stubborn' }); // sleeps 60 s and ignores its signal
    const t0 = Date.now();
    const result = await reproq(['drain', '--once', '--budget', '3000', '--tasks', './tasks.ts', '--allowed-task-modules', 'app.tasks.', '--json'], {
      cwd: dir,
      env: { DATABASE_URL: t.url },
    });
    // Not a timing assertion: only that the process did not wait for the handler's sleep to end.
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ claimed: 1, retried: 1, stoppedBecause: 'budget' });
    const r = await row<{ status: string; errors_json: { kind: string; message: string }[] }>(t.db, 'SELECT status, errors_json FROM task_runs WHERE result_id = $1', [stubborn.resultId]);
    expect(r.status).toBe('READY');
    expect(r.errors_json).toEqual([expect.objectContaining({ kind: 'infra_error', message: 'aborted at the end of the drain budget' })]);
  });
});
