/**
 * Edge-like latency: one drain of a small queue over the Neon WebSocket driver, through the local
 * proxy with an injected one-way delay, against the floor of round trips × RTT.
 */
import { startWsProxy } from '../../src/dev/wsproxy.ts';
import { createDb } from './databases.ts';
import { counted } from './roundTrips.ts';
import { sig } from './stats.ts';
import { fillOurs, openOurs, warm } from './systems/ours.ts';
import { drain } from '../../src/drain.ts';
import { silentLogger } from '../../src/logger.ts';
import { TaskRegistry, defineTask } from '../../src/tasks/registry.ts';
import { NOOP_PATH } from './systems/ours.ts';
import { expectAll, withTimeout } from './systems/types.ts';

export interface LatencyRow {
  oneWayDelayMs: number;
  tasks: number;
  batch: number;
  wallMs: number;
  roundTrips: number;
  /** round trips × 2 × one-way delay: what the link alone costs. */
  floorMs: number;
  /** Wall time above the link floor: SQL and JavaScript. */
  overheadMs: number;
}

const BATCH = 100;

export async function measureLatency(tasks: number, delays: number[]): Promise<LatencyRow[]> {
  const tpl = await createDb('tpl_latency');
  const rows: LatencyRow[] = [];
  try {
    await fillOurs(tpl.url, tasks);
    for (const delayMs of delays) {
      const proxy = await startWsProxy({ port: 0, delayMs });
      const db = await createDb('latency', tpl.name);
      const conn = openOurs(db.url, 'neon-ws', 1, `127.0.0.1:${proxy.port}`);
      try {
        await warm(conn, 1);
        const registry = new TaskRegistry([defineTask({ path: NOOP_PATH, handler: () => undefined })]);
        const started = performance.now();
        const { value, roundTrips } = await counted(() =>
          withTimeout(
            'latency drain',
            drain({ db: conn, registry, logger: silentLogger }, { batchSize: BATCH, concurrency: BATCH, budgetMs: 600_000, allowedTaskModules: ['*'] }),
          ),
        );
        const wallMs = performance.now() - started;
        expectAll('latency drain', value.succeeded, tasks);
        const floorMs = roundTrips * 2 * delayMs;
        rows.push({ oneWayDelayMs: delayMs, tasks, batch: BATCH, wallMs: sig(wallMs), roundTrips, floorMs, overheadMs: sig(wallMs - floorMs) });
      } finally {
        await conn.close();
        await proxy.close();
        await db.drop();
      }
    }
  } finally {
    await tpl.drop();
  }
  return rows;
}
