import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { enqueueMany, type EnqueueInput } from '../../enqueue.ts';
import { debugNoopTask } from '../../tasks/debug.ts';
import { int, number } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';
import { progressBar } from '../progress.ts';

/** Items per enqueueMany statement. */
const CHUNK = 1000;

export function registerStressTest(program: Command): void {
  withDbFlags(
    program
      .command('stress-test')
      .description(`enqueue N distinct ${debugNoopTask.path} tasks through bulk enqueue, to load-test workers`),
  )
    .option('--count <n>', 'tasks to enqueue', int(1, 10_000_000), 100)
    .option('--sleep <seconds>', 'how long each task sleeps', number(0), 0)
    .option('--queue <name>', 'queue to use', 'default')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { count: number; sleep: number; queue: string; json?: boolean }) => {
      await withDb(flags, async (db) => {
        if (!flags.json) console.log(`Enqueueing ${flags.count} tasks (sleep=${flags.sleep}s)...`);
        // Upstream enqueues N identical specs, which dedup collapses into one row. A run id and a sequence
        // number make every spec distinct, so N tasks really are N rows.
        const run = randomUUID();
        const bar = progressBar('enqueueing', flags.count, flags.json);
        const started = performance.now();
        let inserted = 0;
        try {
          for (let from = 0; from < flags.count; from += CHUNK) {
            const items: EnqueueInput[] = [];
            for (let i = from; i < Math.min(from + CHUNK, flags.count); i++) {
              items.push({ taskPath: debugNoopTask.path, queue: flags.queue, kwargs: { sleep_seconds: flags.sleep, stress_run: run, seq: i } });
            }
            const results = await enqueueMany(db, items);
            inserted += results.filter((r) => !r.deduplicated).length;
            bar.update(from + items.length);
          }
        } finally {
          bar.stop();
        }
        const seconds = (performance.now() - started) / 1000;
        const rate = flags.count / Math.max(seconds, 1e-6);
        output(flags.json, { enqueued: inserted, seconds, tasksPerSecond: rate, run }, () =>
          `Enqueued ${inserted} tasks in ${seconds.toFixed(2)}s (${rate.toFixed(1)} tasks/sec).\nRun 'reproq worker' to process them.`,
        );
      });
    });
}
