import type { Command } from 'commander';
import { ReproqError } from '../../errors.ts';
import { deletePeriodicTask, listPeriodicTasks, setPeriodicEnabled, upsertPeriodicTask, type PeriodicTask, type PeriodicTaskInput } from '../../periodic.ts';
import { int, parseJson } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';
import { iso } from './triage.ts';

interface AddFlags extends DbFlags {
  cron: string;
  task: string;
  args: string;
  kwargs: string;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  concurrencyKey?: string;
  concurrencyLimit?: number;
  disabled?: boolean;
  json?: boolean;
}

/** Periodic tasks (`periodic_tasks`) without Django: the cron expression is checked when written. */
export function registerPeriodic(program: Command): void {
  const periodic = program.command('periodic').description('add, list, enable, disable and remove periodic tasks (beat and pg_cron run them)');

  withDbFlags(periodic.command('add').description('create or replace a periodic task by name').argument('<name>', 'unique name'))
    .requiredOption('--cron <expr>', 'five-field cron expression, e.g. "*/5 * * * *" (TZ=Zone or CRON_TZ=Zone prefix for a time zone)')
    .requiredOption('--task <path>', 'task path, e.g. myapp.tasks.cleanup')
    .option('--args <json>', 'positional arguments as a JSON array', '[]')
    .option('--kwargs <json>', 'keyword arguments as a JSON object', '{}')
    .option('--queue <name>', 'queue (default: default)')
    .option('--priority <n>', 'priority, -100..100', int(-100, 100))
    .option('--max-attempts <n>', 'attempts per run', int(1, 1000))
    .option('--concurrency-key <key>', 'at most --concurrency-limit RUNNING tasks per key')
    .option('--concurrency-limit <n>', 'see --concurrency-key', int(0))
    .option('--disabled', 'create it disabled')
    .option('--json', 'print the task as JSON')
    .action(async (name: string, flags: AddFlags) => {
      const input: PeriodicTaskInput = {
        name,
        cronExpr: flags.cron,
        taskPath: flags.task,
        args: parseJson('--args', flags.args) as PeriodicTaskInput['args'],
        kwargs: parseJson('--kwargs', flags.kwargs) as PeriodicTaskInput['kwargs'],
        ...(flags.queue !== undefined && { queue: flags.queue }),
        ...(flags.priority !== undefined && { priority: flags.priority }),
        ...(flags.maxAttempts !== undefined && { maxAttempts: flags.maxAttempts }),
        ...(flags.concurrencyKey !== undefined && { concurrencyKey: flags.concurrencyKey }),
        ...(flags.concurrencyLimit !== undefined && { concurrencyLimit: flags.concurrencyLimit }),
        enabled: !flags.disabled,
      };
      await withDb(flags, async (db) => {
        const task = await upsertPeriodicTask(db, input);
        output(flags.json, task, () => `Saved periodic task ${task.name}: ${task.taskPath} at "${task.cronExpr}", next run ${iso(task.nextRunAt)}${task.enabled ? '' : ' (disabled)'}.`);
      });
    });

  withDbFlags(periodic.command('list').description('periodic tasks with their schedule and next run'))
    .option('--json', 'print the tasks as JSON')
    .action(async (flags: DbFlags & { json?: boolean }) => {
      await withDb(flags, async (db) => {
        const tasks = await listPeriodicTasks(db);
        output(flags.json, tasks, () => formatList(tasks));
      });
    });

  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    withDbFlags(periodic.command(verb).description(`${verb} a periodic task`).argument('<name>', 'its name'))
      .option('--json', 'print the result as JSON')
      .action(async (name: string, flags: DbFlags & { json?: boolean }) => {
        await withDb(flags, async (db) => {
          if (!(await setPeriodicEnabled(db, name, enabled))) throw new ReproqError(`no periodic task ${name}`);
          output(flags.json, { name, enabled }, () => `${enabled ? 'Enabled' : 'Disabled'} periodic task ${name}.`);
        });
      });
  }

  withDbFlags(periodic.command('remove').alias('rm').description('delete a periodic task').argument('<name>', 'its name'))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: DbFlags & { json?: boolean }) => {
      await withDb(flags, async (db) => {
        if (!(await deletePeriodicTask(db, name))) throw new ReproqError(`no periodic task ${name}`);
        output(flags.json, { name, deleted: true }, () => `Removed periodic task ${name}.`);
      });
    });
}

function formatList(tasks: PeriodicTask[]): string {
  if (tasks.length === 0) return 'No periodic tasks.';
  return ['Name\tCron\tTask\tQueue\tEnabled\tNextRun\tLastRun']
    .concat(tasks.map((t) => [t.name, t.cronExpr, t.taskPath, t.queue, t.enabled ? 'yes' : 'no', iso(t.nextRunAt), iso(t.lastRunAt)].join('\t')))
    .join('\n');
}
