import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, project, reproq } from './support/cli.ts';
import { NO_PG_CRON, admin, createTestDatabase, pgCronAvailable, type TestDatabase } from './support/db.ts';
import { databaseUrl } from './support/urls.ts';
import { TOKEN, bearer } from './support/http.ts';
import { needs } from './support/needs.ts';
import { waitFor } from './support/queue.ts';

const sh = promisify(execFile);

/**
 * The upstream deployment guide's commands, typed as the guide writes them (the bin executed the way a shell
 * runs `reproq`, through its shebang), each with the answer it must give.
 */
describe('the deployment guide, to the letter', () => {
  let tdb: TestDatabase;
  let empty: string;
  const emptyName = `reproq_never_migrated_${process.pid}_${Date.now()}`;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    await admin(`CREATE DATABASE ${emptyName}`);
    empty = databaseUrl(emptyName);
  });
  afterAll(async () => {
    await tdb?.drop();
    await admin(`DROP DATABASE IF EXISTS ${emptyName} WITH (FORCE)`);
  });

  /** `reproq …` as a shell runs it: the executable itself, not `node bin/reproq.mjs`. */
  const run = (args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) =>
    sh(BIN, args, { cwd: opts.cwd, env: { ...process.env, DATABASE_URL: '', REPROQ_CONFIG: '', ...opts.env } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('`reproq systemd --env-file /etc/reproq-worker.env` writes the units (Node does not take the flag for itself)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reproq-guide-'));
    expect(existsSync('/etc/reproq-worker.env')).toBe(false);
    const r = await run(['systemd', '--env-file', '/etc/reproq-worker.env'], { cwd: dir });
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: `Generated reproq-worker.service\nGenerated reproq-beat.service\n` });
    expect(readFileSync(path.join(dir, 'reproq-worker.service'), 'utf8')).toContain('\nEnvironmentFile=/etc/reproq-worker.env\n');
  });

  it('`reproq pg-cron --dry-run | head -5` prints five lines and no EPIPE trace', async (ctx) => {
    needs(ctx, await pgCronAvailable(), NO_PG_CRON);
    const r = await sh('bash', ['-c', `"${BIN}" pg-cron --dry-run --dsn "${tdb.url}" | head -5; echo "exit=\${PIPESTATUS[0]}" >&2`]);
    expect(r.stdout.split('\n')).toHaveLength(6);
    expect(r.stderr).toBe('exit=0\n');
  });

  it('on a database never migrated, status, enqueue, drain and doctor say `reproq migrate`; doctor still runs its other checks', async () => {
    const dir = project();
    const env = { DATABASE_URL: empty };
    const [status, enqueue, drain, doctor] = await Promise.all([
      run(['status'], { env }),
      run(['enqueue', 'app.tasks.hello'], { env }),
      run(['drain', '--tasks', 'tasks.ts'], { cwd: dir, env }),
      run(['doctor', '--tasks', 'tasks.ts'], { cwd: dir, env }),
    ]);
    for (const r of [status, enqueue, drain]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^reproq: relation "\w+" does not exist: the database has no Reproq schema; run `reproq migrate`/m);
    }
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain('[ok]    tasks module tasks.ts');
    expect(doctor.stdout).toContain('[ok]    database reachable (pg)');
    expect(doctor.stdout).toMatch(/\[error\] the database has no Reproq schema: missing task_runs, [^\n]*\n +fix: reproq migrate/);
    expect(doctor.stderr).toBe('');
  });

  it('a fresh `reproq init && reproq migrate && reproq doctor --strict` exits 0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reproq-fresh-'));
    const name = `reproq_fresh_${process.pid}_${Date.now()}`;
    await admin(`CREATE DATABASE ${name}`);
    try {
      const r = await sh('sh', ['-c', `"${BIN}" init && "${BIN}" migrate && "${BIN}" doctor --strict`], { cwd: dir, env: { ...process.env, DATABASE_URL: databaseUrl(name), REPROQ_CONFIG: '' } }).catch((e) => e);
      expect(r.code ?? 0, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('Doctor completed with no blocking issues (0 warning(s)).');
    } finally {
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('`reproq migrate --light-indexes` installs the opt-in index set, doctor names it, `--upstream-indexes` undoes it', async () => {
    const env = { DATABASE_URL: tdb.url };
    expect(await run(['migrate', '--light-indexes'], { env })).toMatchObject({ code: 0, stdout: 'applied: light_indexes\n' });
    expect(await run(['migrate', '--light-indexes'], { env })).toMatchObject({ code: 0, stdout: 'schema is up to date\n' });
    const doctor = await run(['doctor'], { env });
    expect(doctor.stdout).toContain('[info]  index set: light (opt-in, reproq migrate --light-indexes)');
    expect(doctor.stdout).not.toContain('definition differs from upstream');
    expect(await run(['migrate', '--upstream-indexes'], { env })).toMatchObject({ code: 0, stdout: 'applied: upstream_indexes\n' });
    expect((await run(['doctor'], { env })).stdout).toContain("[ok]    index set: upstream's definitions");
    expect(await run(['migrate', '--light-indexes', '--upstream-indexes'], { env })).toMatchObject({ code: 1 });
  });

  it('`reproq allowlist --write` with no config file suggests `reproq init`', async () => {
    const r = await run(['allowlist', '--write'], { cwd: mkdtempSync(path.join(tmpdir(), 'reproq-noconf-')) });
    expect(r).toMatchObject({ code: 1, stderr: 'reproq: --write: no config file to write (reproq.yaml, reproq.toml or .reproq.*): run `reproq init` first, or pass --config FILE\n' });
  });

  it('`reproq serve` without a tasks module serves everything but drain, and warns that /metrics is open on 0.0.0.0', async () => {
    const child = spawn(BIN, ['serve'], { env: { ...process.env, DATABASE_URL: tdb.url, REPROQ_AUTH_TOKEN: TOKEN, PORT: '0', REPROQ_TASKS: '', REPROQ_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const out = await until(child, /"listening".*:(\d+)"/);
      const port = /"listening".*:(\d+)"/.exec(out)![1];
      expect(out).toContain('no tasks module: serving every route but POST /drain');
      expect(out).toMatch(/"level":"warn","msg":"\/metrics, \/stats and \/healthz on 0\.0\.0\.0:\d+ have no auth/);
      const base = `http://127.0.0.1:${port}`;
      const drain = await fetch(`${base}/drain`, { method: 'POST', headers: bearer(TOKEN) });
      expect([drain.status, ((await drain.json()) as { error: { code: string } }).error.code]).toEqual([503, 'no_tasks']);
      const put = await fetch(`${base}/enqueue`, { method: 'POST', headers: { ...bearer(TOKEN), 'content-type': 'application/json' }, body: JSON.stringify({ taskPath: 'app.tasks.hello' }) });
      expect(put.status).toBe(201);
      expect((await fetch(`${base}/beat`, { method: 'POST', headers: bearer(TOKEN) })).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    } finally {
      await stop(child);
    }
  });

  it('`reproq worker` with metrics.addr (or --metrics-addr) serves /metrics and /healthz with the metrics auth', async () => {
    const dir = project();
    // As `reproq init` writes it, with port 0 so the system picks a free one.
    writeFileSync(path.join(dir, 'reproq.yaml'), 'metrics:\n  addr: "127.0.0.1:0"\n  allow_cidrs: ["127.0.0.1/32"]\n');
    const child = spawn(BIN, ['worker', '--tasks', 'tasks.ts'], {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: tdb.url, METRICS_AUTH_TOKEN: 'metrics-secret', REPROQ_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const out = await until(child, /"metrics listening".*:(\d+)\/metrics"/);
      const base = `http://127.0.0.1:${/"metrics listening".*:(\d+)\/metrics"/.exec(out)![1]}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const metrics = await fetch(`${base}/metrics`, { headers: bearer('metrics-secret') });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('reproq_queue_depth ');
      expect(await (await fetch(`${base}/healthz`, { headers: bearer('metrics-secret') })).text()).toBe('ok');
      // Only the metrics routes: the operator routes are not on this listener.
      expect((await fetch(`${base}/enqueue`, { method: 'POST', headers: bearer('metrics-secret') })).status).toBe(404);
    } finally {
      await stop(child);
    }
  });

  it("SIGTERM to the worker started as the README's render.yaml starts it leaves no process behind", async () => {
    const dir = project();
    mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(BIN, path.join(dir, 'node_modules', '.bin', 'reproq'));
    // render.yaml: startCommand: exec ./node_modules/.bin/reproq worker --tasks tasks.ts
    const child = spawn('sh', ['-c', 'exec ./node_modules/.bin/reproq worker --tasks tasks.ts'], { cwd: dir, env: { ...process.env, DATABASE_URL: tdb.url, REPROQ_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    await until(child, /ready: queues default/);
    // exec all the way: the pid the platform signals is the node process itself (plus esbuild's service, its child).
    const started = processesIn(dir);
    expect(started).toContain(child.pid);
    expect(commandOf(child.pid!)).toMatch(/^node\0--\0/);
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.once('exit', (code) => resolve(code)))).toBe(0);
    await waitFor(async () => processesIn(dir).length === 0);
  });
});

/** SIGTERM, and wait until the process is gone. */
async function stop(child: ReturnType<typeof spawn>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Resolves with the output so far once it matches `re`. */
function until(child: ReturnType<typeof spawn>, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const check = (d: Buffer) => {
      out += d;
      if (re.test(out)) resolve(out);
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited ${code} before ${re}:\n${out}`)));
  });
}

/** Pids of live processes whose working directory is `dir` (what a leaked worker would keep). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // a zombie is already gone
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}


function commandOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
}
