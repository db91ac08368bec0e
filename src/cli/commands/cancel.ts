import type { Command } from 'commander';
import { cancelTask, type CancelResult } from '../../runs/cancel.ts';
import { resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

export function registerCancel(program: Command): void {
  withDbFlags(
    program
      .command('cancel')
      .description('cancel a task: READY/WAITING become CANCELLED now; RUNNING gets cancel_requested, honoured at the next lease renewal'),
  )
    .requiredOption('--id <result_id>', 'task to cancel', resultId)
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { id: number; json?: boolean }) => {
      await withDb(flags, async (db) => {
        const r = await cancelTask(db, flags.id);
        output(flags.json, r, () => describe(r));
      });
    });
}

function describe(r: CancelResult): string {
  switch (r.outcome) {
    case 'cancelled':
      return `Cancelled task ${r.resultId} (was ${r.before})${r.dependants > 0 ? ` and ${r.dependants} workflow task(s) waiting on it` : ''}.`;
    case 'cancel_requested':
      return `Cancel requested for task ${r.resultId} (RUNNING): its worker stops it at the next lease renewal.`;
    case 'already_requested':
      return `Cancel already requested for task ${r.resultId}.`;
    case 'already_finished':
      return `Task ${r.resultId} is already ${r.before}; nothing to cancel.`;
  }
}
