/**
 * Beat tick cost with many due periodic tasks. src/beat.ts is written separately; until it lands
 * this section reports n/a rather than failing.
 */
import { existsSync } from 'node:fs';
import { pgDb } from '../../src/db/pg.ts';
import type { Db } from '../../src/db/types.ts';
import { migrate } from '../../src/migrate.ts';
import { createDb } from './databases.ts';
import { counted } from './roundTrips.ts';
import { sig } from './stats.ts';

export type BeatResult =
  | { status: 'ok'; dueTasks: number; tickMs: number; roundTrips: number; enqueued: number }
  | { status: 'n/a' | 'error'; reason: string };

const BEAT_MODULE = new URL('../../src/beat.ts', import.meta.url);

export async function measureBeat(dueTasks: number): Promise<BeatResult> {
  if (!existsSync(BEAT_MODULE)) return { status: 'n/a', reason: 'src/beat.ts not present' };
  // Typed loosely on purpose: the module may land after this harness.
  const mod = (await import(BEAT_MODULE.href)) as { beat?: (db: Db, opts: Record<string, unknown>) => Promise<unknown> };
  if (typeof mod.beat !== 'function') return { status: 'n/a', reason: 'src/beat.ts exports no beat()' };
  const bench = await createDb('beat');
  const db = pgDb({ connectionString: bench.url, max: 2 });
  try {
    await migrate(db);
    await db.query(
      `INSERT INTO periodic_tasks (name, cron_expr, task_path, payload_json, next_run_at)
       SELECT 'bench-' || i, '* * * * *', 'bench.noop', '{"args": [], "kwargs": {}}', now() - interval '30 seconds'
       FROM generate_series(1, $1) i`,
      [dueTasks],
    );
    await db.query('VACUUM ANALYZE periodic_tasks');
    const started = performance.now();
    const { roundTrips } = await counted(() => mod.beat!(db, {}));
    const tickMs = performance.now() - started;
    const res = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM task_runs`);
    return { status: 'ok', dueTasks, tickMs: sig(tickMs), roundTrips, enqueued: res.rows[0]!.n };
  } catch (err) {
    return { status: 'error', reason: err instanceof Error ? err.message : String(err) };
  } finally {
    await db.close();
    await bench.drop();
  }
}
