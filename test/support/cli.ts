import { spawn } from 'node:child_process';

/** Runs `reproq <args> --dsn <dsn>` as a child process, as an operator would. */
export function cli(args: string[], dsn: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/reproq.mjs', ...args, '--dsn', dsn], { env: { ...process.env, DATABASE_URL: '' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}
