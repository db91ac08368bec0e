import type { Command } from 'commander';
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
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { dryRun?: boolean; json?: boolean }) => {
      await withDb(flags, async (db) => {
        const result = await migrate(db, { dryRun: flags.dryRun, onProgress: migrateProgress(flags.json) });
        if (flags.json) console.log(JSON.stringify(result));
        else if (result.applied.length === 0) console.log('schema is up to date');
        else console.log(`${flags.dryRun ? 'would apply' : 'applied'}: ${result.applied.join(', ')}`);
      });
    });
}
