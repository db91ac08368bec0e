/**
 * The Cloudflare Worker bundle: `wrangler deploy --dry-run --minify` size, and its cold start as
 * the module-evaluation time in workerd (what workerd spends until Miniflare is ready with the
 * bundle, minus the same with an empty module: its CPU time on Linux, else wall time), next to a
 * bare Hono Worker (test/bench/bare-hono) built and started the same way in the same run. Runs
 * alternate the order of the scripts; medians are reported.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { median, sig } from './stats.ts';

export interface BuiltWorker {
  rawKiB: number;
  gzipKiB: number;
  /** Median module evaluation, ms, and the runs it comes from. */
  evalMs: number;
  evalRuns: number[];
}

export type BundleResult =
  | {
      status: 'ok';
      rawKiB: number;
      gzipKiB: number;
      coldStartMs: number;
      evalRuns: number[];
      bareHono: BuiltWorker;
    }
  | { status: 'n/a' | 'error'; reason: string };

const ROOT = new URL('../../', import.meta.url).pathname;
const BARE_HONO_CONFIG = 'test/bench/bare-hono/wrangler.toml';
const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' };
const EMPTY = 'export default { fetch() { return new Response("") } }';

/** Builds with wrangler (the repo's config, or `config`) and returns the sizes it prints and the script. */
async function build(config?: string): Promise<{ rawKiB: number; gzipKiB: number; script: string }> {
  const out = mkdtempSync(join(tmpdir(), 'reproq-bundle-'));
  try {
    const args = ['wrangler', 'deploy', '--dry-run', '--minify', '--outdir', out, ...(config ? ['--config', config] : [])];
    const { stdout, stderr } = await promisify(execFile)('npx', args, { cwd: ROOT, env: ENV, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(stdout + stderr);
    if (!m) throw new Error('wrangler printed no "Total Upload" line');
    const main = readdirSync(out).find((f) => /\.(m?js)$/.test(f));
    if (!main) throw new Error(`no .js in wrangler's output (${readdirSync(out).join(', ')})`);
    return { rawKiB: Number(m[1]), gzipKiB: Number(m[2]), script: readFileSync(join(out, main), 'utf8') };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export async function measureBundle(evalRuns: number): Promise<BundleResult> {
  if (!existsSync(join(ROOT, 'workers/cloudflare.ts'))) return { status: 'n/a', reason: 'workers/cloudflare.ts not present' };
  if (!['wrangler.toml', 'wrangler.jsonc', 'wrangler.json'].some((f) => existsSync(join(ROOT, f)))) {
    return { status: 'n/a', reason: 'no wrangler config at the repo root' };
  }
  try {
    const ours = await build();
    const bare = await build(BARE_HONO_CONFIG);
    const times = await evaluationTimes([ours.script, bare.script], evalRuns);
    return {
      status: 'ok',
      rawKiB: ours.rawKiB,
      gzipKiB: ours.gzipKiB,
      coldStartMs: sig(median(times[0]!)),
      evalRuns: times[0]!,
      bareHono: { rawKiB: bare.rawKiB, gzipKiB: bare.gzipKiB, evalMs: sig(median(times[1]!)), evalRuns: times[1]! },
    };
  } catch (err) {
    return { status: 'error', reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
}

/** The workerd processes this process started (Miniflare runs one per instance). */
function workerdPids(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (m?.[1] === 'workerd' && Number(m[2]) === process.pid) pids.add(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU ms a process has used, all its threads (Linux schedstat, nanoseconds). */
function processCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

/**
 * What workerd spent getting ready with `source`: its CPU time where Linux shows it (waiting for
 * a core on a loaded machine does not count), else the wall time.
 */
async function readyCost(source: string): Promise<number> {
  const { Miniflare } = await import('miniflare');
  const procfs = existsSync('/proc/self/task');
  const before = procfs ? workerdPids() : new Set<number>();
  const started = performance.now();
  const mf = new Miniflare({ modules: true, script: source, compatibilityDate: '2026-04-01', compatibilityFlags: ['nodejs_compat'], cf: false });
  try {
    await mf.ready;
    const wall = performance.now() - started;
    const started2 = [...(procfs ? workerdPids() : [])].filter((pid) => !before.has(pid));
    return started2.length === 1 ? processCpuMs(started2[0]!) : wall;
  } finally {
    await mf.dispose();
  }
}

/** Per script, `runs` costs (ready with it − ready with an empty module), the order alternating. */
async function evaluationTimes(scripts: string[], runs: number): Promise<number[][]> {
  const out: number[][] = scripts.map(() => []);
  for (let i = 0; i < runs; i++) {
    const order = scripts.map((_, k) => k);
    if (i % 2 === 1) order.reverse();
    for (const k of order) out[k]!.push(sig(Math.max(0, (await readyCost(scripts[k]!)) - (await readyCost(EMPTY)))));
  }
  return out;
}
