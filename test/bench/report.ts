/** The printed table, the versioned JSON result file and the machine-readable summary line. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BeatResult } from './beatBench.ts';
import type { BundleResult } from './bundle.ts';
import type { EnqueueRow } from './enqueueBench.ts';
import type { ForeignClaimRow } from './foreignClaim.ts';
import type { LatencyRow } from './latency.ts';
import type { ScalingRow } from './scaling.ts';
import type { Settings } from './settings.ts';
import { sig } from './stats.ts';
import type { ThroughputRow } from './throughput.ts';

/** Bump when a field changes meaning or goes away; adding fields keeps the version. */
export const FORMAT = 'reproq-edge-bench';
export const FORMAT_VERSION = 1;

/** Keys are only ever appended, so a parser of an older line keeps working. */
export interface Summary {
  ours_jobs_per_s: number;
  graphile_jobs_per_s: number;
  pgboss_jobs_per_s: number;
  floor_jobs_per_s: number;
  ours_round_trips_per_task: number;
  graphile_enqueue_single_rows_per_s: number;
  ours_enqueue_single_rows_per_s: number;
  graphile_enqueue_bulk_rows_per_s: number;
  ours_enqueue_bulk_rows_per_s: number;
  bundle_gzip_kib: number;
  worker_eval_ms: number;
  bare_hono_eval_ms: number;
  foreign_claim_ratio: number;
  future_claim_ratio: number;
}

export interface Results {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  startedAt: string;
  wallSeconds: number;
  mode: Settings['mode'];
  settings: Omit<Settings, 'outDir'>;
  /** loadAverage: the 1, 5 and 15-minute load averages when the run started and ended. */
  machine: { cpus: number; node: string; postgres: string; platform: string; loadAverage: { start: number[]; end: number[] } };
  /** concurrency = drain invocations at once (ours), concurrentJobs (graphile-worker), fetch loops (pg-boss, floor). */
  throughput: ThroughputRow[];
  latency: LatencyRow[];
  enqueue: EnqueueRow[];
  foreignClaim: ForeignClaimRow[];
  beat: BeatResult;
  bundle: BundleResult;
  scaling: ScalingRow[];
  summary: Summary;
}

/** At batch 100, concurrency 16, pg driver, the run's base n. */
export function summarize(rows: ThroughputRow[], n: number): Pick<Summary, 'ours_jobs_per_s' | 'graphile_jobs_per_s' | 'pgboss_jobs_per_s' | 'floor_jobs_per_s' | 'ours_round_trips_per_task'> {
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

/** Enqueue (1 and 1,000 rows per call), the Worker bundle and the shared-database claims; 0 when not measured. */
export function summarizeRest(enqueue: EnqueueRow[], bundle: BundleResult, claims: ForeignClaimRow[]): Omit<Summary, keyof ReturnType<typeof summarize>> {
  const rate = (system: string, perCall: number) => Math.round(enqueue.find((e) => e.system === system && e.perCall === perCall)?.rowsPerS ?? 0);
  const ok = bundle.status === 'ok' ? bundle : null;
  const ratio = (scenario: string) => claims.find((c) => c.scenario === scenario)?.ratio ?? 0;
  return {
    graphile_enqueue_single_rows_per_s: rate('graphile-worker', 1),
    ours_enqueue_single_rows_per_s: rate('ours', 1),
    graphile_enqueue_bulk_rows_per_s: rate('graphile-worker', 1000),
    ours_enqueue_bulk_rows_per_s: rate('ours', 1000),
    bundle_gzip_kib: ok?.gzipKiB ?? 0,
    worker_eval_ms: ok?.coldStartMs ?? 0,
    bare_hono_eval_ms: ok?.bareHono.evalMs ?? 0,
    foreign_claim_ratio: ratio('foreign_paths'),
    future_claim_ratio: ratio('future_run_after'),
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
  const load = r.machine.loadAverage;
  out.push(`Machine: ${r.machine.cpus} CPUs, PostgreSQL ${r.machine.postgres}, Node ${r.machine.node}; load average (1/5/15 min) ${load.start.join(' / ')} at the start, ${load.end.join(' / ')} at the end.`);
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
  const oursEnqueue = (perCall: number) => r.enqueue.find((e) => e.system === 'ours' && e.perCall === perCall)?.rowsPerS;
  out.push(
    `### Enqueue (pg driver, sequential calls; median of ${r.settings.rounds} rounds, a fresh database per system and round; CPU µs per row of this process and of the database backends)`,
    table(
      ['system', 'api', 'rows/call', 'rows', 'rows/s', 'ours ÷ this', 'round trips/call', 'client CPU µs/row', 'server CPU µs/row'],
      r.enqueue.map((e) => {
        const ours = oursEnqueue(e.perCall);
        return [e.system, e.api, e.perCall, fmt(e.rows), fmt(e.rowsPerS), ours ? sig(ours / e.rowsPerS) : '-', e.roundTripsPerCall, e.clientCpuUsPerRow, fmt(e.serverCpuUsPerRow)];
      }),
    ),
  );
  out.push(
    `### Claims on a shared database (our 100 tasks, batch 100, one drain, after a first drain of 100; other READY rows queued before ours in the same queue; median of ${r.settings.rounds} rounds)`,
    table(
      ['scenario', 'other READY rows', 'ms per statement', 'statements', '÷ empty'],
      r.foreignClaim.map((c) => [c.scenario, fmt(c.otherReady), c.msPerStatement, c.statements, c.ratio]),
    ),
  );
  const b = r.beat;
  out.push('### Beat', b.status === 'ok' ? `tick with ${fmt(b.dueTasks)} due periodic tasks: ${fmt(b.tickMs)} ms, ${b.roundTrips} round trips, ${fmt(b.enqueued)} task_runs` : `${b.status}: ${b.reason}`);
  const w = r.bundle;
  out.push(
    '### Worker bundle',
    w.status === 'ok'
      ? [
          `wrangler --dry-run --minify: ${w.rawKiB} KiB, gzip ${w.gzipKiB} KiB; module evaluation in workerd ${w.coldStartMs} ms (median of ${w.evalRuns.length}: ${w.evalRuns.join(', ')})`,
          `bare Hono Worker, same run: ${w.bareHono.rawKiB} KiB, gzip ${w.bareHono.gzipKiB} KiB; module evaluation ${w.bareHono.evalMs} ms (${w.bareHono.evalRuns.join(', ')})`,
        ].join('\n')
      : `${w.status}: ${w.reason}`,
  );
  out.push(
    '### Scaling (SUCCESSFUL history already in task_runs; ours, pg, batch 100, 16 drains)',
    table(
      ['history rows', 'queued', 'jobs/s', 'round trips/task', 'claim scan', 'claim exec ms', 'planning ms', 'table MiB', 'indexes MiB', 'dead tuples after'],
      r.scaling.map((s) => [fmt(s.historyRows), fmt(s.queued), fmt(s.jobsPerS), s.roundTripsPerTask, s.claimScan, s.claimExecMs, s.claimPlanningMs, s.tableMiB, s.indexesMiB, fmt(s.deadTuplesAfter)]),
    ),
  );
  return out.join('\n\n');
}
