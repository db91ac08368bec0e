import type { Command } from 'commander';
import { ReproqError, ValidationError } from '../../errors.ts';
import { installPgCron, PgCronUnavailableError, removePgCron } from '../../pgcron.ts';
import { withDb, withDbFlags, type DbFlags } from '../context.ts';

interface PgCronFlags extends DbFlags {
  install?: boolean;
  remove?: boolean;
  ifSupported?: boolean;
  dryRun?: boolean;
  prefix: string;
  schedule: string;
}

export function registerPgCron(program: Command): void {
  withDbFlags(program.command('pg-cron').description('let Postgres enqueue periodic tasks through pg_cron (one tick job)'))
    .option('--install', 'create the tick function and schedule it (the default)')
    .option('--remove', 'unschedule the job and drop the functions')
    .option('--if-supported', 'exit 0 with a message when pg_cron is missing (for deploy hooks)')
    .option('--dry-run', 'print the SQL without running it')
    .option('--prefix <name>', 'pg_cron job name prefix', 'reproq_periodic')
    .option('--schedule <cron>', "the tick's pg_cron schedule", '* * * * *')
    .action(async (flags: PgCronFlags) => {
      if (flags.install && flags.remove) throw new ValidationError('--install', 'choose either --install or --remove, not both');
      await withDb(flags, async (db) => {
        const opts = { prefix: flags.prefix, dryRun: flags.dryRun === true, schedule: flags.schedule };
        try {
          const r = flags.remove ? await removePgCron(db, opts) : await installPgCron(db, opts);
          if (flags.dryRun) for (const sql of r.statements) console.log(`${sql.trim()};`);
          for (const j of r.unscheduled) console.log(`${flags.dryRun ? 'would unschedule' : 'unscheduled'} pg_cron job ${j.jobname ?? '?'} (${j.jobid})`);
          const verb = flags.remove ? 'removed' : 'installed';
          console.log(`${flags.dryRun ? `dry-run: would have ${verb}` : verb} pg_cron tick job ${r.jobName}${r.version ? ` (pg_cron ${r.version})` : ''}`);
        } catch (err) {
          if (err instanceof PgCronUnavailableError && flags.ifSupported) {
            console.log(`pg_cron unavailable; skipping (${err.message})`);
            return;
          }
          if (err instanceof PgCronUnavailableError) throw new ReproqError(`${err.message}; pass --if-supported to skip`);
          throw err;
        }
      });
    });
}
