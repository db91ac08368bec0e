/**
 * The Cloudflare Worker bundle: `wrangler deploy --dry-run --minify` size, and its cold start as
 * the module-evaluation time in workerd (Miniflare ready with the bundle minus ready with an empty
 * module). The Worker entry is written separately; until it lands this reports n/a.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { median, sig } from './stats.ts';

export type BundleResult =
  | { status: 'ok'; rawKiB: number; gzipKiB: number; coldStartMs: number; evalRuns: number[] }
  | { status: 'n/a' | 'error'; reason: string };

const ROOT = new URL('../../', import.meta.url).pathname;
const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' };

export async function measureBundle(evalRuns: number): Promise<BundleResult> {
  if (!existsSync(join(ROOT, 'workers/cloudflare.ts'))) return { status: 'n/a', reason: 'workers/cloudflare.ts not present' };
  if (!['wrangler.toml', 'wrangler.jsonc', 'wrangler.json'].some((f) => existsSync(join(ROOT, f)))) {
    return { status: 'n/a', reason: 'no wrangler config at the repo root' };
  }
  const out = mkdtempSync(join(tmpdir(), 'reproq-bundle-'));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'npx',
      ['wrangler', 'deploy', '--dry-run', '--minify', '--outdir', out],
      { cwd: ROOT, env: ENV, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(stdout + stderr);
    if (!m) return { status: 'error', reason: 'wrangler printed no "Total Upload" line' };
    const main = readdirSync(out).find((f) => /\.(m?js)$/.test(f));
    if (!main) return { status: 'error', reason: `no .js in wrangler's output (${readdirSync(out).join(', ')})` };
    const runs = await evaluationTimes(readFileSync(join(out, main), 'utf8'), evalRuns);
    return { status: 'ok', rawKiB: Number(m[1]), gzipKiB: Number(m[2]), coldStartMs: sig(median(runs)), evalRuns: runs };
  } catch (err) {
    return { status: 'error', reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function evaluationTimes(script: string, runs: number): Promise<number[]> {
  const { Miniflare } = await import('miniflare');
  const ready = async (source: string) => {
    const started = performance.now();
    const mf = new Miniflare({ modules: true, script: source, compatibilityDate: '2026-04-01', compatibilityFlags: ['nodejs_compat'], cf: false });
    try {
      await mf.ready;
      return performance.now() - started;
    } finally {
      await mf.dispose();
    }
  };
  const empty = 'export default { fetch() { return new Response("") } }';
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(sig(Math.max(0, (await ready(script)) - (await ready(empty)))));
  return out;
}
