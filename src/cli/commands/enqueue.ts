import type { Command } from 'commander';
import { enqueue } from '../../enqueue.ts';
import { parseJson } from '../args.ts';
import { withDb, withDbFlags, type DbFlags } from '../context.ts';

interface EnqueueFlags extends DbFlags {
  args: string;
  kwargs: string;
  queue?: string;
  priority?: string;
  delay?: string;
  maxAttempts?: string;
  lockKey?: string;
  noDedup?: boolean;
  dedup: boolean;
  json?: boolean;
}

export function registerEnqueue(program: Command): void {
  withDbFlags(program.command('enqueue').description('enqueue one task').argument('<task_path>'))
    .option('--args <json>', 'positional arguments as a JSON array', '[]')
    .option('--kwargs <json>', 'keyword arguments as a JSON object', '{}')
    .option('--queue <name>', 'queue name')
    .option('--priority <n>', 'priority, -100..100')
    .option('--delay <seconds>', 'run no sooner than this many seconds from now')
    .option('--max-attempts <n>', 'attempts before failing terminally')
    .option('--lock-key <key>', 'at most one RUNNING task per key')
    .option('--no-dedup', 'insert even if an active task has the same spec (fails on a duplicate)')
    .option('--json', 'print the result as JSON')
    .action(async (taskPath: string, flags: EnqueueFlags) => {
      const input = {
        taskPath,
        args: parseJson('--args', flags.args),
        kwargs: parseJson('--kwargs', flags.kwargs),
        ...(flags.queue && { queue: flags.queue }),
        ...(flags.priority && { priority: Number(flags.priority) }),
        ...(flags.delay && { runAfter: { delaySeconds: Number(flags.delay) } }),
        ...(flags.maxAttempts && { maxAttempts: Number(flags.maxAttempts) }),
        ...(flags.lockKey && { lockKey: flags.lockKey }),
      };
      await withDb(flags, async (db) => {
        const r = await enqueue(db, input as never, { dedup: flags.dedup });
        console.log(flags.json ? JSON.stringify(r) : `${r.deduplicated ? 'already active as' : 'enqueued as'} result_id ${r.resultId}`);
      });
    });
}
