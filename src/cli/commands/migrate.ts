import type { Command } from 'commander';
import { ReproqError } from '../../errors.ts';
import { migrate } from '../../migrate.ts';
import { withDb, withDbFlags, type DbFlags } from '../context.ts';
import { migrateProgress } from '../progress.ts';

export function registerMigrate(program: Command): void {
  withDbFlags(
    program
      .command('migrate')
      .alias('migrate-worker')
      .description('apply the Reproq schema migrations (idempotent; safe on a database upstream migrated)'),
  )
    .option('--dry-run', 'list pending migrations without applying them')
    .option('--light-indexes', 'also install the opt-in lighter definitions of two upstream indexes (same names; see migrations/opt-in/light_indexes.sql)')
    .option('--upstream-indexes', "put back upstream's definitions of those indexes (undoes --light-indexes)")
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { dryRun?: boolean; json?: boolean; lightIndexes?: boolean; upstreamIndexes?: boolean }) => {
      if (flags.lightIndexes && flags.upstreamIndexes) throw new ReproqError('choose one of --light-indexes and --upstream-indexes');
      await withDb(flags, async (db) => {
        const result = await migrate(db, {
          dryRun: flags.dryRun,
          onProgress: migrateProgress(flags.json),
          lightIndexes: flags.lightIndexes,
          upstreamIndexes: flags.upstreamIndexes,
        });
        if (flags.json) console.log(JSON.stringify(result));
        else if (result.applied.length === 0) console.log('schema is up to date');
        else console.log(`${flags.dryRun ? 'would apply' : 'applied'}: ${result.applied.join(', ')}`);
      });
    });
}
