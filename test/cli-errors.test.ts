import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { project, reproq } from './support/cli.ts';

describe('reproq: usage, config and connection errors', () => {
  it('exits 2 on usage errors naming the flag, 1 on config and runtime errors, with one line and no stack', async () => {
    const dir = project();
    writeFileSync(path.join(dir, 'unknown.yaml'), 'dsn: postgres://x@127.0.0.1/db\nworker:\n  concurency: 3\n');
    writeFileSync(path.join(dir, 'wrongtype.toml'), '[worker]\nqueues = ["a"]\nconcurrency = "many"\n');
    const [help, duration, status, unknownCmd, neither, badDsn, unreachable, verbose, unknownKey, wrongType, missing] = await Promise.all([
      reproq(['--help']),
      reproq(['prune', '--older-than', '5x', '--dsn', 'postgres://x@127.0.0.1:1/db']),
      reproq(['prune', '--statuses', 'SUCCESSFUL,DONE', '--dsn', 'postgres://x@127.0.0.1:1/db']),
      reproq(['frobnicate']),
      reproq(['replay', '--dsn', 'postgres://x@127.0.0.1:1/db']),
      reproq(['status', '--dsn', 'postgres://u:p@host:port/db']),
      reproq(['status', '--dsn', 'postgres://u@127.0.0.1:1/db']),
      reproq(['status', '--verbose', '--dsn', 'postgres://u@127.0.0.1:1/db']),
      reproq(['status', '--config', 'unknown.yaml'], { cwd: dir }),
      reproq(['config', '--config', 'wrongtype.toml'], { cwd: dir }),
      reproq(['status'], { cwd: dir }),
    ]);
    expect(help.code).toBe(0);
    for (const name of ['worker', 'status', 'doctor', 'systemd', 'triage', 'stress-test']) expect(help.stdout).toContain(name);

    expect(duration).toMatchObject({ code: 2, stderr: expect.stringMatching(/--older-than.*'5x' is invalid/) });
    expect(status).toMatchObject({ code: 2, stderr: expect.stringMatching(/--statuses.*unknown status DONE/) });
    expect(unknownCmd.code).toBe(2);
    expect(neither).toMatchObject({ code: 2, stderr: expect.stringMatching(/exactly one of --id or --spec-hash/) });

    expect(badDsn).toMatchObject({ code: 1, stderr: expect.stringMatching(/^reproq: --dsn: is not a valid postgres:\/\/ URL/) });
    expect(badDsn.stderr).not.toContain(':p@'); // never echo a password
    expect(unreachable).toMatchObject({ code: 1, stderr: 'reproq: cannot reach the database at 127.0.0.1:1 (connection refused)\n' });
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);

    expect(unknownKey).toMatchObject({ code: 1, stderr: 'reproq: unknown.yaml:3: worker.concurency: unknown key\n' });
    expect(wrongType).toMatchObject({ code: 1, stderr: expect.stringMatching(/^reproq: wrongtype.toml:3: worker.concurrency: .*expected number/) });
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/no database given: pass --dsn, set DATABASE_URL/) });
  });
});
