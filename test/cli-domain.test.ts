import { describe, expect, it } from 'vitest';
import { enqueue } from '../src/enqueue.ts';
import { reproq } from './support/cli.ts';
import { useTestDb } from './support/db.ts';

const t = useTestDb('pg', 'task_runs, periodic_tasks');

describe('reproq task and reproq periodic', () => {
  it('task <id> shows status, result, errors and attempts; --json is the core view', async () => {
    const env = { DATABASE_URL: t.url };
    const { resultId } = await enqueue(t.db, { taskPath: 'app.tasks.hello', args: [7], kwargs: { to: 'ada@example.com' } });
    await t.db.query(
      `UPDATE task_runs SET status = 'FAILED', attempts = 3, failed_at = NOW(), finished_at = NOW(), last_error = 'boom',
              errors_json = '[{"at":"2026-01-01T00:00:00Z","kind":"app_error","message":"boom"}]' WHERE result_id = $1`,
      [resultId],
    );
    const [text, json, missing] = await Promise.all([
      reproq(['task', String(resultId)], { env }),
      reproq(['task', String(resultId), '--json'], { env }),
      reproq(['task', '424242'], { env }),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^Task ${resultId}: FAILED\\n  path        app.tasks.hello\\n`));
    expect(text.stdout).toContain('  attempts    3/3\n');
    expect(text.stdout).toContain('  kwargs      {"to":"ada@example.com"}\n');
    expect(text.stdout).toContain('  errors (1):\n    2026-01-01T00:00:00Z app_error: boom\n');
    expect(JSON.parse(json.stdout)).toMatchObject({ result_id: resultId, status: 'FAILED', attempts: 3, args: [7], last_error: 'boom', workflow: null });
    expect(missing).toMatchObject({ code: 1, stderr: 'reproq: task run 424242 not found\n' });
  });

  it('periodic add/list/disable/enable/remove; a bad cron expression is refused before anything is written', async () => {
    const env = { DATABASE_URL: t.url };
    const add = await reproq(['periodic', 'add', 'nightly', '--cron', '0 3 * * *', '--task', 'app.tasks.hello', '--kwargs', '{"full":true}', '--queue', 'maintenance'], { env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^Saved periodic task nightly: app.tasks.hello at "0 3 \* \* \*", next run \d{4}-\d\d-\d\dT03:00:00.000Z\.\n$/);

    const bad = await reproq(['periodic', 'add', 'broken', '--cron', '0 3 * *', '--task', 'app.tasks.hello'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^reproq: invalid cronExpr: /);

    const [list, disable] = await Promise.all([reproq(['periodic', 'list', '--json'], { env }), reproq(['periodic', 'disable', 'nightly'], { env })]);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'nightly', queue: 'maintenance', payload: { args: [], kwargs: { full: true } } })]);
    expect(disable).toMatchObject({ code: 0, stdout: 'Disabled periodic task nightly.\n' });
    expect((await t.db.query('SELECT enabled FROM periodic_tasks')).rows).toEqual([{ enabled: false }]);
    const [enable, remove, again] = [
      await reproq(['periodic', 'enable', 'nightly'], { env }),
      await reproq(['periodic', 'remove', 'nightly'], { env }),
      await reproq(['periodic', 'remove', 'nightly'], { env }),
    ];
    expect(enable.code).toBe(0);
    expect(remove).toMatchObject({ code: 0, stdout: 'Removed periodic task nightly.\n' });
    expect(again).toMatchObject({ code: 1, stderr: 'reproq: no periodic task nightly\n' });
    expect((await t.db.query('SELECT count(*)::int AS n FROM periodic_tasks')).rows).toEqual([{ n: 0 }]);
  });
});
