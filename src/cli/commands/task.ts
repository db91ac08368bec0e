import type { Command } from 'commander';
import { getTask, type TaskView } from '../../runs/get.ts';
import { resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';
import { iso } from './triage.ts';

export function registerTask(program: Command): void {
  withDbFlags(
    program
      .command('task')
      .description("show a task: status, result, errors, attempts, timestamps and workflow")
      .argument('<result_id>', 'the task id (enqueue prints it)', resultId),
  )
    .option('--json', 'print the task as JSON')
    .action(async (id: number, flags: DbFlags & { json?: boolean }) => {
      await withDb(flags, async (db) => {
        const t = await getTask(db, id);
        output(flags.json, t, () => describe(t));
      });
    });
}

function describe(t: TaskView): string {
  const line = (label: string, value: unknown) => (value === null || value === undefined || value === '' ? [] : [`  ${label.padEnd(12)}${value}`]);
  const errors = Array.isArray(t.errors_json) ? t.errors_json : [];
  return [
    `Task ${t.result_id}: ${t.status}${t.cancel_requested && t.status === 'RUNNING' ? ' (cancel requested)' : ''}`,
    ...line('path', t.task_path),
    ...line('queue', `${t.queue_name} (priority ${t.priority})`),
    ...line('attempts', `${t.attempts}/${t.max_attempts}`),
    ...line('args', JSON.stringify(t.args)),
    ...line('kwargs', JSON.stringify(t.kwargs)),
    ...line('enqueued', iso(t.enqueued_at)),
    ...line('run after', t.run_after && iso(t.run_after)),
    ...line('started', t.started_at && iso(t.started_at)),
    ...line('finished', t.finished_at && iso(t.finished_at)),
    ...line('failed', t.failed_at && iso(t.failed_at)),
    ...line('leased by', t.leased_by && `${t.leased_by} until ${iso(t.leased_until)}`),
    ...line('result', t.return_json === null ? null : JSON.stringify(t.return_json)),
    ...line('last error', t.last_error),
    ...line('logs', t.logs_uri),
    ...line('workflow', t.workflow_id && `${t.workflow_id}${t.parent_id ? ` (after task ${t.parent_id})` : ''}${t.workflow ? `: ${t.workflow.status}, ${t.workflow.success_count}/${t.workflow.expected_count} succeeded, ${t.workflow.failure_count} failed` : ''}`),
    ...(errors.length === 0 ? [] : [`  errors (${errors.length}):`, ...errors.map((e) => `    ${formatError(e)}`)]),
  ].join('\n');
}

function formatError(e: unknown): string {
  if (e === null || typeof e !== 'object') return JSON.stringify(e);
  const { at, kind, message } = e as { at?: unknown; kind?: unknown; message?: unknown };
  return `${typeof at === 'string' ? `${at} ` : ''}${typeof kind === 'string' ? `${kind}: ` : ''}${typeof message === 'string' ? message : JSON.stringify(e)}`;
}
