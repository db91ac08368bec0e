/** The printed table, the versioned JSON result file and the machine-readable summary line. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BeatResult } from './beatBench.ts';
import type { BundleResult } from './bundle.ts';
import type { EnqueueRow } from './enqueueBench.ts';
import type { LatencyRow } from './latency.ts';
import type { ScalingRow } from './scaling.ts';
import type { Settings } from './settings.ts';
import type { ThroughputRow } from './throughput.ts';

/** Bump when a field changes meaning or goes away; adding fields keeps the version. */
export const FORMAT = 'reproq-edge-bench';
export const FORMAT_VERSION = 1;

export interface Summary {
  ours_jobs_per_s: number;
  graphile_jobs_per_s: number;
  pgboss_jobs_per_s: number;
  floor_jobs_per_s: number;
  ours_round_trips_per_task: number;
}

export interface Results {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  startedAt: string;
  wallSeconds: number;
  mode: Settings['mode'];
  settings: Omit<Settings, 'outDir'>;
  machine: { cpus: number; node: string; postgres: string; platform: string };
  /** concurrency = drain invocations at once (ours), concurrentJobs (graphile-worker), fetch loops (pg-boss, floor). */
  throughput: ThroughputRow[];
  latency: LatencyRow[];
  enqueue: EnqueueRow[];
  beat: BeatResult;
  bundle: BundleResult;
  scaling: ScalingRow[];
  summary: Summary;
}

/** At batch 100, concurrency 16, pg driver, the run's base n. */
export function summarize(rows: ThroughputRow[], n: number): Summary {
  const pick = (system: string, variant: string) =>
    rows.find((r) => r.system === system && r.variant === variant && r.batch === 100 && r.concurrency === 16 && r.n === n);
  const ours = pick('ours', 'pg');
  return {
    ours_jobs_per_s: Math.round(ours?.jobsPerS ?? 0),
    graphile_jobs_per_s: Math.round(pick('graphile-worker', 'batched')?.jobsPerS ?? 0),
    pgboss_jobs_per_s: Math.round(pick('pg-boss', 'fetch+complete')?.jobsPerS ?? 0),
    floor_jobs_per_s: Math.round(pick('floor', 'upstream')?.jobsPerS ?? 0),
    ours_round_trips_per_task: ours?.roundTripsPerTask ?? 0,
  };
}

export function summaryLine(s: Summary): string {
  return `summary: ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

export function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

function table(head: string[], body: (string | number)[][]): string {
  const cells = [head, ...body.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toLocaleString('en-US'));

export function renderTables(r: Results): string {
  const out: string[] = [];
  out.push(
    `### Drain throughput (no-op tasks; median of ${r.settings.rounds} rounds; concurrency = parallel drain invocations for ours, concurrentJobs for graphile-worker, parallel loops for pg-boss and the floor)`,
    table(
      ['system', 'variant', 'batch', 'conc.', 'n', 'jobs/s', 'round trips/task', 'ours ÷ this'],
      r.throughput.map((t) => [t.system, t.variant, t.batch ?? '1 (no batching)', t.concurrency, fmt(t.n), fmt(t.jobsPerS), t.roundTripsPerTask, fmt(t.oursOverThis)]),
    ),
  );
  out.push(
    '### Edge-like latency (Neon WebSocket driver through the local proxy, one drain, batch 100)',
    table(
      ['one-way delay ms', 'tasks', 'wall ms', 'round trips', 'floor ms (RT × 2 × delay)', 'overhead ms'],
      r.latency.map((l) => [l.oneWayDelayMs, l.tasks, fmt(l.wallMs), l.roundTrips, fmt(l.floorMs), fmt(l.overheadMs)]),
    ),
  );
  out.push(
    '### Enqueue (pg driver, sequential calls)',
    table(
      ['system', 'api', 'rows/call', 'rows', 'rows/s', 'round trips/call'],
      r.enqueue.map((e) => [e.system, e.api, e.perCall, fmt(e.rows), fmt(e.rowsPerS), e.roundTripsPerCall]),
    ),
  );
  const b = r.beat;
  out.push('### Beat', b.status === 'ok' ? `tick with ${fmt(b.dueTasks)} due periodic tasks: ${fmt(b.tickMs)} ms, ${b.roundTrips} round trips, ${fmt(b.enqueued)} task_runs` : `${b.status}: ${b.reason}`);
  const w = r.bundle;
  out.push('### Worker bundle', w.status === 'ok' ? `wrangler --dry-run --minify: ${w.rawKiB} KiB, gzip ${w.gzipKiB} KiB; module evaluation in workerd ${w.coldStartMs} ms (median)` : `${w.status}: ${w.reason}`);
  out.push(
    '### Scaling (SUCCESSFUL history already in task_runs; ours, pg, batch 100, 16 drains)',
    table(
      ['history rows', 'queued', 'jobs/s', 'round trips/task', 'claim scan', 'claim exec ms', 'planning ms', 'table MiB', 'indexes MiB', 'dead tuples after'],
      r.scaling.map((s) => [fmt(s.historyRows), fmt(s.queued), fmt(s.jobsPerS), s.roundTripsPerTask, s.claimScan, s.claimExecMs, s.claimPlanningMs, s.tableMiB, s.indexesMiB, fmt(s.deadTuplesAfter)]),
    ),
  );
  return out.join('\n\n');
}
