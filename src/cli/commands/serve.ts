import type { Command } from 'commander';
import { consoleLogger } from '../../logger.ts';
import { assertServable, startNodeServer } from '../../../workers/node.ts';
import { commandConfig, loadTasks, openDatabase, withDbFlags, type DbFlags } from '../context.ts';

interface ServeFlags extends DbFlags {
  tasks?: string;
  port?: string;
  host: string;
}

export function registerServe(program: Command): void {
  withDbFlags(program.command('serve').description('serve the HTTP app: drain, beat, reclaim, enqueue, tasks, metrics, stats, healthz'))
    .option('--tasks <path>', 'tasks module (default: REPROQ_TASKS)')
    .option('--port <n>', 'port (default: PORT, else 8080)')
    .option('--host <addr>', 'address to bind', '0.0.0.0')
    .action(async (flags: ServeFlags) => {
      // Defaults < config file < env < flags, as every command; checked before loading tasks or
      // connecting, so a bad deploy fails in its first line.
      const cfg = commandConfig(flags);
      const { config } = cfg;
      assertServable(config);
      const registry = await loadTasks(flags.tasks ?? config.tasks);
      const db = await openDatabase(flags, cfg);
      const log = consoleLogger({ component: 'serve' });
      const server = await startNodeServer({ config, registry, db, logger: log, port: Number(flags.port ?? process.env.PORT ?? 8080), hostname: flags.host });
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
