import type { Command } from 'commander';
import type { Db } from '../../db/types.ts';
import { PRUNE_FIELDS, pruneTasksSql, type PruneField } from '../../sql/pruneTasks.ts';
import { pruneWorkers } from '../../reclaim.ts';
import { ageSeconds, int, oneOf, statuses } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';
import { progressBar } from '../progress.ts';

interface PruneFlags extends DbFlags {
  olderThan: number;
  limit: number;
  dryRun?: boolean;
  json?: boolean;
  batchSize: number;
}

/** Rows deleted per statement: short transactions on a big table, and a progress bar that moves. */
const DEFAULT_BATCH = 5000;

export function registerPrune(program: Command): void {
  pruneOptions(
    program.command('prune').description('delete finished tasks older than a cutoff'),
    '7d',
  )
    .option('--statuses <list>', 'comma-separated statuses to delete', statuses, ['SUCCESSFUL', 'FAILED', 'CANCELLED'])
    .option('--field <column>', `timestamp compared with the cutoff: ${PRUNE_FIELDS.join(' | ')}`, oneOf(PRUNE_FIELDS), 'finished_at')
    .action(async (flags: PruneFlags & { statuses: string[]; field: PruneField }) => {
      await withDb(flags, (db) => pruneTasks(db, flags, flags.statuses, flags.field, 'task(s)'));
    });

  pruneOptions(program.command('prune-successful').description('delete SUCCESSFUL tasks finished before the cutoff'), '7d').action(
    async (flags: PruneFlags) => {
      await withDb(flags, (db) => pruneTasks(db, flags, ['SUCCESSFUL'], 'finished_at', 'successful task(s)'));
    },
  );

  withDbFlags(program.command('prune-workers').description('delete reproq_workers rows not seen for a while'))
    .option('--older-than <age>', 'last seen before this long ago (30s, 10m, 2h, 7d, 1h30m)', ageSeconds, ageSeconds('10m'))
    .option('--limit <n>', 'delete at most this many, longest silent first (0: no limit)', int(0), 0)
    .option('--dry-run', 'only count')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { olderThan: number; limit: number; dryRun?: boolean; json?: boolean }) => {
      await withDb(flags, async (db) => {
        const r = await pruneWorkers(db, { olderThanSeconds: flags.olderThan, limit: flags.limit, dryRun: flags.dryRun === true });
        output(flags.json, { matched: r.matched, deleted: r.deleted, dryRun: r.dryRun }, () =>
          flags.dryRun ? `Dry run: ${r.matched} worker(s) would be deleted.` : `Deleted ${r.deleted} stale worker(s).`,
        );
      });
    });
}

function pruneOptions(cmd: Command, olderThan: string): Command {
  return withDbFlags(cmd)
    .option('--older-than <age>', 'cutoff age (30s, 5m, 2h, 7d, 1h30m)', ageSeconds, ageSeconds(olderThan))
    .option('--limit <n>', 'delete at most this many, oldest first (0: no limit)', int(0), 0)
    .option('--batch-size <n>', 'rows deleted per statement', int(1, 100_000), DEFAULT_BATCH)
    .option('--dry-run', 'only count what would be deleted')
    .option('--json', 'print the result as JSON');
}

async function pruneTasks(db: Db, flags: PruneFlags, wanted: string[], field: PruneField, noun: string): Promise<void> {
  // One cutoff for every batch, taken from the database clock.
  const cutoff = (await db.query<{ cutoff: Date }>(`SELECT NOW() - make_interval(secs => $1::float8) AS cutoff`, [flags.olderThan])).rows[0]!.cutoff;
  const matched = (await db.query<{ n: number }>(pruneTasksSql(field, 'count'), [wanted, cutoff])).rows[0]!.n;
  const total = flags.limit > 0 ? Math.min(matched, flags.limit) : matched;
  if (flags.dryRun) {
    output(flags.json, { matched: total, deleted: 0, dryRun: true, cutoff }, () => `Dry run: ${total} ${noun} would be deleted.`);
    return;
  }
  const bar = progressBar('pruning', total, flags.json);
  let deleted = 0;
  try {
    while (deleted < total) {
      const n = (await db.query<{ n: number }>(pruneTasksSql(field, 'delete'), [wanted, cutoff, Math.min(flags.batchSize, total - deleted)])).rows[0]!.n;
      if (n === 0) break; // someone else pruned (or re-ran) the rest
      deleted += n;
      bar.update(deleted);
    }
  } finally {
    bar.stop();
  }
  output(flags.json, { matched: total, deleted, dryRun: false, cutoff }, () => `Deleted ${deleted} ${noun}.`);
}
