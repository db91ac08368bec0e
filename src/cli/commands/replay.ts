import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';
import { replayTask } from '../../runs/replay.ts';
import { resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

export function registerReplay(program: Command): void {
  withDbFlags(
    program
      .command('replay')
      .description('enqueue a copy of a past task (by id, or the latest row with a spec_hash) to run now'),
  )
    .option('--id <result_id>', 'task to copy', resultId)
    .option('--spec-hash <hash>', 'copy the latest task with this spec_hash')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { id?: number; specHash?: string; json?: boolean }) => {
      if ((flags.id === undefined) === (flags.specHash === undefined)) {
        throw new ValidationError('--id/--spec-hash', 'provide exactly one of --id or --spec-hash');
      }
      await withDb(flags, async (db) => {
        const r = await replayTask(db, flags.id !== undefined ? { id: flags.id } : { specHash: flags.specHash! });
        output(flags.json, r, () => `Requeued task ${r.sourceId}${flags.specHash ? ` (spec_hash ${flags.specHash})` : ''} as new result_id ${r.resultId}.`);
      });
    });
}
