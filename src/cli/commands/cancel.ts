import type { Command } from 'commander';
import { ReproqError } from '../../errors.ts';
import { CANCEL_TASK } from '../../sql/cancelTask.ts';
import { resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

interface CancelRow {
  result_id: number;
  before: string;
  after: string;
  already_requested: boolean;
  changed: boolean;
  dependants: number;
}

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
        const r = (await db.query<CancelRow>(CANCEL_TASK, [flags.id])).rows[0];
        if (!r) throw new ReproqError(`task run ${flags.id} not found`);
        output(flags.json, { resultId: flags.id, before: r.before, after: r.after, changed: r.changed, dependants: r.dependants }, () => describe(r));
      });
    });
}

function describe(r: CancelRow): string {
  if (r.changed && r.after === 'CANCELLED') {
    const also = r.dependants > 0 ? ` and ${r.dependants} workflow task(s) waiting on it` : '';
    return `Cancelled task ${r.result_id} (was ${r.before})${also}.`;
  }
  if (r.changed) return `Cancel requested for task ${r.result_id} (RUNNING): its worker stops it at the next lease renewal.`;
  if (r.before === 'RUNNING' && r.already_requested) return `Cancel already requested for task ${r.result_id}.`;
  return `Task ${r.result_id} is already ${r.before}; nothing to cancel.`;
}
