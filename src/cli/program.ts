import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { registerAllowlist } from './commands/allowlist.ts';
import { registerBeat } from './commands/beat.ts';
import { registerCancel } from './commands/cancel.ts';
import { registerConfig } from './commands/config.ts';
import { registerDevProxy } from './commands/dev-proxy.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerDrain } from './commands/drain.ts';
import { registerEnqueue } from './commands/enqueue.ts';
import { registerInit } from './commands/init.ts';
import { registerLogs } from './commands/logs.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerPeriodic } from './commands/periodic.ts';
import { registerPgCron } from './commands/pg-cron.ts';
import { registerPrune } from './commands/prune.ts';
import { registerQueueControls } from './commands/queues.ts';
import { registerReclaim } from './commands/reclaim.ts';
import { registerReplay } from './commands/replay.ts';
import { registerServe } from './commands/serve.ts';
import { registerStatus } from './commands/status.ts';
import { registerStressTest } from './commands/stress-test.ts';
import { registerSystemd } from './commands/systemd.ts';
import { registerTask } from './commands/task.ts';
import { registerTriage } from './commands/triage.ts';
import { registerWorker } from './commands/worker.ts';

/**
 * The `reproq` program, built without parsing, so main.ts can run it and scripts/docs-cli.ts can render the
 * README's command reference from the same definitions.
 */
export function buildProgram(): Command {
  const program = new Command('reproq')
    .description('Reproq Edge: a Postgres task queue for serverless and edge runtimes')
    .version(`reproq-edge version ${VERSION}`, '-V, --version')
    .option('--verbose', 'print stack traces of errors')
    .exitOverride()
    // Subcommands copy these settings when created, so usage errors exit 2 everywhere.
    .showHelpAfterError('(run with --help for usage)');

  for (const register of [
    registerInit,
    registerMigrate,
    registerWorker,
    registerDrain,
    registerBeat,
    registerReclaim,
    registerPgCron,
    registerPeriodic,
    registerServe,
    registerEnqueue,
    registerTask,
    registerStatus,
    registerDoctor,
    registerConfig,
    registerAllowlist,
    registerLogs,
    registerQueueControls,
    registerCancel,
    registerReplay,
    registerTriage,
    registerPrune,
    registerStressTest,
    registerSystemd,
    registerDevProxy,
  ]) {
    register(program);
  }
  return program;
}
