/**
 * Drain throughput side by side: every configuration drains `n` pre-queued no-op tasks from a
 * fresh clone of its system's filled template; rounds alternate the order, and the median wins.
 */
import { type BenchDb, createDb } from './databases.ts';
import type { Settings } from './settings.ts';
import { median, sig } from './stats.ts';
import { type FloorTable, fillMinimal, runFloor } from './systems/floor.ts';
import { fillGraphile, runGraphile } from './systems/graphile.ts';
import { type OurDriver, fillOurs, runOurs } from './systems/ours.ts';
import { fillPgBoss, runPgBoss } from './systems/pgboss.ts';
import type { DrainRun } from './systems/types.ts';

export type System = 'ours' | 'graphile-worker' | 'pg-boss' | 'floor';

export interface Config {
  system: System;
  /** ours: the driver; graphile-worker: batched | unbatched; floor: upstream | minimal table. */
  variant: string;
  /** Tasks per claim; null for graphile-worker unbatched (one job per fetch). */
  batch: number | null;
  concurrency: number;
  n: number;
}

export interface ThroughputRow extends Config {
  runs: { jobsPerS: number; roundTripsPerTask: number; ms: number }[];
  jobsPerS: number;
  roundTripsPerTask: number;
  /** Our pg drain at the same batch (100 for unbatched rows) and concurrency, divided by this row. */
  oursOverThis: number | null;
}

/** The template a configuration clones; the upstream floor runs on our filled task_runs. */
type Fill = 'ours' | 'minimal' | 'graphile' | 'pgboss';
const FILL: Record<Fill, (url: string, n: number) => Promise<void>> = {
  ours: fillOurs,
  minimal: fillMinimal,
  graphile: fillGraphile,
  pgboss: fillPgBoss,
};

function fillOf(c: Config): Fill {
  if (c.system === 'ours') return 'ours';
  if (c.system === 'floor') return c.variant === 'minimal' ? 'minimal' : 'ours';
  return c.system === 'graphile-worker' ? 'graphile' : 'pgboss';
}

/** The matrix a mode measures. Batch 1 drains a tenth of n: at one task per round trip it is slow. */
export function configs(s: Settings): Config[] {
  const out: Config[] = [];
  const batched = s.batches.filter((b) => b >= 10);
  for (const concurrency of s.concurrencies) {
    for (const batch of s.batches) {
      const n = batch === 1 ? Math.max(100, Math.ceil(s.n / 10)) : s.n;
      out.push({ system: 'ours', variant: 'pg', batch, concurrency, n });
      // The quick and smoke modes keep one Neon row, the one the summary's peers are compared at.
      if (s.mode === 'full' || concurrency === 16) out.push({ system: 'ours', variant: 'neon-ws', batch, concurrency, n });
    }
    for (const batch of batched.filter((b) => b >= 100)) {
      out.push({ system: 'graphile-worker', variant: 'batched', batch, concurrency, n: s.n });
    }
    if (s.mode === 'full' || concurrency === 16) {
      out.push({ system: 'graphile-worker', variant: 'unbatched', batch: null, concurrency, n: s.n });
    }
    for (const batch of batched) {
      out.push({ system: 'pg-boss', variant: 'fetch+complete', batch, concurrency, n: s.n });
      for (const table of ['upstream', 'minimal'] as const) out.push({ system: 'floor', variant: table, batch, concurrency, n: s.n });
    }
  }
  if (s.bigN !== null) {
    for (const c of out.filter((c) => c.batch === 100 && c.concurrency === 16 && c.variant !== 'neon-ws' && c.variant !== 'unbatched')) {
      out.push({ ...c, n: s.bigN });
    }
  }
  return out;
}

export interface ThroughputContext {
  wsProxy: string;
  log(line: string): void;
}

export async function measureThroughput(s: Settings, ctx: ThroughputContext): Promise<ThroughputRow[]> {
  const list = configs(s);
  const templates = new Map<string, BenchDb>();
  const template = async (fill: Fill, n: number): Promise<BenchDb> => {
    const key = `${fill}_${n}`;
    let db = templates.get(key);
    if (!db) {
      const started = performance.now();
      db = await createDb(`tpl_${key}`);
      await FILL[fill](db.url, n);
      templates.set(key, db);
      ctx.log(`filled ${fill} template with ${n} tasks in ${Math.round(performance.now() - started)} ms`);
    }
    return db;
  };

  const runs = new Map<Config, DrainRun[]>(list.map((c) => [c, []]));
  // The big queue is slow to fill and to drain: one round is what a full run affords.
  const bigRounds = (c: Config) => (c.n === s.bigN ? 1 : s.rounds);
  for (let round = 0; round < s.rounds; round++) {
    const order = round % 2 === 0 ? list : [...list].reverse();
    for (const c of order) {
      if (round >= bigRounds(c)) continue;
      const tpl = await template(fillOf(c), c.n);
      const db = await createDb(c.system.replace('-', ''), tpl.name);
      try {
        const run = await runOne(c, db.url, ctx);
        runs.get(c)!.push(run);
        ctx.log(`round ${round + 1}: ${label(c)} ${Math.round((run.tasks / run.ms) * 1000)} jobs/s`);
      } finally {
        await db.drop();
      }
    }
  }
  for (const db of templates.values()) await db.drop();

  const rows: ThroughputRow[] = list.map((c) => {
    const r = runs.get(c)!.map((run) => ({
      jobsPerS: sig((run.tasks / run.ms) * 1000),
      roundTripsPerTask: sig(run.roundTrips / run.tasks, 4),
      ms: Math.round(run.ms),
    }));
    return {
      ...c,
      runs: r,
      jobsPerS: sig(median(r.map((x) => x.jobsPerS))),
      roundTripsPerTask: sig(median(r.map((x) => x.roundTripsPerTask)), 4),
      oursOverThis: null,
    };
  });
  for (const row of rows) {
    const ours = rows.find(
      (o) => o.system === 'ours' && o.variant === 'pg' && o.batch === (row.batch ?? 100) && o.concurrency === row.concurrency && o.n === row.n,
    );
    row.oursOverThis = ours ? sig(ours.jobsPerS / row.jobsPerS) : null;
  }
  return rows;
}

function runOne(c: Config, url: string, ctx: ThroughputContext): Promise<DrainRun> {
  switch (c.system) {
    case 'ours':
      return runOurs(url, c.n, { driver: c.variant as OurDriver, batch: c.batch!, concurrency: c.concurrency, wsProxy: ctx.wsProxy });
    case 'graphile-worker':
      return runGraphile(url, c.n, { batch: c.batch, concurrency: c.concurrency });
    case 'pg-boss':
      return runPgBoss(url, c.n, { batch: c.batch!, concurrency: c.concurrency });
    case 'floor':
      return runFloor(url, c.n, c.variant as FloorTable, c.batch!, c.concurrency);
  }
}

export function label(c: Config): string {
  return `${c.system} ${c.variant} batch=${c.batch ?? '-'} c=${c.concurrency} n=${c.n}`;
}
