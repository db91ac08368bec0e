/**
 * `npm run bench:prepared [-- --n 5000 --rounds 3 --batch 50 --concurrency 6]`: what leaving named
 * prepared statements off costs. Our pg drain empties `n` queued no-op tasks from a fresh clone,
 * directly with statements on and off, and through a PgBouncer in transaction mode (off: on, they
 * collide there). Rounds alternate the order; the median of each row is printed.
 */
import { parseArgs } from 'node:util';
import { createDb, dropOwnAndOrphans, serverUrl } from './databases.ts';
import { median, sig } from './stats.ts';
import { fillOurs, runOurs } from './systems/ours.ts';
import { PGBOUNCER, startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '6' },
  },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const concurrency = Number(values.concurrency);

interface Row {
  label: string;
  url: (db: string) => string;
  preparedStatements: boolean;
  jobsPerS: number[];
}

serverUrl();
await dropOwnAndOrphans();
let bouncer: PgBouncer | undefined;
try {
  const template = await createDb('prep_tpl');
  await fillOurs(template.url, n);
  bouncer = PGBOUNCER ? await startPgBouncer(serverUrl(), { poolSize: concurrency }) : undefined;
  const rows: Row[] = [
    { label: 'direct, prepared statements on', url: (u) => u, preparedStatements: true, jobsPerS: [] },
    { label: 'direct, prepared statements off', url: (u) => u, preparedStatements: false, jobsPerS: [] },
    ...(bouncer ? [{ label: 'PgBouncer (transaction mode), off', url: (u: string) => bouncer!.url(u), preparedStatements: false, jobsPerS: [] }] : []),
  ];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? rows : [...rows].reverse();
    for (const row of order) {
      const db = await createDb('prep', template.name);
      try {
        const run = await runOurs(row.url(db.url), n, { driver: 'pg', batch, concurrency, preparedStatements: row.preparedStatements });
        row.jobsPerS.push((run.tasks / run.ms) * 1000);
        console.error(`round ${round + 1}: ${row.label}: ${Math.round((run.tasks / run.ms) * 1000)} tasks/s`);
      } finally {
        await db.drop();
      }
    }
  }
  await template.drop();
  const base = median(rows[0]!.jobsPerS);
  console.log(`\n${n} no-op tasks, batch ${batch}, ${concurrency} drains at once, median of ${rounds} rounds (pg driver):`);
  for (const row of rows) {
    const m = median(row.jobsPerS);
    console.log(`  ${row.label.padEnd(36)} ${String(Math.round(m)).padStart(6)} tasks/s  (${sig((m / base) * 100)}% of direct with statements on)`);
  }
  if (!bouncer) console.log('  (no pgbouncer installed: apt-get install pgbouncer for the pooled row)');
} finally {
  await bouncer?.stop();
  await dropOwnAndOrphans();
}
