import type { Command } from 'commander';
import { pauseQueue, resumeQueue } from '../../queues.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

/** Upstream's positional form (`pause-queue NAME`); its docs' `--queue NAME` never parsed. */
export function registerQueueControls(program: Command): void {
  withDbFlags(
    program
      .command('pause-queue')
      .description('stop workers claiming from a queue (running tasks finish)')
      .argument('<queue>', 'queue name'),
  )
    .option('--reason <text>', 'why, shown in status and the Django admin', '')
    .option('--json', 'print the result as JSON')
    .action(async (queue: string, flags: DbFlags & { reason: string; json?: boolean }) => {
      await withDb(flags, async (db) => {
        const r = await pauseQueue(db, queue, { reason: flags.reason });
        output(flags.json, r, () => `Paused queue ${r.queue}.`);
      });
    });

  withDbFlags(program.command('resume-queue').description('let workers claim from a paused queue again').argument('<queue>', 'queue name'))
    .option('--json', 'print the result as JSON')
    .action(async (queue: string, flags: DbFlags & { json?: boolean }) => {
      await withDb(flags, async (db) => {
        const r = await resumeQueue(db, queue);
        output(flags.json, r, () => `Resumed queue ${r.queue}.`);
      });
    });
}
