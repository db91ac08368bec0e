import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { project, reproq } from './support/cli.ts';
import { admin } from './support/db.ts';
import { databaseUrl } from './support/urls.ts';

describe('reproq init, config, allowlist and doctor in a new project', () => {
  // An empty database: init must migrate it.
  const name = `reproq_cli_init_${process.pid}`;
  const url = databaseUrl(name);
  const dir = project();
  beforeAll(() => admin(`CREATE DATABASE ${name}`));
  afterAll(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

  it('init writes reproq.yaml and migrates; a second init keeps the file', async () => {
    const first = await reproq(['init', '--tasks', './tasks.ts'], { cwd: dir, env: { DATABASE_URL: url } });
    expect(first).toMatchObject({ code: 0, stdout: expect.stringMatching(/Wrote reproq.yaml[\s\S]*Applied 0001_reproq_schema/) });
    expect(readFileSync(path.join(dir, 'reproq.yaml'), 'utf8')).toMatch(/tasks: \.\/tasks\.ts/);
    const again = await reproq(['init'], { cwd: dir, env: { DATABASE_URL: url } });
    expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/Config already exists[\s\S]*Schema is up to date/) });
  });

  it('config --explain names each source and masks secrets; --dsn beats DATABASE_URL', async () => {
    const env = { DATABASE_URL: 'postgres://app:hunter2@db.example/app', QUEUE_NAMES: 'high,low', METRICS_AUTH_TOKEN: 'sekrit' };
    const [text, json] = await Promise.all([
      reproq(['config', '--explain'], { cwd: dir, env }),
      reproq(['config', '--json', '--mode', 'all', '--dsn', 'postgres://flag:pw@other/db'], { cwd: dir, env }),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Config file: reproq.yaml (yaml)');
    expect(text.stdout).toContain('dsn: "postgres://app@db.example/app" (env:DATABASE_URL)');
    expect(text.stdout).toMatch(/worker\.queues: \["high","low"\] \(env:QUEUE_NAMES\)/);
    expect(text.stdout).toMatch(/worker\.concurrency: 10 \(file:reproq\.yaml:\d+\)/);
    expect(text.stdout).toContain('worker.process_role: "worker" (default)');
    expect(text.stdout + json.stdout).not.toMatch(/hunter2|sekrit|:pw@/);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.config.dsn).toBe('postgres://flag@other/db');
    expect(parsed.sources.dsn).toBe('flag:--dsn');
    expect(parsed.config.metrics.auth_token).toBe('<redacted>');
  });

  it('allowlist --write fills worker.allowed_task_modules; doctor passes, --strict too (the NOT VALID constraint no row violates is only info)', async () => {
    const env = { DATABASE_URL: url };
    const allow = await reproq(['allowlist', '--show-tasks', '--write'], { cwd: dir, env });
    expect(allow.code).toBe(0);
    expect(allow.stdout).toContain('  - app.tasks.hello');
    expect(allow.stdout).toContain('ALLOWED_TASK_MODULES=app.tasks.,reproq_django.tasks.');
    expect(readFileSync(path.join(dir, 'reproq.yaml'), 'utf8')).toMatch(/# Reproq Edge config[\s\S]*allowed_task_modules: \[ app\.tasks\., reproq_django\.tasks\. \]/);

    const [doctor, strict, bare] = await Promise.all([
      reproq(['doctor'], { cwd: dir, env }),
      reproq(['doctor', '--strict', '--json'], { cwd: dir, env }),
      reproq(['doctor', '--config', 'nope.yaml'], { cwd: dir, env }),
    ]);
    expect(doctor.code).toBe(0);
    for (const line of ['[ok]    tasks module ./tasks.ts', '[ok]    allow-list covers all', '[ok]    database reachable', '[ok]    migrations applied']) {
      expect(doctor.stdout).toContain(line);
    }
    expect(doctor.stdout).toMatch(/\[info\] +constraint task_runs_task_path_not_empty is NOT VALID[\s\S]*fix: ALTER TABLE task_runs VALIDATE CONSTRAINT/);
    expect(strict.code).toBe(0);
    expect(JSON.parse(strict.stdout)).toMatchObject({ errors: 0, warnings: 0, ok: true });
    expect(bare).toMatchObject({ code: 1, stdout: expect.stringContaining('[error] config: --config: config file not found: nope.yaml') });

    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('ALTER TABLE task_runs VALIDATE CONSTRAINT task_runs_task_path_not_empty');
    await c.end();
    const fixed = await reproq(['doctor', '--strict'], { cwd: dir, env });
    expect(fixed).toMatchObject({ code: 0, stdout: expect.stringContaining('[ok]    constraint task_runs_task_path_not_empty validated') });

    // Two long-running beats registered against one database: one scheduler too many.
    const d = new pg.Client({ connectionString: url });
    await d.connect();
    await d.query(`INSERT INTO reproq_workers (worker_id, hostname, concurrency) VALUES ('beat/a/1', 'a', 0), ('beat/b/2', 'b', 0)`);
    await d.end();
    const twoBeats = await reproq(['doctor', '--strict'], { cwd: dir, env });
    expect(twoBeats.code).toBe(1);
    expect(twoBeats.stdout).toMatch(/\[warn\] +2 `reproq beat` processes seen in the last 2 minutes/);
  });
});
