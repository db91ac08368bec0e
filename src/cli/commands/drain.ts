import { hostname } from 'node:os';
import type { Command } from 'commander';
import { drain } from '../../drain.ts';
import { drainOptionsFromConfig } from '../../drain/options.ts';
import { consoleLogger } from '../../logger.ts';
import { warnAllowList } from '../../tasks/allowlist.ts';
import { int, list } from '../args.ts';
import { assertSchemaPresent, commandConfig, loadTasks, output, withDb, withDbFlags, type DbFlags } from '../context.ts';
import { fileLogSink } from '../logs-dir.ts';

interface DrainFlags extends DbFlags {
  tasks?: string;
  queues?: string[];
  batchSize?: number;
  concurrency?: number;
  budget?: number;
  leaseSeconds?: number;
  heartbeatSeconds?: number;
  workerName?: string;
  allowedTaskModules?: string[];
  unknownTasks?: string;
  logsDir?: string;
  json?: boolean;
}

export function registerDrain(program: Command): void {
  withDbFlags(program.command('drain').description('claim and run tasks until the queues are empty or the budget is spent'))
    .option('--once', 'run one bounded drain and exit (the only mode; kept for cron scripts)')
    .option('--tasks <path>', 'tasks module (default: REPROQ_TASKS, then tasks in the config file)')
    .option('--queues <list>', 'comma-separated queues (default: QUEUE_NAMES, then worker.queues, then default)', list)
    .option('--batch-size <n>', 'tasks claimed per statement (default: 100)', int(1, 1000))
    .option('--concurrency <n>', 'handlers running at once (default: 10)', int(1, 1000))
    .option('--budget <ms>', 'wall-clock budget in milliseconds (default: 25000)', int(100))
    .option('--lease-seconds <n>', 'lease length (default: 300)', int(1))
    .option('--heartbeat-seconds <n>', 'lease renewal interval, shorter than the lease (default: min(60, lease/5))', int(0))
    .option('--worker-name <name>', 'name registered in reproq_workers (default: WORKER_ID, then reproq-edge)')
    .option('--allowed-task-modules <list>', 'allow-list prefixes (default: ALLOWED_TASK_MODULES)', list)
    .option('--unknown-tasks <policy>', 'skip | fail (default: skip)')
    .option('--logs-dir <dir>', "write each attempt's task log there and set logs_uri (default: REPROQ_LOGS_DIR)")
    .option('--json', 'print the summary as JSON')
    // The drain returns inside its budget, but a handler that ignores its abort signal keeps its timers
    // alive: once the summary is printed and the exit code set, the process must not wait for them.
    .hook('postAction', () => void setTimeout(() => process.exit(), 100).unref())
    .action(async (flags: DrainFlags) => {
      const cfg = commandConfig(flags, [
        { key: 'worker.queues', flag: '--queues', value: flags.queues },
        { key: 'drain.batch_size', flag: '--batch-size', value: flags.batchSize },
        { key: 'worker.concurrency', flag: '--concurrency', value: flags.concurrency },
        { key: 'drain.budget_ms', flag: '--budget', value: flags.budget },
        { key: 'worker.lease_seconds', flag: '--lease-seconds', value: flags.leaseSeconds },
        { key: 'worker.heartbeat_seconds', flag: '--heartbeat-seconds', value: flags.heartbeatSeconds },
        { key: 'worker.worker_id', flag: '--worker-name', value: flags.workerName },
        { key: 'worker.allowed_task_modules', flag: '--allowed-task-modules', value: flags.allowedTaskModules },
        { key: 'drain.unknown_tasks', flag: '--unknown-tasks', value: flags.unknownTasks },
        { key: 'worker.logs_dir', flag: '--logs-dir', value: flags.logsDir },
      ]);
      const c = cfg.config;
      const registry = await loadTasks(flags.tasks ?? c.tasks);
      const workerName = c.worker.worker_id ?? 'reproq-edge';
      const log = consoleLogger({ worker: workerName });
      warnAllowList(c.worker.allowed_task_modules, registry, log);
      await withDb(flags, async (db) => {
        const logSink = c.worker.logs_dir ? fileLogSink(c.worker.logs_dir) : undefined;
        const summary = await drain(
          { db, registry, logger: log, ...(logSink && { logSink }) },
          drainOptionsFromConfig(c, { hostname: hostname() }),
        );
        if (summary.stoppedBecause === 'db_error') await assertSchemaPresent(db);
        output(flags.json, summary, () => Object.entries(summary).map(([k, v]) => `${k}=${v}`).join(' '));
        if (summary.stoppedBecause === 'db_error') process.exitCode = 1;
      }, cfg);
    });
}
