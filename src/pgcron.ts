import * as z from 'zod/mini';
import { describeError } from './db/errors.ts';
import type { Db } from './db/types.ts';
import { ReproqError, validate } from './errors.ts';
import { PG_CRON_FUNCTION_SIGNATURES, PG_CRON_FUNCTIONS } from './sql/pgCronTick.ts';

/**
 * `reproq pg-cron`: let Postgres enqueue the periodic tasks itself. One pg_cron job, named
 * `<prefix>_tick`, runs `reproq_pg_cron_tick()` every minute (see sql/pgCronTick.ts for why one
 * tick rather than one job per task). Installing also unschedules the jobs of an earlier install
 * with the same prefix, including upstream's per-task `reproq_enqueue_periodic_task` jobs, since
 * two schedulers on one database enqueue every run twice.
 */
export const PgCronOptionsSchema = z.strictObject({
  prefix: z._default(z.string().check(z.regex(/^[A-Za-z0-9_]{1,57}$/, 'letters, digits and _ only, at most 57 characters')), 'reproq_periodic'),
  dryRun: z._default(z.boolean(), false),
  /** pg_cron's schedule of the tick; pg_cron 1.5+ also takes `'30 seconds'`. */
  schedule: z._default(z.string().check(z.minLength(1)), '* * * * *'),
});
export type PgCronOptions = z.input<typeof PgCronOptionsSchema>;

export interface PgCronResult {
  /** The statements run (or, in a dry run, that would run), in order. */
  statements: string[];
  jobName: string;
  /** Jobs unscheduled (an earlier install, or upstream's per-task jobs). */
  unscheduled: { jobid: number; jobname: string | null }[];
  /** pg_cron's version, as installed. */
  version: string | null;
}

/** pg_cron cannot be used here; `reason` tells whether it is missing or failed to load. */
export class PgCronUnavailableError extends ReproqError {
  override name = 'PgCronUnavailableError';
  readonly reason: 'not_available' | 'cannot_enable';
  constructor(reason: 'not_available' | 'cannot_enable', message: string) {
    super(message);
    this.reason = reason;
  }
}

const UPSTREAM_COMMAND_PREFIX = 'SELECT reproq_enqueue_periodic_task(';

export async function installPgCron(db: Db, options: PgCronOptions = {}): Promise<PgCronResult> {
  const o = validate(PgCronOptionsSchema, options);
  const version = await ensurePgCron(db, o.dryRun);
  const jobName = `${o.prefix}_tick`;
  const schema = await currentSchema(db);
  const command = `SELECT ${quoteIdent(schema)}.reproq_pg_cron_tick()`;
  const statements = [...PG_CRON_FUNCTIONS];
  const unscheduled = version === null ? [] : await jobsToRemove(db, o.prefix);
  const scheduleSql = `SELECT cron.schedule(${quoteLiteral(jobName)}, ${quoteLiteral(o.schedule)}, ${quoteLiteral(command)})`;
  statements.push(...unscheduled.map((j) => `SELECT cron.unschedule(${j.jobid})`), scheduleSql);
  if (!o.dryRun) for (const sql of statements) await db.query(sql);
  return { statements, jobName, unscheduled, version };
}

export async function removePgCron(db: Db, options: PgCronOptions = {}): Promise<PgCronResult> {
  const o = validate(PgCronOptionsSchema, options);
  const version = await ensurePgCron(db, o.dryRun);
  const unscheduled = version === null ? [] : await jobsToRemove(db, o.prefix);
  const statements = [
    ...unscheduled.map((j) => `SELECT cron.unschedule(${j.jobid})`),
    ...PG_CRON_FUNCTION_SIGNATURES.map((f) => `DROP FUNCTION IF EXISTS ${f}`),
  ];
  if (!o.dryRun) for (const sql of statements) await db.query(sql);
  return { statements, jobName: `${o.prefix}_tick`, unscheduled, version };
}

/**
 * Checks the schema and the extension, creating it unless in a dry run. Returns pg_cron's
 * version, or null in a dry run on a database where it is available but not created yet.
 */
async function ensurePgCron(db: Db, dryRun: boolean): Promise<string | null> {
  const state = await db.query<{ has_table: boolean; available: boolean; installed: string | null }>(
    `SELECT to_regclass('periodic_tasks') IS NOT NULL AS has_table,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron') AS available,
            (SELECT extversion FROM pg_extension WHERE extname = 'pg_cron') AS installed`,
  );
  const s = state.rows[0]!;
  if (!s.has_table) throw new ReproqError('missing periodic_tasks table; run `reproq migrate` first');
  if (!s.available) {
    throw new PgCronUnavailableError('not_available', 'the pg_cron extension is not available on this database server');
  }
  if (s.installed !== null || dryRun) return s.installed;
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_cron');
  } catch (err) {
    throw new PgCronUnavailableError(
      'cannot_enable',
      `could not enable pg_cron (${describeError(err)}); it must be in shared_preload_libraries, and created ` +
        'in the database named by cron.database_name',
    );
  }
  const v = await db.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'pg_cron'`);
  return v.rows[0]?.v ?? null;
}

/** Jobs of this prefix (compared as a prefix, not a LIKE pattern) and upstream's per-task jobs. */
async function jobsToRemove(db: Db, prefix: string): Promise<{ jobid: number; jobname: string | null }[]> {
  const res = await db.query<{ jobid: string | number; jobname: string | null }>(
    `SELECT jobid, jobname FROM cron.job
     WHERE left(jobname, length($1)) = $1 OR left(command, length($2)) = $2
     ORDER BY jobid`,
    [prefix, UPSTREAM_COMMAND_PREFIX],
  );
  return res.rows.map((r) => ({ jobid: Number(r.jobid), jobname: r.jobname }));
}

async function currentSchema(db: Db): Promise<string> {
  const res = await db.query<{ s: string }>('SELECT current_schema() AS s');
  return res.rows[0]!.s;
}

const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;
const quoteLiteral = (s: string) => `'${s.replaceAll("'", "''")}'`;
