import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package's bin (runs dist/); units written by `reproq systemd` point at it. */
export const BIN = fileURLToPath(new URL('../../bin/reproq.mjs', import.meta.url));
/** The CLI from the sources, which the tests run. */
const SRC_CLI = fileURLToPath(new URL('./reproq-src.mjs', import.meta.url));
const SRC_INDEX = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Running extends Promise<RunResult> {
  kill(signal: NodeJS.Signals): void;
  /** Resolves when stderr or stdout has printed text matching `re`. */
  waitFor(re: RegExp): Promise<void>;
}

/** Runs `reproq …` as a subprocess, with the test's env (DATABASE_URL unset unless given). */
export function reproq(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Running {
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, REPROQ_CONFIG: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [SRC_CLI, ...args], { cwd: opts.cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...watchers]) if (w.re.test(stdout) || w.re.test(stderr)) (watchers.splice(watchers.indexOf(w), 1), w.resolve());
  };
  child.stdout.on('data', (d) => ((stdout += d), check()));
  child.stderr.on('data', (d) => ((stderr += d), check()));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return Object.assign(done, {
    kill: (signal: NodeJS.Signals) => void child.kill(signal),
    waitFor: (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        watchers.push({ re, resolve });
        check();
        void done.then(() => reject(new Error(`exited before printing ${re}:\n${stdout}\n${stderr}`)));
      }),
  });
}

/** `reproq <args> --dsn <dsn>` as an operator runs it, with the output as `out`/`err`. */
export async function cli(args: string[], dsn: string): Promise<{ code: number | null; out: string; err: string }> {
  const r = await reproq([...args, '--dsn', dsn]);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** A scratch project directory (an ES module package) with a tasks module that imports this package. */
export function project(tasksSource = DEFAULT_TASKS): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reproq-cli-'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(path.join(dir, 'tasks.ts'), `import { defineTask } from ${JSON.stringify(SRC_INDEX)};\n${tasksSource}`);
  return dir;
}

const DEFAULT_TASKS = `
export const hello = defineTask({
  path: 'app.tasks.hello',
  handler: ({ args }, ctx) => { ctx.log.info('hello', { n: args[0] }); return args[0]; },
});
export const slow = defineTask({
  path: 'app.tasks.slow',
  handler: ({ args }) => new Promise((resolve) => setTimeout(() => resolve('slept'), Number(args[0]))),
});
export const stubborn = defineTask({
  path: 'app.tasks.stubborn',
  handler: () => new Promise((resolve) => setTimeout(resolve, 60_000)),
});
`;
