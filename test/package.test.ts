/**
 * The package as a user gets it: `npm pack`, installed into a fresh consumer project
 * (test/fixtures/consumer), then run by plain Node, compiled by tsc, bundled for a Worker, run
 * by the CLI, Bun and Deno, and deployed with an offline `vercel build`. Slow (an npm pack and
 * install), so it runs once per suite run; Bun, Deno and the Vercel CLI are installed on first
 * use into node_modules/.cache.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue } from '../src/enqueue.ts';
import { useTestDb } from './support/db.ts';
import { needs } from './support/needs.ts';
import { loadMigrations } from '../src/migrations/list.ts';

/** Every migration file the package ships, so a new one needs no edit here. */
const MIGRATION_COUNT = (await loadMigrations()).length;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/consumer/', import.meta.url));
const BIN = (name: string) => path.join(ROOT, 'node_modules/.bin', name);
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  devDependencies: Record<string, string>;
};
/** Runtimes and CLIs the consumer is tried with, pinned. */
const TOOLS = { bun: '1.4.5', deno: '2.9.6', vercel: '60.1.3' } as const;
const TOOLS_DIR = path.join(ROOT, 'node_modules/.cache/reproq-package-test');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], opts: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (err) => ((stderr += String(err)), clearTimeout(timer), resolve({ code: -1, stdout, stderr })));
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

const lastJson = <T>(r: Ran): T => JSON.parse(r.stdout.trim().split('\n').at(-1) ?? 'null') as T;
const show = (r: Ran) => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

/** The tool's binary, installing the pinned versions once; undefined (with the reason) where that fails. */
let tools: Promise<{ bin?: (name: keyof typeof TOOLS) => string; reason?: string }> | undefined;
function installTools() {
  return (tools ??= (async () => {
    const installed = (Object.keys(TOOLS) as (keyof typeof TOOLS)[]).every((name) => {
      const file = path.join(TOOLS_DIR, 'node_modules', name, 'package.json');
      return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).version === TOOLS[name];
    });
    if (!installed) {
      mkdirSync(TOOLS_DIR, { recursive: true });
      writeFileSync(path.join(TOOLS_DIR, 'package.json'), JSON.stringify({ private: true, dependencies: TOOLS }, null, 2));
      const r = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: TOOLS_DIR, timeoutMs: 600_000 });
      if (r.code !== 0) return { reason: `npm could not install ${Object.entries(TOOLS).map(([k, v]) => `${k}@${v}`).join(' ')}: ${r.stderr.trim().split('\n').at(-1)}` };
    }
    return { bin: (name: keyof typeof TOOLS) => path.join(TOOLS_DIR, 'node_modules/.bin', name) };
  })());
}

describe('the packed tarball in a consumer project', () => {
  const t = useTestDb('pg', 'task_runs');
  let work: string;
  let tarball: string;
  let consumer: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'reproq-package-'));
    // `npm pack` runs `prepare`, which builds dist/.
    const pack = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT });
    expect(pack.code, show(pack)).toBe(0);
    tarball = path.join(work, (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string }[])[0]!.filename);

    consumer = path.join(work, 'consumer');
    cpSync(FIXTURE, consumer, { recursive: true });
    const dev = PKG.devDependencies;
    const deps = Object.fromEntries(['pg', '@electric-sql/pglite', '@neondatabase/serverless', 'ws'].map((d) => [d, dev[d]!]));
    writeFileSync(
      path.join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'reproq-edge': `file:${tarball}`, ...deps } }, null, 2),
    );
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: consumer });
    expect(install.code, show(install)).toBe(0);
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('passes publint and arethetypeswrong (ESM only)', async () => {
    const attw = await run(BIN('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii'], { cwd: ROOT });
    expect(attw.code, show(attw)).toBe(0);
    const publint = await run(BIN('publint'), [path.join(consumer, 'node_modules/reproq-edge'), '--strict', '--pack', 'false'], { cwd: ROOT });
    expect(publint.code, show(publint)).toBe(0);
    expect(publint.stdout).toContain('All good!');
  });

  it('installs for production without the drivers, tsx, esbuild or PGlite', { timeout: 300_000 }, async () => {
    const bare = path.join(work, 'bare');
    mkdirSync(bare);
    writeFileSync(path.join(bare, 'package.json'), '{ "private": true }\n');
    const install = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: bare });
    expect(install.code, show(install)).toBe(0);
    for (const heavy of ['@electric-sql/pglite', 'pg', '@neondatabase/serverless', 'ws', 'tsx', 'esbuild', 'typescript']) {
      expect(existsSync(path.join(bare, 'node_modules', heavy)), heavy).toBe(false);
    }
    const du = await run('du', ['-sk', 'node_modules'], { cwd: bare });
    console.log(`production install of the tarball: ${Math.round(Number(du.stdout.split('\t')[0]) / 1024)} MB of node_modules`);
  });

  it('(a) plain `node app.mjs` migrates, enqueues and drains on in-memory PGlite', async () => {
    const r = await run('node', ['app.mjs'], { cwd: consumer });
    expect(r.code, show(r)).toBe(0);
    expect(lastJson(r)).toEqual({ applied: MIGRATION_COUNT, claimed: 1, succeeded: 1, row: { status: 'SUCCESSFUL', return_json: 'hello node' } });
  });

  it('(b) tsc (strict, NodeNext, skipLibCheck) compiles a consumer of every public subpath', async () => {
    const source = readFileSync(path.join(consumer, 'consumer.ts'), 'utf8');
    const subpaths = Object.keys(PKG.exports).filter((k) => k !== './package.json').map((k) => k.replace(/^\./, 'reproq-edge'));
    for (const s of subpaths) expect(source, s).toContain(`from '${s}'`);
    const tsc = await run(BIN('tsc'), ['-p', 'tsconfig.json'], { cwd: consumer });
    expect(tsc.code, show(tsc)).toBe(0);
  });

  it('(c) esbuild bundles a Worker entry for workerd, with no Node built-in and no PGlite', async () => {
    const out = await build({
      entryPoints: [path.join(consumer, 'worker.ts')],
      absWorkingDir: consumer,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      mainFields: ['browser', 'module', 'main'],
      conditions: ['workerd', 'worker', 'browser'],
      target: 'es2022',
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.text;
    expect(code).toContain('scheduled');
    expect(code).not.toMatch(/from ["']node:|require\(["']node:/);
    expect(code).not.toContain('PGlite');
  });

  it('(d) `npx reproq` runs the compiled CLI: --help, then migrate, enqueue and drain on a PGlite directory', async () => {
    const help = await run('npx', ['--no-install', 'reproq', '--help'], { cwd: consumer });
    expect(help.code, show(help)).toBe(0);
    expect(help.stdout).toContain('Usage: reproq');
    const dsn = ['--dsn', 'pglite://./pgdata'];
    for (const args of [['migrate'], ['enqueue', 'app.tasks.hello', '--args', '["cli"]'], ['drain', '--once', '--tasks', './tasks.mjs', '--allowed-task-modules', 'app.tasks.', '--json']]) {
      const r = await run('npx', ['--no-install', 'reproq', ...args, ...dsn], { cwd: consumer });
      expect(r.code, show(r)).toBe(0);
      if (args[0] === 'drain') expect(lastJson(r)).toMatchObject({ claimed: 1, succeeded: 1 });
    }
  });

  it('(e) Bun runs app.mjs', { timeout: 600_000 }, async (ctx) => {
    const { bin, reason } = await installTools();
    needs(ctx, bin !== undefined, `bun did not install here (${reason})`);
    const r = await run(bin!('bun'), ['app.mjs'], { cwd: consumer });
    expect(r.code, show(r)).toBe(0);
    expect(lastJson(r)).toMatchObject({ applied: MIGRATION_COUNT, succeeded: 1, row: { status: 'SUCCESSFUL', return_json: 'hello bun' } });
  });

  it('Deno runs app.mjs from node_modules', { timeout: 600_000 }, async (ctx) => {
    const { bin, reason } = await installTools();
    needs(ctx, bin !== undefined, `deno did not install here (${reason})`);
    const r = await run(bin!('deno'), ['run', '--allow-all', 'app.mjs'], { cwd: consumer, env: { DENO_NO_UPDATE_CHECK: '1' } });
    expect(r.code, show(r)).toBe(0);
    expect(lastJson(r)).toMatchObject({ applied: MIGRATION_COUNT, succeeded: 1, row: { status: 'SUCCESSFUL', return_json: 'hello deno' } });
  });

  it('an offline `vercel build` of the consumer makes a function that plain Node runs: a cron GET drains', { timeout: 600_000 }, async (ctx) => {
    const { bin, reason } = await installTools();
    needs(ctx, bin !== undefined, `the Vercel CLI did not install here (${reason})`);
    mkdirSync(path.join(consumer, '.vercel'), { recursive: true });
    writeFileSync(
      path.join(consumer, '.vercel/project.json'),
      JSON.stringify({ projectId: 'prj_local', orgId: 'team_local', settings: { framework: null, nodeVersion: '24.x' } }),
    );
    const built = await run(bin!('vercel'), ['build', '--yes'], { cwd: consumer, env: { VERCEL_TELEMETRY_DISABLED: '1' } });
    expect(built.code, show(built)).toBe(0);
    const config = JSON.parse(readFileSync(path.join(consumer, '.vercel/output/config.json'), 'utf8')) as { crons?: unknown[] };
    expect(config.crons).toEqual([{ path: '/api/reproq/drain', schedule: '* * * * *' }]);

    await enqueue(t.db, { taskPath: 'app.tasks.hello', args: ['vercel'] });
    const r = await run('node', ['invoke-vercel.mjs'], { cwd: consumer, env: { DATABASE_URL: t.url, CRON_SECRET: 'cron-secret', REPROQ_ROUTE_PREFIX: '/api/reproq', ALLOWED_TASK_MODULES: 'app.tasks.' } });
    expect(r.code, show(r)).toBe(0);
    expect(lastJson(r)).toMatchObject({ maxDuration: 60, status: 200, body: { claimed: 1, succeeded: 1 } });
  });
});
