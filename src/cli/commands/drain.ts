import type { Command } from 'commander';
import { drain } from '../../drain.ts';
import { consoleLogger } from '../../logger.ts';
import { parseAllowList } from '../../tasks/allowlist.ts';
import { loadTasks, withDb, withDbFlags, type DbFlags } from '../context.ts';

interface DrainFlags extends DbFlags {
  tasks?: string;
  queues: string;
  batchSize: string;
  concurrency: string;
  budget: string;
  leaseSeconds: string;
  workerName: string;
  allowedTaskModules?: string;
  unknownTasks: 'skip' | 'fail';
  json?: boolean;
}

export function registerDrain(program: Command): void {
  withDbFlags(program.command('drain').description('claim and run tasks until the queues are empty or the budget is spent'))
    .option('--once', 'run one bounded drain and exit (the only mode; kept for cron scripts)')
    .option('--tasks <path>', 'tasks module (default: REPROQ_TASKS)')
    .option('--queues <list>', 'comma-separated queues', process.env.QUEUE_NAMES || 'default')
    .option('--batch-size <n>', 'tasks claimed per statement', '100')
    .option('--concurrency <n>', 'handlers running at once', '10')
    .option('--budget <ms>', 'wall-clock budget in milliseconds', '25000')
    .option('--lease-seconds <n>', 'lease length', '300')
    .option('--worker-name <name>', 'name registered in reproq_workers', 'reproq-edge')
    .option('--allowed-task-modules <list>', 'allow-list prefixes (default: ALLOWED_TASK_MODULES)')
    .option('--unknown-tasks <policy>', 'skip | fail', 'skip')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: DrainFlags) => {
      const registry = await loadTasks(flags.tasks);
      await withDb(flags, async (db) => {
        const summary = await drain(
          { db, registry, logger: consoleLogger({ worker: flags.workerName }) },
          {
            queues: flags.queues.split(',').map((q) => q.trim()).filter(Boolean),
            batchSize: Number(flags.batchSize),
            concurrency: Number(flags.concurrency),
            budgetMs: Number(flags.budget),
            leaseSeconds: Number(flags.leaseSeconds),
            workerName: flags.workerName,
            allowedTaskModules: parseAllowList(flags.allowedTaskModules ?? process.env.ALLOWED_TASK_MODULES),
            unknownTasks: flags.unknownTasks,
          },
        );
        console.log(flags.json ? JSON.stringify(summary) : formatSummary(summary));
        if (summary.stoppedBecause === 'db_error') process.exitCode = 1;
      });
    });
}

function formatSummary(s: object): string {
  return Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
