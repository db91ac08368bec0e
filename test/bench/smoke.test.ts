import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'reproq-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// The harness is a script, so run it as users do (a subprocess), in its smallest mode.
test('npm run bench -- --smoke prints the summary line last and writes the versioned JSON', async () => {
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'test/bench/main.ts', '--smoke', '--out', out], {
    timeout: 150_000,
    maxBuffer: 8 * 1024 * 1024,
  });
  const last = stdout.trimEnd().split('\n').at(-1)!;
  expect(last).toMatch(
    new RegExp(
      '^summary: ours_jobs_per_s=\\d+ graphile_jobs_per_s=\\d+ pgboss_jobs_per_s=\\d+ floor_jobs_per_s=\\d+ ours_round_trips_per_task=[\\d.]+' +
        ' graphile_enqueue_single_rows_per_s=\\d+ ours_enqueue_single_rows_per_s=\\d+ graphile_enqueue_bulk_rows_per_s=\\d+ ours_enqueue_bulk_rows_per_s=\\d+' +
        ' bundle_gzip_kib=[\\d.]+ worker_eval_ms=[\\d.]+ bare_hono_eval_ms=[\\d.]+ foreign_claim_ratio=[\\d.]+ future_claim_ratio=[\\d.]+$',
    ),
  );
  expect(stdout).toContain('### Drain throughput');

  const files = readdirSync(out).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  const results = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
  expect(results).toMatchObject({ format: 'reproq-edge-bench', version: 1, mode: 'smoke' });
  for (const key of ['ours_jobs_per_s', 'graphile_jobs_per_s', 'pgboss_jobs_per_s', 'floor_jobs_per_s']) {
    expect(results.summary[key]).toBeGreaterThan(0);
  }
  // Two statements per batch at most, none per task: 300 tasks in batches of 100 over 16 drains.
  expect(results.summary.ours_round_trips_per_task).toBeLessThan(0.1);
  const systems = new Set(results.throughput.map((r: { system: string }) => r.system));
  expect([...systems].sort()).toEqual(['floor', 'graphile-worker', 'ours', 'pg-boss']);
  expect(results.latency.length).toBeGreaterThan(0);
  expect(results.scaling[0].claimScan).not.toBe('?');
  expect(results.machine.loadAverage.start).toHaveLength(3);
  for (const key of ['ours_enqueue_single_rows_per_s', 'ours_enqueue_bulk_rows_per_s', 'graphile_enqueue_bulk_rows_per_s', 'foreign_claim_ratio']) {
    expect(results.summary[key]).toBeGreaterThan(0);
  }
  expect(results.foreignClaim.map((c: { scenario: string }) => c.scenario)).toEqual(['empty', 'foreign_paths', 'future_run_after']);
}, 170_000);
