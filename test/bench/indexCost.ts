/**
 * `npm run bench:indexes [-- --quick]`: what each index on task_runs costs the upstream-schema floor
 * (systems/floor.ts: bare claim + complete, 16 loops, batch 100), and what the opt-in light index set
 * (migrations/opt-in/light_indexes.sql) gives the floor and our drain, with graphile-worker alongside.
 *
 * Every run drains a fresh clone of a filled template: the full schema as `migrate` leaves it, the
 * same with one index dropped (each index except the primary key in turn: its cost is the floor
 * without it against the floor with it), or a template migrated with the light set. Rounds alternate
 * the order; the median of the rounds is reported. Besides jobs/s it reports the CPU time of the
 * database's backends per task (cpu.ts), which on a shared, loaded machine varies far less than
 * wall time does: an index's cost is mostly the CPU of writing its entries.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type BenchDb, createDb, dropOwnAndOrphans, serverUrl, serverVersion } from './databases.ts';
import { installRoundTripCounter } from './roundTrips.ts';
import { median, sig } from './stats.ts';
import { runFloor } from './systems/floor.ts';
import { fillGraphile, runGraphile } from './systems/graphile.ts';
import { fillOurs, runOurs } from './systems/ours.ts';
import type { DrainRun } from './systems/types.ts';

const USAGE = `usage: npm run bench:indexes -- [--quick] [--n N] [--rounds R]
  (default) N=20,000 tasks, 3 rounds: the floor on the full schema, without each index, on the light set;
            our drain on both sets and graphile-worker (batch 100, 16 drains)
  --quick   N=10,000, 1 round (under a minute; a single run is noisy)`;

const BATCH = 100;
const LOOPS = 16;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { quick: { type: 'boolean' }, n: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const n = Number(values.n ?? (values.quick ? 10_000 : 20_000));
const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
if (!Number.isInteger(n) || n < 100 || !Number.isInteger(rounds) || rounds < 1) throw new Error(USAGE);

type Template = 'full' | 'light' | 'graphile';
interface Run {
  label: string;
  template: Template;
  /** Dropped from the clone before the run. */
  drop?: string;
  system: 'floor' | 'ours' | 'graphile';
}

const t0 = performance.now();
const log = (line: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`);
const round2 = (x: number) => Math.round(x * 100) / 100;
const loadAtStart = loadavg().map(round2);

serverUrl();
installRoundTripCounter();
await dropOwnAndOrphans();

const templates: Record<Template, BenchDb> = {
  full: await filled('full', (url) => fillOurs(url, n)),
  light: await filled('light', (url) => fillOurs(url, n, { lightIndexes: true })),
  graphile: await filled('graphile', (url) => fillGraphile(url, n)),
};
try {
  const indexes = await taskRunsIndexes(templates.full);
  const runs: Run[] = [
    { label: 'floor full', template: 'full', system: 'floor' },
    ...indexes.map(({ name }) => ({ label: `floor -${name}`, template: 'full' as const, drop: name, system: 'floor' as const })),
    { label: 'floor light', template: 'light', system: 'floor' },
    // What narrowing idx_task_runs_lock_key as well would add at most (it is kept: the reclaims read it).
    { label: 'floor light -idx_task_runs_lock_key', template: 'light', drop: 'idx_task_runs_lock_key', system: 'floor' },
    { label: 'ours full', template: 'full', system: 'ours' },
    { label: 'ours light', template: 'light', system: 'ours' },
    { label: 'graphile', template: 'graphile', system: 'graphile' },
  ];
  const rates = new Map<string, number[]>(runs.map((r) => [r.label, []]));
  const cpus = new Map<string, number[]>(runs.map((r) => [r.label, []]));
  for (let round = 0; round < rounds; round++) {
    for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
      const r = await measure(run);
      const rate = (r.tasks / r.ms) * 1000;
      rates.get(run.label)!.push(rate);
      if (r.serverCpuMs != null) cpus.get(run.label)!.push((r.serverCpuMs * 1000) / r.tasks);
      log(`round ${round + 1}: ${run.label} ${Math.round(rate)} jobs/s, server CPU ${cpuText(cpus.get(run.label)!.at(-1))} µs/task`);
    }
  }
  const rate = (label: string) => sig(median(rates.get(label)!));
  const cpu = (label: string) => (cpus.get(label)!.length === rounds ? sig(median(cpus.get(label)!)) : undefined);
  const pct = (x: number | undefined, base: number | undefined) =>
    x === undefined || base === undefined ? '' : `${x >= base ? '+' : ''}${((x / base - 1) * 100).toFixed(1)}%`;
  const row = (what: string, def: string, label: string) =>
    `| ${what} | ${def} | ${rate(label)} | ${pct(rate(label), rate('floor full'))} | ${cpuText(cpu(label))} | ${pct(cpu(label), cpu('floor full'))} |`;

  console.log(`\nFloor (claim + complete, batch ${BATCH}, ${LOOPS} loops, ${n} tasks, median of ${rounds}), PostgreSQL ${await serverVersion()}`);
  console.log('| index dropped | definition | floor jobs/s | Δ jobs/s | server CPU µs/task | Δ CPU |');
  console.log('|---|---|---:|---:|---:|---:|');
  console.log(row('none (full schema)', '', 'floor full'));
  for (const { name, def } of indexes) console.log(row(name, `\`${def}\``, `floor -${name}`));
  console.log(row('light set instead (migrate --light-indexes)', '', 'floor light'));
  console.log(row('light set, and idx_task_runs_lock_key dropped', '', 'floor light -idx_task_runs_lock_key'));

  const graphile = rate('graphile');
  console.log(`\nDrain (batch ${BATCH}, ${LOOPS} drains, ${n} tasks, median of ${rounds})`);
  console.log('| system | jobs/s | server CPU µs/task | ÷ floor of its set | ÷ graphile-worker |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [what, label, floor] of [
    ['ours, upstream indexes', 'ours full', 'floor full'],
    ['ours, light indexes', 'ours light', 'floor light'],
  ] as const) {
    console.log(`| ${what} | ${rate(label)} | ${cpuText(cpu(label))} | ${sig(rate(label) / rate(floor))} | ${sig(rate(label) / graphile)} |`);
  }
  console.log(`| graphile-worker batched | ${graphile} | ${cpuText(cpu('graphile'))} | | 1 |`);
  console.log(`\nload average: start ${loadAtStart.join(' ')}, end ${loadavg().map(round2).join(' ')}`);
  console.log(
    `summary: floor_full_jobs_per_s=${rate('floor full')} floor_light_jobs_per_s=${rate('floor light')} ` +
      `floor_full_cpu_us_per_task=${cpuText(cpu('floor full'))} floor_light_cpu_us_per_task=${cpuText(cpu('floor light'))} ` +
      `ours_full_jobs_per_s=${rate('ours full')} ours_light_jobs_per_s=${rate('ours light')} graphile_jobs_per_s=${graphile} ` +
      `ours_light_over_graphile=${sig(rate('ours light') / graphile)}`,
  );
} finally {
  for (const db of Object.values(templates)) await db.drop();
}

function cpuText(us: number | undefined): string {
  return us === undefined ? 'n/a' : String(sig(us));
}

async function filled(label: Template, fill: (url: string) => Promise<void>): Promise<BenchDb> {
  const db = await createDb(`tpl_idx_${label}`);
  await fill(db.url);
  log(`filled the ${label} template with ${n} tasks`);
  return db;
}

/** Every index on task_runs but the primary key (parent_id's foreign key needs it), as the catalog prints it. */
async function taskRunsIndexes(db: BenchDb): Promise<{ name: string; def: string }[]> {
  return inDb(db, async (client) => {
    const r = await client.query<{ name: string; def: string }>(
      `SELECT ic.relname AS name, regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING btree ', '') AS def
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = 'task_runs'::regclass AND NOT i.indisprimary ORDER BY ic.relname`,
    );
    return r.rows;
  });
}

async function measure(run: Run): Promise<DrainRun> {
  const db = await createDb(`idx_${run.system}`, templates[run.template].name);
  try {
    if (run.drop) await inDb(db, (c) => c.query(`DROP INDEX ${run.drop}`));
    if (run.system === 'floor') return await runFloor(db.url, n, 'upstream', BATCH, LOOPS);
    if (run.system === 'ours') return await runOurs(db.url, n, { driver: 'pg', batch: BATCH, concurrency: LOOPS });
    return await runGraphile(db.url, n, { batch: BATCH, concurrency: LOOPS });
  } finally {
    await db.drop();
  }
}

/** One connection, closed before the database is cloned or dropped. */
async function inDb<T>(db: BenchDb, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
