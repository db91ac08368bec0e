import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config.ts';
import { drain } from '../src/drain.ts';
import { enqueue } from '../src/enqueue.ts';
import { createApp } from '../src/http/app.ts';
import { consoleLogger, silentLogger } from '../src/logger.ts';
import { allowListReport, isAllowed, mayRun } from '../src/tasks/allowlist.ts';
import { DEBUG_TASKS } from '../src/tasks/debug.ts';
import { defineTask, TaskRegistry } from '../src/tasks/registry.ts';
import { createVercelHandlers } from '../workers/vercel.ts';
import { project, reproq } from './support/cli.ts';
import { useTestDb } from './support/db.ts';
import { row } from './support/queue.ts';

const welcome = defineTask({ path: 'emails.welcome', handler: () => 'sent' });
const report = defineTask({ path: 'reports.daily.build', handler: () => 'built' });
const registry = () => new TaskRegistry([welcome, report, ...DEBUG_TASKS]);

/** A logger that keeps its warnings. */
function recording() {
  const warnings: Record<string, unknown>[] = [];
  return { warnings, log: consoleLogger({}, (line, level) => level === 'warn' && warnings.push(JSON.parse(line))) };
}

describe('the allow-list rule', () => {
  it('unset allows exactly the registered paths; a list is a plain prefix test; * allows all', () => {
    const r = registry();
    expect(mayRun('emails.welcome', [], r)).toBe(true);
    expect(mayRun('emails.unregistered', [], r)).toBe(false);
    expect(mayRun('emails.welcome', ['myapp.tasks.'], r)).toBe(false);
    expect(mayRun('emails.welcome', ['emails.'], r)).toBe(true);
    expect(mayRun('emails.welcome', ['*'], r)).toBe(true);
    expect(isAllowed('myapp.tasks_bypass', ['myapp.tasks.'])).toBe(false);
    expect(isAllowed('anything', [])).toBe(false);
  });

  it('reports the registered tasks an explicit list rejects, the built-in debug tasks apart', () => {
    expect(allowListReport([], registry())).toEqual({ source: 'registry', rejected: [], rejectedBuiltins: [] });
    expect(allowListReport(['emails.'], registry())).toEqual({
      source: 'configured',
      rejected: ['reports.daily.build'],
      rejectedBuiltins: ['reproq_django.tasks.debug_error_task', 'reproq_django.tasks.debug_noop_task'],
    });
  });
});

describe('a drain with ALLOWED_TASK_MODULES unset runs the registry\'s own tasks', () => {
  const t = useTestDb('pg', 'task_runs, reproq_workers');

  it('emails.welcome succeeds unset, and fails with security_violation outside an explicit list', async () => {
    const ok = await enqueue(t.db, { taskPath: 'emails.welcome', args: [1] });
    const s = await drain({ db: t.db, registry: registry(), logger: silentLogger }, {});
    expect(s).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(await row(t.db, 'SELECT status, return_json FROM task_runs WHERE result_id = $1', [ok.resultId])).toEqual({ status: 'SUCCESSFUL', return_json: 'sent' });

    const refused = await enqueue(t.db, { taskPath: 'emails.welcome', args: [2] });
    await drain({ db: t.db, registry: registry(), logger: silentLogger }, { allowedTaskModules: ['myapp.tasks.'] });
    const failed = await row<{ status: string; errors_json: { kind: string }[] }>(t.db, 'SELECT status, errors_json FROM task_runs WHERE result_id = $1', [refused.resultId]);
    expect(failed.status).toBe('FAILED');
    expect(failed.errors_json.at(-1)?.kind).toBe('security_violation');
  });

  it('the HTTP app (serve, Worker, Lambda, Vercel) warns at startup about registered tasks an explicit list rejects', () => {
    const withList = recording();
    createApp({ config: configFromEnv({ ALLOWED_TASK_MODULES: 'emails.' }), registry: registry(), db: t.db, logger: withList.log });
    expect(withList.warnings).toEqual([expect.objectContaining({ msg: expect.stringMatching(/security_violation/), rejected: ['reports.daily.build'] })]);

    const unset = recording();
    createApp({ config: configFromEnv({}), registry: registry(), db: t.db, logger: unset.log });
    expect(unset.warnings).toEqual([]);

    const vercel = recording();
    createVercelHandlers(registry(), { env: { DATABASE_URL: t.url, ALLOWED_TASK_MODULES: 'myapp.tasks.' }, openDb: () => t.db, logger: vercel.log });
    expect(vercel.warnings[0]).toMatchObject({ rejected: ['emails.welcome', 'reports.daily.build'] });
  });

  it('reproq drain warns at startup, and reproq doctor names the rejected tasks', async () => {
    const dir = project();
    const env = { DATABASE_URL: t.url, ALLOWED_TASK_MODULES: 'other.' };
    const [run, doctor, unset] = await Promise.all([
      reproq(['drain', '--tasks', './tasks.ts', '--budget', '1000'], { cwd: dir, env }),
      reproq(['doctor', '--tasks', './tasks.ts'], { cwd: dir, env }),
      reproq(['doctor', '--tasks', './tasks.ts'], { cwd: dir, env: { DATABASE_URL: t.url } }),
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/ALLOWED_TASK_MODULES rejects registered tasks.*app\.tasks\.hello/);
    expect(doctor.stdout).toMatch(/\[warn\] +allow-list other\. rejects 3 registered task\(s\), which will fail with security_violation: app\.tasks\.hello, app\.tasks\.slow, app\.tasks\.stubborn/);
    expect(doctor.stdout).toMatch(/\[info\] +allow-list rejects the built-in debug tasks/);
    expect(unset.stdout).toMatch(/\[ok\] +ALLOWED_TASK_MODULES not set: the 5 registered task\(s\) are allowed/);
    expect(unset.stdout).not.toMatch(/allow-list.*rejects/);
  });
});
