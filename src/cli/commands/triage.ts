import type { Command } from 'commander';
import { ReproqError, ValidationError } from '../../errors.ts';
import { TRIAGE_INSPECT } from '../../sql/triageInspect.ts';
import { TRIAGE_LIST } from '../../sql/triageList.ts';
import { TRIAGE_RETRY } from '../../sql/triageRetry.ts';
import { int, resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';
import { explainActiveSpec } from './replay.ts';

interface FailedRow {
  result_id: number;
  queue_name: string;
  task_path: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  failed_at: Date | null;
}

/** Upstream's dead-letter triage: FAILED rows are the DLQ. */
export function registerTriage(program: Command): void {
  const triage = program.command('triage').description('list, inspect and retry FAILED tasks (the dead-letter queue)');

  withDbFlags(triage.command('list').description('FAILED tasks, newest failure first'))
    .option('--limit <n>', 'rows to show', int(1), 50)
    .option('--queue <name>', 'only this queue')
    .option('--json', 'print the rows as JSON')
    .action(async (flags: DbFlags & { limit: number; queue?: string; json?: boolean }) => {
      await withDb(flags, async (db) => {
        const rows = (await db.query<FailedRow>(TRIAGE_LIST, [flags.limit, flags.queue ?? null])).rows;
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
        const r = (await db.query<FailedRow & Record<string, unknown>>(TRIAGE_INSPECT, [flags.id])).rows[0];
        if (!r) throw new ReproqError(`no FAILED task with result_id ${flags.id}`);
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
            `Spec JSON: ${JSON.stringify(r.spec_json, null, 2)}`,
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
        const target = flags.all ? null : flags.id!;
        let ids: number[];
        try {
          ids = (await db.query<{ result_id: number }>(TRIAGE_RETRY, [target])).rows.map((r) => Number(r.result_id));
        } catch (err) {
          throw await explainActiveSpec(db, err, null);
        }
        output(flags.json, { retried: ids }, () => (ids.length === 0 ? 'No failed tasks updated.' : `Retried ${ids.length} task(s).`));
      });
    });
}

function iso(d: Date | string | null): string {
  return d === null ? '' : new Date(d).toISOString();
}
