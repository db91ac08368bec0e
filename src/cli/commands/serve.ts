import type { Command } from 'commander';
import { consoleLogger } from '../../logger.ts';
import { TaskRegistry } from '../../tasks/registry.ts';
import { assertServable, openMetricsWarning, startNodeServer } from '../../../workers/node.ts';
import { commandConfig, loadTasks, openDatabase, withDbFlags, type DbFlags } from '../context.ts';

interface ServeFlags extends DbFlags {
  tasks?: string;
  port?: string;
  host: string;
}

export function registerServe(program: Command): void {
  withDbFlags(
    program
      .command('serve')
      .description('serve the HTTP app: drain, beat, reclaim, enqueue, tasks, queues, periodic, metrics, stats, healthz (without a tasks module, everything but drain)'),
  )
    .option('--tasks <path>', 'tasks module (default: REPROQ_TASKS, then tasks in the config file); without one, POST /drain answers 503')
    .option('--port <n>', 'port (default: PORT, else 8080)')
    .option('--host <addr>', 'address to bind', '0.0.0.0')
    .action(async (flags: ServeFlags) => {
      // Defaults < config file < env < flags, as every command; checked before loading tasks or
      // connecting, so a bad deploy fails in its first line.
      const cfg = commandConfig(flags);
      const { config } = cfg;
      assertServable(config);
      const log = consoleLogger({ component: 'serve' });
      const tasksPath = flags.tasks ?? config.tasks;
      // Beat, reclaim, enqueue, the task routes and metrics need no handlers; only a drain does.
      const registry = tasksPath ? await loadTasks(tasksPath) : new TaskRegistry();
      if (!tasksPath) log.info('no tasks module: serving every route but POST /drain, which answers 503 (pass --tasks to drain here)');
      const db = await openDatabase(flags, cfg);
      const port = Number(flags.port ?? process.env.PORT ?? 8080);
      const server = await startNodeServer({ config, registry, db, logger: log, port, hostname: flags.host });
      const open = openMetricsWarning(config, flags.host, server.port);
      if (open) log.warn(open);
      log.info('listening', { url: `${server.protocol}://${flags.host}:${server.port}${config.http.route_prefix}` });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await server.close();
      await db.close();
    });
}
