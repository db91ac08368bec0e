import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN, reproq } from './support/cli.ts';
import { hasCommand, needs } from './support/needs.ts';

const run = promisify(execFile);

describe('reproq systemd', () => {
  it('writes worker, beat, schedule service and timer units that pass systemd-analyze verify', async (ctx) => {
    needs(ctx, hasCommand('systemd-analyze'), 'systemd-analyze is not installed (Debian: apt-get install systemd; .ci/run does)');

    const dir = mkdtempSync(path.join(tmpdir(), 'reproq-systemd-'));
    const envFile = path.join(dir, 'reproq.env');
    writeFileSync(envFile, 'DATABASE_URL=postgres://u@127.0.0.1/db\nREPROQ_SCHEDULER_MODE=cron\n');
    const out = await reproq(
      ['systemd', '--schedule', '--concurrency', '7', '--queues', 'default,high', '--metrics-addr', '127.0.0.1:9100',
        '--metrics-allow-cidrs', '10.0.0.0/8,127.0.0.1/32', '--env-file', envFile, '--logs-dir', '/var/log/reproq 100%',
        '--output-dir', dir, '--workdir', dir, '--json'],
      { cwd: dir },
    );
    expect(out.code).toBe(0);
    const files: string[] = JSON.parse(out.stdout).files;
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['reproq-beat.service', 'reproq-schedule.service', 'reproq-schedule.timer', 'reproq-worker.service']);

    const worker = readFileSync(path.join(dir, 'reproq-worker.service'), 'utf8');
    expect(worker).toContain(`ExecStart=${process.execPath} ${BIN} worker --concurrency 7 --queues default,high --logs-dir "/var/log/reproq 100%%" --metrics-addr 127.0.0.1:9100\n`);
    expect(worker).toContain(`EnvironmentFile=${envFile}\nEnvironment=METRICS_ALLOW_CIDRS=10.0.0.0/8,127.0.0.1/32\n`);
    expect(readFileSync(path.join(dir, 'reproq-beat.service'), 'utf8')).toMatch(/\$\$\{REPROQ_SCHEDULER_MODE:-beat\}/);
    expect(readFileSync(path.join(dir, 'reproq-schedule.timer'), 'utf8')).toContain('OnCalendar=*-*-* *:*:00\n');

    // verify exits non-zero on any error in the units; warnings about this container's missing init are not errors.
    const verify = await run('systemd-analyze', ['verify', ...files], { cwd: dir }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(verify.stderr).not.toMatch(/reproq-(worker|beat|schedule)\.(service|timer):\d+:/);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('creates the output directory when it does not exist yet', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'reproq-systemd-')), 'units', 'new');
    // Executed as a shell runs it, so Node leaves --env-file (a file this machine does not have) to the command.
    await run(BIN, ['systemd', '--env-file', '/etc/reproq-worker.env', '--output-dir', dir]);
    expect(readFileSync(path.join(dir, 'reproq-worker.service'), 'utf8')).toContain('EnvironmentFile=/etc/reproq-worker.env\n');
  });
});
