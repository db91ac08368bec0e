import type { Command } from 'commander';
import { TaskStateError, ValidationError } from '../../errors.ts';
import { listFailedTasks } from '../../runs/failed.ts';
import { getTask } from '../../runs/get.ts';
import { retryFailedTasks, retryTask } from '../../runs/retry.ts';
import { int, resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

/** Upstream's dead-letter triage: FAILED rows are the DLQ. */
export function registerTriage(program: Command): void {
  const triage = program.command('triage').description('list, inspect and retry FAILED tasks (the dead-letter queue)');

  withDbFlags(triage.command('list').description('FAILED tasks, newest failure first'))
    .option('--limit <n>', 'rows to show', int(1, 1000), 50)
    .option('--queue <name>', 'only this queue')
    .option('--json', 'print the rows as JSON')
    .action(async (flags: DbFlags & { limit: number; queue?: string; json?: boolean }) => {
      await withDb(flags, async (db) => {
        const rows = await listFailedTasks(db, { limit: flags.limit, queue: flags.queue });
        output(flags.json, rows, () =>
          rows.length === 0
            ? 'No failed tasks.'
            : ['ID\tQueue\tTask\tAttempts\tFailedAt\tLastError']
                .concat(rows.map((r) => [r.result_id, r.queue_name, r.task_path, `${r.attempts}/${r.max_attempts}`, iso(r.failed_at), r.last_error ?? ''].join('\t')))
                .join('\n'),
        );
      });
    });

  withDbFlags(triage.command('inspect').description('one FAILED task with its spec and error history'))
    .requiredOption('--id <result_id>', 'task to show', resultId)
    .option('--json', 'print the row as JSON')
    .action(async (flags: DbFlags & { id: number; json?: boolean }) => {
      await withDb(flags, async (db) => {
        const r = await getTask(db, flags.id);
        if (r.status !== 'FAILED') throw new TaskStateError(r.result_id, r.status, `task ${r.result_id} is ${r.status}, not FAILED (see \`reproq task ${r.result_id}\`)`);
        output(flags.json, r, () =>
          [
            `Result ID: ${r.result_id}`,
            `Queue: ${r.queue_name}`,
            `Task Path: ${r.task_path}`,
            `Status: ${r.status}`,
            `Attempts: ${r.attempts}/${r.max_attempts}`,
            `Failed At: ${iso(r.failed_at)}`,
            `Last Error: ${r.last_error ?? ''}`,
            `Logs: ${r.logs_uri ?? ''}`,
            `Args: ${JSON.stringify(r.args)}`,
            `Kwargs: ${JSON.stringify(r.kwargs)}`,
            `Errors JSON: ${JSON.stringify(r.errors_json, null, 2)}`,
          ].join('\n'),
        );
      });
    });

  withDbFlags(triage.command('retry').description('reset FAILED tasks to READY with attempts 0 (error history kept)'))
    .option('--id <result_id>', 'task to retry', resultId)
    .option('--all', 'retry every FAILED task')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { id?: number; all?: boolean; json?: boolean }) => {
      if (flags.id === undefined && !flags.all) throw new ValidationError('--id/--all', 'provide --id or --all');
      await withDb(flags, async (db) => {
        const r = flags.all ? await retryFailedTasks(db) : await retryTask(db, flags.id!);
        output(flags.json, r, () => (r.retried.length === 0 ? 'No failed tasks updated.' : `Retried ${r.retried.length} task(s).`));
      });
    });
}

export function iso(d: Date | string | null): string {
  return d === null ? '' : new Date(d).toISOString();
}
