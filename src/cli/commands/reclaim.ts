import type { Command } from 'commander';
import { parseDuration } from '../../duration.ts';
import { reclaim } from '../../reclaim.ts';
import { withDb, withDbFlags, type DbFlags } from '../context.ts';

interface ReclaimFlags extends DbFlags {
  action: string;
  olderThan: string;
  limit: string;
  dryRun?: boolean;
  includeNullLease?: boolean;
  json?: boolean;
}

export function registerReclaim(program: Command): void {
  withDbFlags(program.command('reclaim').description('requeue (or fail) RUNNING tasks whose lease expired'))
    .option('--action <action>', 'requeue (READY while attempts remain, else FAILED) | fail', 'requeue')
    .option('--older-than <duration>', 'only leases expired longer ago than this, e.g. 5m', '0s')
    .option('--limit <n>', 'at most this many tasks (0 = no limit)', '0')
    .option('--dry-run', 'list the matching tasks without changing them')
    .option('--include-null-lease', 'also RUNNING tasks that have no lease at all')
    .option('--json', 'print the result as JSON')
    .action(async (flags: ReclaimFlags) => {
      const olderThanSeconds = parseDuration(flags.olderThan, '--older-than') / 1000;
      await withDb(flags, async (db) => {
        const r = await reclaim(db, {
          action: flags.action as 'requeue',
          olderThanSeconds,
          limit: Number(flags.limit),
          dryRun: flags.dryRun === true,
          includeNullLease: flags.includeNullLease === true,
        });
        if (flags.json) return console.log(JSON.stringify(r));
        if (r.matched === 0) console.log('No expired leases found.');
        else if (r.dryRun) console.log(`Dry run: ${r.matched} task(s) match reclaim criteria.`);
        else console.log(`Requeued ${r.requeued} task(s); marked ${r.failed} task(s) failed.`);
        if (r.dependantsEnded > 0) console.log(`Ended ${r.dependantsEnded} workflow task(s) whose upstream task did not succeed.`);
      });
    });
}
