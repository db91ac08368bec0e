import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { envLayer, resolveConfig } from '../../config.ts';
import { describeError } from '../../db/errors.ts';
import type { Db } from '../../db/types.ts';
import { checkSchema, EXPECTED_COLUMNS, migrationStatus } from '../../migrate.ts';
import { UNCLAIMABLE_TASKS } from '../../sql/unclaimableTasks.ts';
import { allowListReport } from '../../tasks/allowlist.ts';
import type { TaskRegistry } from '../../tasks/registry.ts';
import { flagLayer, type CliConfig } from '../config-file.ts';
import { commandConfig, loadTasks, openDatabase, withDbFlags, type DbFlags } from '../context.ts';

type Level = 'ok' | 'info' | 'warn' | 'error';
interface Check {
  level: Level;
  message: string;
  fix?: string;
}

interface DoctorFlags extends DbFlags {
  strict?: boolean;
  tasks?: string;
  json?: boolean;
}

export function registerDoctor(program: Command): void {
  withDbFlags(
    program
      .command('doctor')
      .description('check config, database, schema, rows no drain will claim, tasks module, allow-list, scheduler and pg_cron; exits 1 on errors (and on warnings with --strict)'),
  )
    .option('--strict', 'exit non-zero on warnings too')
    .option('--tasks <path>', 'tasks module (default: REPROQ_TASKS, then tasks in the config file)')
    .option('--json', 'print the checks as JSON')
    .action(async (flags: DoctorFlags) => {
      const checks = await runChecks(flags);
      const errors = checks.filter((c) => c.level === 'error').length;
      const warnings = checks.filter((c) => c.level === 'warn').length;
      const failed = errors > 0 || (flags.strict === true && warnings > 0);
      if (flags.json) console.log(JSON.stringify({ checks, errors, warnings, ok: !failed }));
      else {
        for (const c of checks) {
          console.log(`${`[${c.level}]`.padEnd(8)}${c.message}`);
          if (c.fix) console.log(c.fix.replace(/^/gm, '        fix: ').replace(/\n {8}fix: /g, '\n             '));
        }
        console.log(
          failed ? `Doctor found ${errors} error(s) and ${warnings} warning(s).` : `Doctor completed with no blocking issues (${warnings} warning(s)).`,
        );
      }
      if (failed) process.exitCode = 1;
    });
}

async function runChecks(flags: DoctorFlags): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (level: Level, message: string, fix?: string) => checks.push({ level, message, ...(fix && { fix }) });

  let cfg: CliConfig;
  try {
    cfg = commandConfig(flags);
    if (cfg.file) add('ok', `config file ${cfg.file.path} (${cfg.file.format})`);
    else add('info', 'no config file (reproq.yaml/.toml): using env and flags');
    if (cfg.file?.ignored.length) add('info', `ignored (the Go worker's Python executor only): ${cfg.file.ignored.join(', ')}`);
  } catch (err) {
    add('error', `config: ${describeError(err)}`);
    // Go on with env and flags alone, so the database checks still run.
    cfg = resolveConfig([envLayer(process.env), flagLayer([{ key: 'dsn', flag: '--dsn', value: flags.dsn }])]);
  }

  let registry: TaskRegistry | undefined;
  const tasksPath = flags.tasks ?? cfg.config.tasks;
  // Not a warning: enqueue, beat, reclaim, metrics and `reproq serve` work without one; only drains need it.
  if (!tasksPath) add('info', 'no tasks module configured: `reproq worker` and `reproq drain` need one', 'set REPROQ_TASKS, tasks in reproq.yaml, or pass --tasks');
  else {
    try {
      registry = await loadTasks(tasksPath);
      add('ok', `tasks module ${tasksPath}: ${registry.size} task(s)`);
    } catch (err) {
      add('error', describeError(err));
    }
  }
  if (registry) checkAllowList(registry, cfg, add);

  const logsDir = cfg.config.worker.logs_dir;
  if (logsDir && !isDirectory(logsDir)) add('warn', `logs directory does not exist yet: ${logsDir}`, `mkdir -p ${logsDir}`);

  let db: Db;
  try {
    db = await openDatabase(flags, cfg);
    await db.query('SELECT 1');
  } catch (err) {
    add('error', `database: ${describeError(err)}`);
    return checks;
  }
  try {
    add('ok', `database reachable (${db.driver})`);
    await checkDatabase(db, add);
  } catch (err) {
    // A check that cannot run says so; the ones before it are kept.
    add('error', `database check failed: ${(err as Error).message}`);
  } finally {
    await db.close();
  }
  return checks;
}

function checkAllowList(registry: TaskRegistry, cfg: CliConfig, add: (l: Level, m: string, f?: string) => void): void {
  const allowed = cfg.config.worker.allowed_task_modules;
  const report = allowListReport(allowed, registry);
  if (report.source === 'registry') {
    add('ok', `ALLOWED_TASK_MODULES not set: the ${registry.size} registered task(s) are allowed`);
    return;
  }
  const fix = 'reproq allowlist --write (or add the modules to ALLOWED_TASK_MODULES, or unset it)';
  if (report.rejected.length > 0) {
    add('warn', `allow-list ${allowed.join(',')} rejects ${report.rejected.length} registered task(s), which will fail with security_violation: ${report.rejected.join(', ')}`, fix);
  } else add('ok', `allow-list covers all ${registry.size - report.rejectedBuiltins.length} registered task(s)`);
  if (report.rejectedBuiltins.length > 0) {
    add('info', `allow-list rejects the built-in debug tasks (${report.rejectedBuiltins.join(', ')}): \`reproq stress-test\` rows would fail; add reproq_django.tasks. to run them`);
  }
}

async function checkDatabase(db: Db, add: (l: Level, m: string, f?: string) => void): Promise<void> {
  const schema = await checkSchema(db);
  const status = await migrationStatus(db);
  if (status.changed.length) add('error', `migration(s) edited after being applied: ${status.changed.join(', ')}`);
  if (status.pending.length) {
    // A database migrated by Django or Go has the schema but not our record table: only a missing schema is an error.
    add(schema.ok ? 'warn' : 'error', `migration(s) not recorded as applied: ${status.pending.join(', ')}`, 'reproq migrate (idempotent)');
  } else if (!status.changed.length) add('ok', 'migrations applied');
  for (const u of status.unknown) add('warn', `migration ${u.name} is recorded but unknown to this version (a newer reproq-edge migrated this database)`);

  if (schema.missingColumns.length === 0 && schema.missingTables.length === 0) add('ok', 'tables and columns present');
  if (schema.missingTables.length > 0) {
    add('error', `the database has no Reproq schema: missing ${schema.missingTables.join(', ')}`, 'reproq migrate (or check --dsn/DATABASE_URL)');
  }
  // With no table at all, every index, trigger and function is missing too: the line above says it all.
  const noSchema = schema.missingTables.length === Object.keys(EXPECTED_COLUMNS).length;
  for (const issue of noSchema ? [] : schema.issues) {
    if (schema.missingTables.includes(issue.object)) continue; // said once above
    if (issue.object === 'task_runs_task_path_not_empty') continue; // reported below with its state
    add(issue.severity === 'error' ? 'error' : 'warn', `${issue.object}: ${issue.message}`, issue.fix ?? undefined);
  }
  if (schema.indexSet === 'light') add('info', "index set: light (opt-in, reproq migrate --light-indexes); reproq migrate --upstream-indexes restores upstream's");
  else if (schema.indexSet === 'upstream') add('ok', "index set: upstream's definitions");
  else if (schema.indexSet === 'mixed') {
    add('warn', "index set: one of idx_task_runs_workflow_id and idx_task_runs_task_path is light, the other upstream's", 'reproq migrate --light-indexes (or --upstream-indexes)');
  }
  const c = schema.taskPathConstraint;
  if (schema.missingTables.includes('task_runs')) {
    // Nothing more to check without the schema.
    return;
  }
  if (!c.present) add('error', 'constraint task_runs_task_path_not_empty is missing', 'reproq migrate');
  else if (c.validated) add('ok', 'constraint task_runs_task_path_not_empty validated');
  else if (!c.violatingRows) {
    // Upstream creates it NOT VALID; new rows are checked all the same, and no old row breaks it.
    add('info', 'constraint task_runs_task_path_not_empty is NOT VALID (upstream creates it so); no row violates it', c.fix ?? undefined);
  } else add('warn', `constraint task_runs_task_path_not_empty is NOT VALID, ${c.violatingRows} row(s) violate it`, c.fix ?? undefined);

  if (schema.missingTables.length > 0) return;
  await checkUnclaimable(db, add);

  const workers = await db.query<{ alive: number; total: number }>(
    `SELECT count(*) FILTER (WHERE last_seen_at >= NOW() - interval '2 minutes')::int AS alive, count(*)::int AS total FROM reproq_workers`,
  );
  const w = workers.rows[0]!;
  add('info', `workers alive: ${w.alive} of ${w.total} registered`);
  await checkScheduler(db, add);
}

/** Rows no drain will take (see sql/unclaimableTasks.ts), named with the statement that fixes them. */
async function checkUnclaimable(db: Db, add: (l: Level, m: string, f?: string) => void): Promise<void> {
  const res = await db.query<{ reason: keyof typeof UNCLAIMABLE_FIXES; n: number; rows: { result_id: number; status: string }[] }>(UNCLAIMABLE_TASKS, [10]);
  if (res.rows.length === 0) add('ok', 'no task is unclaimable (status, task_path and attempts are usable)');
  for (const r of res.rows) {
    const named = r.rows.map((x) => (r.reason === 'unknown_status' ? `${x.result_id} (status ${JSON.stringify(x.status)})` : String(x.result_id)));
    const more = r.n > r.rows.length ? `, … ${r.n - r.rows.length} more` : '';
    const ids = r.rows.map((x) => x.result_id).join(', ');
    add('warn', `${r.n} task(s) no drain will claim (${r.reason}: ${UNCLAIMABLE_WHY[r.reason]}): result_id ${named.join(', ')}${more}`, UNCLAIMABLE_FIXES[r.reason](ids));
  }
}

const UNCLAIMABLE_WHY = {
  unknown_status: 'a status Reproq does not know',
  no_task_path: 'no task_path, which the check constraint refuses on update',
  attempts_overflow: 'attempts at the integer maximum',
};
const UNCLAIMABLE_FIXES = {
  unknown_status: (ids: string) => `UPDATE task_runs SET status = upper(btrim(status)) WHERE result_id IN (${ids});  -- if that is the status meant`,
  no_task_path: (ids: string) => `UPDATE task_runs SET task_path = '<module.task>' WHERE result_id IN (${ids});  -- or delete them`,
  attempts_overflow: (ids: string) => `UPDATE task_runs SET attempts = 0 WHERE result_id IN (${ids});`,
};

/** pg_cron availability, and whether exactly one thing schedules periodic tasks. */
async function checkScheduler(db: Db, add: (l: Level, m: string, f?: string) => void): Promise<void> {
  // Long-running `reproq beat` processes register themselves as beat/<host>/<pid>.
  const ext = (
    await db.query<{ available: boolean; installed: string | null; periodic: number; beats: number }>(
      `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron') AS available,
              (SELECT extversion FROM pg_extension WHERE extname = 'pg_cron') AS installed,
              (SELECT count(*)::int FROM periodic_tasks WHERE enabled) AS periodic,
              (SELECT count(*)::int FROM reproq_workers
               WHERE left(worker_id, 5) = 'beat/' AND last_seen_at > NOW() - interval '2 minutes') AS beats`,
    )
  ).rows[0]!;
  if (ext.beats > 1) add('warn', `${ext.beats} \`reproq beat\` processes seen in the last 2 minutes: keep exactly one scheduler`);
  if (!ext.installed) {
    add('info', `pg_cron ${ext.available ? 'available but not installed' : 'not available on this server'}`);
    if (ext.periodic > 0) add('info', `${ext.periodic} enabled periodic task(s): run exactly one \`reproq beat\` (or one schedule timer) per database`);
    return;
  }
  const jobs = (
    await db.query<{ jobname: string | null; active: boolean }>(
      `SELECT jobname, active FROM cron.job WHERE jobname ILIKE '%reproq%' OR command ILIKE '%periodic_tasks%'`,
    )
  ).rows.filter((j) => j.active);
  add('ok', `pg_cron ${ext.installed} installed, ${jobs.length} active reproq job(s)`);
  if (jobs.length > 1) {
    add('warn', `${jobs.length} pg_cron jobs schedule periodic tasks (${jobs.map((j) => j.jobname).join(', ')}): keep exactly one scheduler`);
  } else if (jobs.length === 1 && ext.beats > 0) {
    add('warn', `pg_cron job ${jobs[0]!.jobname} and a \`reproq beat\` both schedule periodic tasks: keep exactly one`);
  } else if (jobs.length === 1 && ext.periodic > 0) {
    add('info', `pg_cron job ${jobs[0]!.jobname} schedules periodic tasks: do not also run \`reproq beat\``);
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
