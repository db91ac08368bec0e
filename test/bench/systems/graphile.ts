/** graphile-worker 0.17: `addJobs` to fill, one `runOnce` worker pool to drain. */
import { Logger, makeWorkerUtils, runMigrations, runOnce } from 'graphile-worker';
import pg from 'pg';
import { counted } from '../roundTrips.ts';
import { type DrainRun, expectAll, withTimeout } from './types.ts';

const silent = new Logger(() => () => {});
const CHUNK = 1000;

export async function fillGraphile(url: string, n: number): Promise<void> {
  await runMigrations({ connectionString: url, logger: silent });
  const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
  try {
    for (let i = 0; i < n; i += CHUNK) {
      await utils.addJobs(Array.from({ length: Math.min(CHUNK, n - i) }, (_, k) => ({ identifier: 'noop', payload: { i: i + k } })));
    }
  } finally {
    await utils.release();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('VACUUM ANALYZE').finally(() => client.end());
}

export interface GraphileOptions {
  /** localQueue size (jobs fetched per query) with batched completion; null = batching off. */
  batch: number | null;
  /** concurrentJobs of the one pool, as a graphile user scales a worker. */
  concurrency: number;
}

/**
 * `runOnce` drains until no job is runnable, like `graphile-worker --once`. Batching on is the
 * documented fast path: `localQueue.size` = batch, `completeJobBatchDelay: 0`,
 * `failJobBatchDelay: 0`; off is `localQueue.size: -1` and both delays -1 (the defaults).
 */
export async function runGraphile(url: string, queued: number, o: GraphileOptions): Promise<DrainRun> {
  const pgPool = new pg.Pool({ connectionString: url, max: o.concurrency + 2 });
  // graphile-worker checks that the pool and its clients have error handlers.
  pgPool.on('error', () => {});
  pgPool.on('connect', (client) => client.on('error', () => {}));
  let done = 0;
  try {
    await Promise.all(Array.from({ length: o.concurrency + 2 }, () => pgPool.query('SELECT 1')));
    const worker =
      o.batch === null
        ? { localQueue: { size: -1 }, completeJobBatchDelay: -1, failJobBatchDelay: -1 }
        : { localQueue: { size: Math.max(o.batch, o.concurrency) }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };
    const started = performance.now();
    const { roundTrips } = await counted(() =>
      withTimeout(
        'graphile runOnce',
        runOnce({
          pgPool,
          logger: silent,
          concurrency: o.concurrency,
          noHandleSignals: true,
          taskList: { noop: async () => void done++ },
          preset: { worker },
        }),
      ),
    );
    const ms = performance.now() - started;
    expectAll('graphile-worker', done, queued);
    return { tasks: done, ms, roundTrips };
  } finally {
    await pgPool.end();
  }
}
