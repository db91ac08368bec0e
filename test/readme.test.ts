import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin } from './support/db.ts';
import { databaseUrl } from './support/urls.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Inside the package, so `import … from 'reproq-edge'` resolves to this package by name (package.json
// "name" and "exports": Node's self-reference), exactly as in a user's project.
const DIR = path.join(ROOT, 'test', '.readme-run');

/** The README's ```ts run blocks, in order. */
const blocks = [...readFileSync(path.join(ROOT, 'README.md'), 'utf8').matchAll(/^```ts run\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

describe("the README's code", () => {
  const name = `reproq_readme_${process.pid}_${Date.now()}`;
  beforeAll(async () => {
    // A database nobody migrated: the first block must do it.
    await admin(`CREATE DATABASE ${name}`);
    mkdirSync(DIR, { recursive: true });
  });
  afterAll(async () => {
    rmSync(DIR, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  it('has runnable blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks.map((code, i) => [i + 1, code] as const))('block %i runs as written and exits on its own', async (i, code) => {
    const file = path.join(DIR, `block-${i}.ts`);
    writeFileSync(file, code);
    const r = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl(name) } }).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect('code' in r ? r.code : 0, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    if (i === 1) {
      expect(r.stdout).toContain('sending to ada@example.com');
      expect(r.stdout).toMatch(/claimed: 1,\s+succeeded: 1,/);
      expect(r.stdout).toContain('{ delivered: true }');
    }
  });
});
