/**
 * Schema migrations and schema checks.
 *
 * The .sql files in /migrations are the source of truth. This module has no Node imports so it can be bundled
 * anywhere, but it does not bundle the SQL: migrating is an operator task run from Node (`reproq migrate`),
 * where the list defaults to `loadMigrations()` from ./migrations/list.ts (read from disk). Workers never
 * migrate; pass `opts.migrations` explicitly to migrate from another runtime.
 *
 * Every migration file is idempotent and safe on a database that upstream Reproq (Go baseline, Django
 * `migrate-worker` or Django `migrate`) already created; the record table only saves re-running them.
 */
import { describeError } from './db/errors.ts';
import type { Db } from './db/types.ts';
import { ReproqError } from './errors.ts';

export interface Migration {
  /** File name without `.sql`, e.g. `0001_reproq_schema`; the primary key of the record table. */
  readonly name: string;
  readonly sql: string;
}

export interface MigrateOptions {
  /** Report what would be applied (in `applied`) without changing anything. */
  dryRun?: boolean;
  onProgress?: (msg: string) => void;
  /** Defaults to the files in /migrations, loaded through ./migrations/list.ts (Node only). */
  migrations?: readonly Migration[];
  /**
   * lock_timeout for the DDL of each migration, on Dbs with transactions. ALTER TABLE queued behind a long
   * transaction would block every claim behind it; failing (and rolling back cleanly) is better. Default 15s.
   */
  lockTimeout?: string;
  /**
   * Also apply the opt-in migrations/opt-in/light_indexes.sql: two upstream indexes redefined, under the
   * same names, to index only the rows their queries ask for (lighter claims and completions; see the file).
   */
  lightIndexes?: boolean;
  /** Put back upstream's definitions of the indexes lightIndexes narrows (undoes it). */
  upstreamIndexes?: boolean;
  /** The opt-in file lightIndexes or upstreamIndexes applies; defaults to the one in /migrations/opt-in (Node only). */
  indexMigration?: Migration;
}

export interface MigrateResult {
  /** Applied by this call, in order (with dryRun: would be applied). */
  applied: string[];
  /** Already applied, by an earlier run or by a concurrent migrator. */
  skipped: string[];
}

export class MigrationError extends ReproqError {
  override name = 'MigrationError';
}

/** An applied migration's file changed after it was applied. */
export class MigrationChecksumError extends MigrationError {
  override name = 'MigrationChecksumError';
  readonly migration: string;
  readonly appliedChecksum: string;
  readonly fileChecksum: string;
  constructor(migration: string, appliedChecksum: string, fileChecksum: string) {
    super(
      `migration ${migration} was applied with checksum ${appliedChecksum}, but its file now has checksum ` +
        `${fileChecksum}. Applied migrations must not be edited: restore the file and put the change in a new ` +
        `migration (if the edit is cosmetic only, set reproq_edge_migrations.checksum to the new value by hand).`,
    );
    this.migration = migration;
    this.appliedChecksum = appliedChecksum;
    this.fileChecksum = fileChecksum;
  }
}

export const MIGRATIONS_TABLE = 'reproq_edge_migrations';

const RECORD_TABLE_DDL = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Advisory lock key ('RQEDGMIG' as a big-endian int64); transaction-scoped, so safe behind poolers. */
const MIGRATION_LOCK_KEY = '5931598343779993927';

const NAME_RE = /^[0-9]{4}_[a-z0-9_]+$/;

// ---------------------------------------------------------------------------------------------------------
// Migration list and checksums
// ---------------------------------------------------------------------------------------------------------

/** sha256 hex of the SQL with CRLF normalised, so a Windows checkout does not look like an edit. */
export async function migrationChecksum(sql: string): Promise<string> {
  const bytes = new TextEncoder().encode(sql.replace(/\r\n/g, '\n'));
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

interface MigrationLoader {
  loadMigrations(): Promise<Migration[]>;
  loadIndexMigration(set: IndexSet): Promise<Migration>;
}

async function fromLoader<T>(what: string, load: (loader: MigrationLoader) => Promise<T>): Promise<T> {
  try {
    // Not a literal specifier, so bundlers for Workers do not pull node:fs in. Same extension
    // as this module: .ts from the sources, .js from dist/.
    const ext = /\.[jt]s$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js';
    const url = new URL(`./migrations/list${ext}`, import.meta.url).href;
    return await load((await import(/* @vite-ignore */ url)) as MigrationLoader);
  } catch (err) {
    throw new MigrationError(
      `no ${what} was given and the Node loader (src/migrations/list.ts) could not be used; ` +
        'run migrations from Node (`reproq migrate`) or pass it in the options',
      { cause: err },
    );
  }
}

async function resolveMigrations(given: readonly Migration[] | undefined): Promise<Migration[]> {
  const list = given ?? (await fromLoader('migration list', (l) => l.loadMigrations()));
  const seen = new Set<string>();
  let previous = '';
  for (const m of list) {
    if (!NAME_RE.test(m.name)) throw new MigrationError(`bad migration name ${JSON.stringify(m.name)} (want NNNN_snake_case)`);
    if (seen.has(m.name)) throw new MigrationError(`duplicate migration ${m.name}`);
    if (m.name < previous) throw new MigrationError(`migrations out of order: ${m.name} after ${previous}`);
    seen.add(m.name);
    previous = m.name;
  }
  return [...list];
}

interface AppliedRow {
  name: string;
  checksum: string;
  appliedAt: Date;
}

async function recordTableExists(db: Db): Promise<boolean> {
  const r = await db.query<{ present: boolean }>(`SELECT to_regclass('${MIGRATIONS_TABLE}') IS NOT NULL AS present`);
  return r.rows[0]?.present === true;
}

async function readApplied(db: Db): Promise<Map<string, AppliedRow>> {
  const out = new Map<string, AppliedRow>();
  if (!(await recordTableExists(db))) return out;
  const r = await db.query<{ name: string; checksum: string; applied_at: Date | string }>(
    `SELECT name, checksum, applied_at FROM ${MIGRATIONS_TABLE} ORDER BY name`,
  );
  for (const row of r.rows) {
    out.set(row.name, { name: row.name, checksum: row.checksum, appliedAt: new Date(row.applied_at) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------------------

export interface MigrationStatusEntry {
  name: string;
  checksum: string;
  /** `changed`: applied, but the file's checksum differs from the recorded one. */
  state: 'applied' | 'pending' | 'changed';
  appliedAt: Date | null;
  appliedChecksum: string | null;
}

export interface MigrationStatus {
  entries: MigrationStatusEntry[];
  pending: string[];
  changed: string[];
  /** Recorded in the database but not in this package's list (the database was migrated by a newer version). */
  unknown: { name: string; checksum: string; appliedAt: Date }[];
  upToDate: boolean;
}

export async function migrationStatus(db: Db, migrations?: readonly Migration[]): Promise<MigrationStatus> {
  const list = await resolveMigrations(migrations);
  const applied = await readApplied(db);
  const entries: MigrationStatusEntry[] = [];
  for (const m of list) {
    const checksum = await migrationChecksum(m.sql);
    const row = applied.get(m.name);
    entries.push({
      name: m.name,
      checksum,
      state: !row ? 'pending' : row.checksum === checksum ? 'applied' : 'changed',
      appliedAt: row?.appliedAt ?? null,
      appliedChecksum: row?.checksum ?? null,
    });
  }
  const known = new Set<string>([...list.map((m) => m.name), LIGHT_INDEXES_RECORD]);
  const unknown = [...applied.values()].filter((r) => !known.has(r.name));
  const pending = entries.filter((e) => e.state === 'pending').map((e) => e.name);
  const changed = entries.filter((e) => e.state === 'changed').map((e) => e.name);
  return { entries, pending, changed, unknown, upToDate: pending.length === 0 && changed.length === 0 };
}

/** Names of the migrations not yet applied, in order. */
export async function pendingMigrations(db: Db, migrations?: readonly Migration[]): Promise<string[]> {
  return (await migrationStatus(db, migrations)).pending;
}

// ---------------------------------------------------------------------------------------------------------
// migrate
// ---------------------------------------------------------------------------------------------------------

export async function migrate(db: Db, opts: MigrateOptions = {}): Promise<MigrateResult> {
  if (opts.lightIndexes && opts.upstreamIndexes) throw new MigrationError('choose one of lightIndexes and upstreamIndexes');
  const progress = opts.onProgress ?? (() => {});
  const list = await resolveMigrations(opts.migrations);
  const checksums = new Map<string, string>();
  for (const m of list) checksums.set(m.name, await migrationChecksum(m.sql));

  // Fail before touching anything if an applied file was edited.
  const status = await migrationStatus(db, list);
  const firstChanged = status.entries.find((e) => e.state === 'changed');
  if (firstChanged) throw new MigrationChecksumError(firstChanged.name, firstChanged.appliedChecksum ?? '', firstChanged.checksum);
  for (const u of status.unknown) progress(`warning: ${u.name} is recorded as applied but unknown to this version`);

  if (opts.dryRun) {
    for (const name of status.pending) progress(`would apply ${name}`);
    const result = { applied: status.pending, skipped: status.entries.filter((e) => e.state === 'applied').map((e) => e.name) };
    if (opts.lightIndexes || opts.upstreamIndexes) await applyIndexSet(db, opts, progress, result);
    return result;
  }

  if (!db.transaction) {
    progress(
      `warning: the ${db.driver} driver has no transactions; applying statement by statement, without the ` +
        'migration lock (do not run two migrators at once; every statement is idempotent, so re-run after a failure)',
    );
  }

  const result: MigrateResult = { applied: [], skipped: [] };
  for (const m of list) {
    const checksum = checksums.get(m.name) ?? '';
    if (status.entries.find((e) => e.name === m.name)?.state === 'applied') {
      result.skipped.push(m.name);
      continue;
    }
    const started = Date.now();
    progress(`applying ${m.name}`);
    const outcome = db.transaction
      ? await db.transaction((tx) => applyLocked(tx, m, checksum, opts.lockTimeout ?? '15s'))
      : await applyUnlocked(db, m, checksum);
    if (outcome === 'applied') {
      result.applied.push(m.name);
      progress(`applied ${m.name} in ${Date.now() - started} ms`);
    } else {
      result.skipped.push(m.name);
      progress(`skipped ${m.name} (applied meanwhile by another migrator)`);
    }
  }
  if (opts.lightIndexes || opts.upstreamIndexes) await applyIndexSet(db, opts, progress, result);
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Opt-in index sets
// ---------------------------------------------------------------------------------------------------------

/** Upstream's index definitions, or the opt-in lighter ones of migrations/opt-in/light_indexes.sql. */
export type IndexSet = 'upstream' | 'light';

/** The opt-in files in migrations/opt-in, by the set they install. */
export const INDEX_SET_MIGRATIONS: Readonly<Record<IndexSet, string>> = { upstream: 'upstream_indexes', light: 'light_indexes' };

/** Recorded in the record table while the light set is installed by `migrate`; the catalog is the truth. */
const LIGHT_INDEXES_RECORD = INDEX_SET_MIGRATIONS.light;

/** Applies the opt-in index set asked for, unless the catalog already has it; records the light set. */
async function applyIndexSet(db: Db, opts: MigrateOptions, progress: (msg: string) => void, result: MigrateResult): Promise<void> {
  const set: IndexSet = opts.lightIndexes ? 'light' : 'upstream';
  const m = opts.indexMigration ?? (await fromLoader('index migration', (l) => l.loadIndexMigration(set)));
  if ((await installedIndexSet(db)) === set) {
    result.skipped.push(m.name);
    return;
  }
  if (opts.dryRun) {
    progress(`would apply ${m.name}`);
    result.applied.push(m.name);
    return;
  }
  const checksum = await migrationChecksum(m.sql);
  const record = async (q: Db) => {
    await q.query(RECORD_TABLE_DDL);
    if (set === 'light') {
      await q.query(
        `INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
        [LIGHT_INDEXES_RECORD, checksum],
      );
    } else await q.query(`DELETE FROM ${MIGRATIONS_TABLE} WHERE name = $1`, [LIGHT_INDEXES_RECORD]);
  };
  const started = Date.now();
  progress(`applying ${m.name}`);
  if (db.transaction) {
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [opts.lockTimeout ?? '15s']);
      await runScript(tx, m, true);
      await record(tx);
    });
  } else {
    await runScript(db, m, false);
    await record(db);
  }
  result.applied.push(m.name);
  progress(`applied ${m.name} in ${Date.now() - started} ms`);
}

/** pg_get_indexdef() of the indexes light_indexes.sql redefines, as that file creates them. */
export const LIGHT_INDEXES: Readonly<Record<string, string>> = {
  idx_task_runs_workflow_id:
    'CREATE INDEX idx_task_runs_workflow_id ON task_runs USING btree (workflow_id) WHERE (workflow_id IS NOT NULL)',
  idx_task_runs_task_path:
    "CREATE INDEX idx_task_runs_task_path ON task_runs USING btree (task_path) WHERE ((task_path IS NULL) OR (task_path = ''::text))",
};

/**
 * Which definitions the indexes of LIGHT_INDEXES have: all upstream's, all light, `mixed` (some of each),
 * or `other` (one is missing, invalid or defined otherwise).
 */
export async function installedIndexSet(db: Db): Promise<IndexSet | 'mixed' | 'other'> {
  const r = await db.query<{ name: string; valid: boolean; def: string }>(
    `SELECT ic.relname AS name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = to_regclass('task_runs') AND ic.relname = ANY($1::text[])`,
    [Object.keys(LIGHT_INDEXES)],
  );
  return indexSetOf(new Map(r.rows.map((row) => [row.name, row])));
}

/** installedIndexSet's verdict from the catalog rows (pg_get_indexdef and indisvalid) of task_runs' indexes, by name. */
function indexSetOf(indexes: ReadonlyMap<string, { valid: boolean; def: string }>): IndexSet | 'mixed' | 'other' {
  const kinds = new Set(
    Object.keys(LIGHT_INDEXES).map((n) => {
      const have = indexes.get(n);
      const def = have?.valid ? normaliseIndexDef(have.def) : undefined;
      return def === EXPECTED_INDEXES[n] ? 'upstream' : def === LIGHT_INDEXES[n] ? 'light' : 'other';
    }),
  );
  if (kinds.has('other')) return 'other';
  return kinds.size === 1 ? ([...kinds][0] as IndexSet) : 'mixed';
}

async function applyLocked(tx: Db, m: Migration, checksum: string, lockTimeout: string): Promise<'applied' | 'skipped'> {
  // Serialises concurrent migrators; released at COMMIT/ROLLBACK. Taken before lock_timeout is set, since
  // waiting for another migrator is expected.
  await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
  await tx.query(RECORD_TABLE_DDL);
  // READ COMMITTED: this statement sees whatever the migrator we waited for committed.
  const r = await tx.query<{ checksum: string }>(`SELECT checksum FROM ${MIGRATIONS_TABLE} WHERE name = $1`, [m.name]);
  const existing = r.rows[0];
  if (existing) {
    if (existing.checksum !== checksum) throw new MigrationChecksumError(m.name, existing.checksum, checksum);
    return 'skipped';
  }
  await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [lockTimeout]);
  await runScript(tx, m, true);
  await tx.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [m.name, checksum]);
  return 'applied';
}

async function applyUnlocked(db: Db, m: Migration, checksum: string): Promise<'applied' | 'skipped'> {
  await db.query(RECORD_TABLE_DDL);
  // Statement by statement even if the Db has exec: a Db without transactions is Neon's HTTP driver, whose
  // endpoint takes one statement per request (its exec refuses scripts).
  await runScript(db, m, false);
  const r = await db.query(
    `INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
    [m.name, checksum],
  );
  return r.rowCount === 1 ? 'applied' : 'skipped';
}

/** One round trip through `exec` when allowed and available; otherwise statement by statement through `query`. */
async function runScript(db: Db, m: Migration, useExec: boolean): Promise<void> {
  if (useExec && db.exec) {
    try {
      await db.exec(m.sql);
    } catch (err) {
      throw new MigrationError(`migration ${m.name} failed: ${describeError(err)}`, { cause: err });
    }
    return;
  }
  const statements = splitSqlStatements(m.sql);
  for (const [i, statement] of statements.entries()) {
    try {
      await db.query(statement);
    } catch (err) {
      const head = statement.split('\n').find((line) => line.trim() && !line.trim().startsWith('--')) ?? '';
      throw new MigrationError(
        `migration ${m.name} failed at statement ${i + 1}/${statements.length} (${head.trim().slice(0, 80)}): ${describeError(err)}`,
        { cause: err },
      );
    }
  }
}


/**
 * Splits a script into statements at top-level semicolons, skipping `--` and (nested) block comments, quoted
 * strings (including E'' escapes), quoted identifiers and dollar-quoted bodies. Comment-only pieces are dropped.
 */
export function splitSqlStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let hasCode = false;
  let i = 0;
  const n = sql.length;
  const isIdent = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9_$]/.test(ch);
  const flush = (end: number) => {
    if (hasCode) out.push(sql.slice(start, end).trim());
    start = end + 1;
    hasCode = false;
  };
  while (i < n) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2));
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
      continue;
    }
    if (ch === ';') {
      flush(i);
      i++;
      continue;
    }
    if (!hasCode && !/\s/.test(ch ?? '')) {
      hasCode = true;
      start = i; // leading comments are not part of the statement
    }
    if (ch === "'") {
      const prev = sql[i - 1];
      const escapes = (prev === 'E' || prev === 'e') && !isIdent(sql[i - 2]);
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      continue;
    }
    if (ch === '"') {
      i++;
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2;
        else if (sql[i] === '"') break;
        else i++;
      }
      i++;
      continue;
    }
    if (ch === '$' && !isIdent(sql[i - 1])) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? n : close + tag[0].length;
        continue;
      }
    }
    i++;
  }
  flush(n);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// checkSchema: the database versus the upstream schema, for `doctor`
// ---------------------------------------------------------------------------------------------------------

interface ExpectedColumn {
  name: string;
  /** format_type() spelling. */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

const col = (name: string, type: string, notNull = false, hasDefault = false): ExpectedColumn => ({ name, type, notNull, hasDefault });
const TS = 'timestamp with time zone';

/** Upstream columns (reproq-worker migrations/000001_baseline.up.sql), in upstream order. */
export const EXPECTED_COLUMNS: Readonly<Record<string, readonly ExpectedColumn[]>> = {
  task_runs: [
    col('result_id', 'bigint', true, true),
    col('backend_alias', 'text', true, true),
    col('queue_name', 'text', true, true),
    col('priority', 'integer', true, true),
    col('run_after', TS),
    col('spec_json', 'jsonb', true),
    col('spec_hash', 'character(64)', true),
    col('task_path', 'text'),
    col('status', 'text', true, true),
    col('enqueued_at', TS, true, true),
    col('started_at', TS),
    col('last_attempted_at', TS),
    col('finished_at', TS),
    col('attempts', 'integer', true, true),
    col('max_attempts', 'integer', true, true),
    col('timeout_seconds', 'integer', true, true),
    col('lock_key', 'text'),
    col('concurrency_key', 'text'),
    col('concurrency_limit', 'integer', true, true),
    col('worker_ids', 'jsonb', true, true),
    col('return_json', 'jsonb'),
    col('errors_json', 'jsonb', true, true),
    col('metadata_json', 'jsonb', true, true),
    col('last_error', 'text'),
    col('failed_at', TS),
    col('leased_until', TS),
    col('leased_by', 'text'),
    col('logs_uri', 'text'),
    col('artifacts_uri', 'text'),
    col('expires_at', TS),
    col('parent_id', 'bigint'),
    col('workflow_id', 'uuid'),
    col('wait_count', 'integer', true, true),
    col('created_at', TS, true, true),
    col('updated_at', TS, true, true),
    col('cancel_requested', 'boolean', true, true),
  ],
  periodic_tasks: [
    col('name', 'text', true),
    col('cron_expr', 'text', true),
    col('task_path', 'text', true),
    col('payload_json', 'jsonb', true, true),
    col('queue_name', 'text', true, true),
    col('priority', 'integer', true, true),
    col('max_attempts', 'integer', true, true),
    col('concurrency_key', 'text'),
    col('concurrency_limit', 'integer', true, true),
    col('last_run_at', TS),
    col('next_run_at', TS, true),
    col('enabled', 'boolean', true, true),
    col('created_at', TS, true, true),
    col('updated_at', TS, true, true),
  ],
  reproq_queue_controls: [
    col('queue_name', 'text', true),
    col('paused', 'boolean', true, true),
    col('paused_at', TS),
    col('reason', 'text'),
    col('created_at', TS, true, true),
    col('updated_at', TS, true, true),
  ],
  reproq_workers: [
    col('worker_id', 'text', true),
    col('hostname', 'text'),
    col('concurrency', 'integer'),
    col('queues', 'jsonb', true, true),
    col('started_at', TS, true, true),
    col('last_seen_at', TS, true, true),
    col('version', 'text'),
  ],
  rate_limits: [
    col('key', 'text', true),
    col('tokens_per_second', 'real', true),
    col('burst_size', 'integer', true),
    col('current_tokens', 'real', true),
    col('last_refilled_at', TS, true, true),
  ],
  workflow_runs: [
    col('workflow_id', 'uuid', true),
    col('expected_count', 'integer', true),
    col('success_count', 'integer', true, true),
    col('failure_count', 'integer', true, true),
    col('callback_result_id', 'bigint'),
    col('status', 'text', true, true),
    col('created_at', TS, true, true),
    col('updated_at', TS, true, true),
  ],
};

/** Types a Django-created table has instead of upstream's; they work with every peer, so only a warning. */
const TOLERATED_TYPES: Readonly<Record<string, string>> = {
  'task_runs.spec_hash': 'character varying(64)',
  'rate_limits.tokens_per_second': 'double precision',
  'rate_limits.current_tokens': 'double precision',
};

/** Upstream index definitions as pg_get_indexdef() prints them, with the table's schema qualifier removed. */
export const EXPECTED_INDEXES: Readonly<Record<string, string>> = {
  idx_task_runs_claim:
    "CREATE INDEX idx_task_runs_claim ON task_runs USING btree (queue_name, status, priority DESC, enqueued_at) WHERE (status = 'READY'::text)",
  idx_task_runs_spec_unique:
    "CREATE UNIQUE INDEX idx_task_runs_spec_unique ON task_runs USING btree (spec_hash) WHERE (status = ANY (ARRAY['READY'::text, 'RUNNING'::text]))",
  idx_task_runs_lock_key:
    "CREATE INDEX idx_task_runs_lock_key ON task_runs USING btree (lock_key) WHERE (status = 'RUNNING'::text)",
  idx_task_runs_concurrency_active:
    "CREATE INDEX idx_task_runs_concurrency_active ON task_runs USING btree (concurrency_key, leased_until) WHERE ((status = 'RUNNING'::text) AND (concurrency_key IS NOT NULL))",
  idx_task_runs_parent_id:
    "CREATE INDEX idx_task_runs_parent_id ON task_runs USING btree (parent_id) WHERE (status = 'WAITING'::text)",
  idx_task_runs_workflow_id: 'CREATE INDEX idx_task_runs_workflow_id ON task_runs USING btree (workflow_id)',
  idx_task_runs_failed_at:
    "CREATE INDEX idx_task_runs_failed_at ON task_runs USING btree (failed_at) WHERE (status = 'FAILED'::text)",
  idx_task_runs_task_path: 'CREATE INDEX idx_task_runs_task_path ON task_runs USING btree (task_path)',
  idx_task_runs_claim_due:
    "CREATE INDEX idx_task_runs_claim_due ON task_runs USING btree (queue_name, COALESCE(run_after, '-infinity'::timestamp with time zone), priority DESC, enqueued_at) WHERE (status = 'READY'::text)",
  idx_periodic_tasks_next_run:
    'CREATE INDEX idx_periodic_tasks_next_run ON periodic_tasks USING btree (next_run_at) WHERE (enabled = true)',
  idx_workflow_runs_callback: 'CREATE INDEX idx_workflow_runs_callback ON workflow_runs USING btree (callback_result_id)',
};

const PRIMARY_KEYS: Readonly<Record<string, string>> = {
  task_runs: 'result_id',
  periodic_tasks: 'name',
  reproq_queue_controls: 'queue_name',
  reproq_workers: 'worker_id',
  rate_limits: 'key',
  workflow_runs: 'workflow_id',
};

export const VALIDATE_TASK_PATH_CONSTRAINT = 'ALTER TABLE task_runs VALIDATE CONSTRAINT task_runs_task_path_not_empty;';

export interface SchemaIssue {
  severity: 'error' | 'warning';
  /** `table`, `table.column`, an index, trigger or constraint name. */
  object: string;
  message: string;
  /** A statement or command that fixes it. */
  fix?: string;
}

export interface SchemaReport {
  /** No issue of severity `error`. */
  ok: boolean;
  missingTables: string[];
  /** `table.column`. */
  missingColumns: string[];
  /** Upstream columns with a server default that lacks one here (a Django-created table before migrate). */
  missingDefaults: string[];
  missingIndexes: string[];
  /** Present but INVALID (a failed CREATE INDEX CONCURRENTLY); IF NOT EXISTS will not rebuild these. */
  invalidIndexes: string[];
  trigger: { present: boolean; functionPresent: boolean };
  taskPathConstraint: {
    present: boolean;
    /** pg_constraint.convalidated. */
    validated: boolean;
    /** Rows that would fail validation; counted only when present and not validated. */
    violatingRows: number | null;
    fix: string | null;
  };
  /** This package's own additions (0002, 0004, 0005, 0006). */
  extras: { claimRankFunction: boolean; claimRankIndex: boolean; claimKeysFunction: boolean; runningWorkflowsIndex: boolean; unknownStatusIndex: boolean };
  /** The definitions of the indexes the opt-in light set narrows (see installedIndexSet). */
  indexSet: IndexSet | 'mixed' | 'other';
  issues: SchemaIssue[];
}

/** Compares the database with the upstream schema. Read-only; works on any Db (no transaction needed). */
export async function checkSchema(db: Db): Promise<SchemaReport> {
  const tables = Object.keys(EXPECTED_COLUMNS);
  const tableList = tables.map((t) => `('${t}')`).join(', ');
  const issues: SchemaIssue[] = [];
  const migrateFix = 'reproq migrate';

  const present = await db.query<{ name: string; present: boolean }>(
    `SELECT t.name, to_regclass(t.name) IS NOT NULL AS present FROM (VALUES ${tableList}) AS t (name)`,
  );
  const missingTables = present.rows.filter((r) => !r.present).map((r) => r.name);
  for (const t of missingTables) issues.push({ severity: 'error', object: t, message: 'table is missing', fix: migrateFix });

  const cols = await db.query<{
    table_name: string;
    column_name: string;
    type: string;
    not_null: boolean;
    has_default: boolean;
    is_primary: boolean;
  }>(
    `SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, (d.adbin IS NOT NULL OR a.attidentity <> '') AS has_default,
            EXISTS (SELECT 1 FROM pg_constraint p
                    WHERE p.conrelid = c.oid AND p.contype = 'p' AND p.conkey = ARRAY[a.attnum]) AS is_primary
       FROM (VALUES ${tableList}) AS t (name)
       JOIN pg_class c ON c.oid = to_regclass(t.name)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum`,
  );
  const actual = new Map(cols.rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
  const missingColumns: string[] = [];
  const missingDefaults: string[] = [];
  for (const table of tables) {
    if (missingTables.includes(table)) continue;
    for (const want of EXPECTED_COLUMNS[table] ?? []) {
      const key = `${table}.${want.name}`;
      const have = actual.get(key);
      if (!have) {
        missingColumns.push(key);
        issues.push({ severity: 'error', object: key, message: `column is missing (${want.type})`, fix: migrateFix });
        continue;
      }
      if (have.type !== want.type) {
        const tolerated = TOLERATED_TYPES[key] === have.type;
        issues.push({
          severity: tolerated ? 'warning' : 'error',
          object: key,
          message: tolerated
            ? `type is ${have.type} (upstream ${want.type}); created by Django's migrate, compatible`
            : `type is ${have.type}, expected ${want.type}`,
        });
      }
      if (have.not_null !== want.notNull) {
        issues.push({
          severity: 'warning',
          object: key,
          message: have.not_null
            ? 'is NOT NULL here but nullable upstream (Django-created); writers must always set it'
            : 'is nullable here but NOT NULL upstream',
        });
      }
      if (want.hasDefault && !have.has_default) {
        missingDefaults.push(key);
        issues.push({
          severity: 'error',
          object: key,
          message: 'has no server default (Django-created); raw inserts that omit it fail',
          fix: migrateFix,
        });
      }
    }
    const pk = PRIMARY_KEYS[table];
    if (pk && actual.has(`${table}.${pk}`) && !actual.get(`${table}.${pk}`)?.is_primary) {
      issues.push({ severity: 'error', object: table, message: `primary key on ${pk} is missing` });
    }
  }

  const idx = await db.query<{ name: string; valid: boolean; def: string }>(
    `SELECT ic.relname AS name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def
       FROM (VALUES ${tableList}) AS t (name)
       JOIN pg_index i ON i.indrelid = to_regclass(t.name)
       JOIN pg_class ic ON ic.oid = i.indexrelid`,
  );
  const indexes = new Map(idx.rows.map((r) => [r.name, r]));
  const missingIndexes: string[] = [];
  const invalidIndexes: string[] = [];
  for (const [name, def] of Object.entries(EXPECTED_INDEXES)) {
    const have = indexes.get(name);
    if (!have) {
      missingIndexes.push(name);
      issues.push({
        severity: 'error',
        object: name,
        message:
          name === 'idx_task_runs_spec_unique' ? 'index is missing: enqueue dedup is not enforced' : 'index is missing',
        fix: `${migrateFix} (large table: first ${def.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ')})`,
      });
      continue;
    }
    if (!have.valid) {
      invalidIndexes.push(name);
      issues.push({
        severity: 'error',
        object: name,
        message: 'index is INVALID (a failed concurrent build)',
        fix: `DROP INDEX CONCURRENTLY ${name}; then ${migrateFix}`,
      });
    }
    if (normaliseIndexDef(have.def) !== def && normaliseIndexDef(have.def) !== LIGHT_INDEXES[name]) {
      issues.push({ severity: 'warning', object: name, message: `definition differs from upstream: ${normaliseIndexDef(have.def)}` });
    }
  }

  const guard = await db.query<{ fn: boolean; trg: boolean; con_present: boolean; con_valid: boolean | null }>(
    `SELECT to_regproc('reproq_task_path_from_spec') IS NOT NULL AS fn,
            EXISTS (SELECT 1 FROM pg_trigger
                    WHERE tgrelid = to_regclass('task_runs') AND tgname = 'trg_task_runs_task_path' AND NOT tgisinternal) AS trg,
            EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conrelid = to_regclass('task_runs') AND conname = 'task_runs_task_path_not_empty') AS con_present,
            (SELECT convalidated FROM pg_constraint
              WHERE conrelid = to_regclass('task_runs') AND conname = 'task_runs_task_path_not_empty') AS con_valid`,
  );
  const g = guard.rows[0] ?? { fn: false, trg: false, con_present: false, con_valid: null };
  if (!g.fn) issues.push({ severity: 'error', object: 'reproq_task_path_from_spec()', message: 'function is missing', fix: migrateFix });
  if (!g.trg) issues.push({ severity: 'error', object: 'trg_task_runs_task_path', message: 'trigger is missing', fix: migrateFix });

  let violatingRows: number | null = null;
  let constraintFix: string | null = null;
  if (!g.con_present) {
    if (!missingTables.includes('task_runs')) {
      issues.push({ severity: 'error', object: 'task_runs_task_path_not_empty', message: 'check constraint is missing', fix: migrateFix });
    }
  } else if (!g.con_valid) {
    const v = await db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM task_runs WHERE task_path IS NULL OR task_path = ''`,
    );
    violatingRows = Number(v.rows[0]?.n ?? 0);
    constraintFix =
      violatingRows === 0
        ? VALIDATE_TASK_PATH_CONSTRAINT
        : `-- set task_path on the ${violatingRows} row(s) with an empty task_path (or delete them), then:\n${VALIDATE_TASK_PATH_CONSTRAINT}`;
    issues.push({
      severity: 'warning',
      object: 'task_runs_task_path_not_empty',
      message:
        violatingRows === 0
          ? 'check constraint is NOT VALID (new rows are checked; existing ones are not); no row violates it, validate it'
          : `check constraint is NOT VALID and ${violatingRows} existing row(s) have no task_path`,
      fix: constraintFix,
    });
  }

  // Django's migrate creates this FK without ON DELETE (Django emulates SET NULL in Python), so pruning a
  // chain parent from SQL fails. Reported, not changed: the constraint belongs to Django's migration.
  if (!missingTables.includes('task_runs') && actual.has('task_runs.parent_id')) {
    const fk = await db.query<{ conname: string; deltype: string }>(
      `SELECT conname, confdeltype::text AS deltype FROM pg_constraint
        WHERE conrelid = to_regclass('task_runs') AND contype = 'f'
          AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = to_regclass('task_runs') AND attname = 'parent_id')]`,
    );
    const setNull = fk.rows.find((r) => r.deltype === 'n');
    if (!setNull) {
      const existing = fk.rows[0];
      issues.push({
        severity: 'warning',
        object: 'task_runs.parent_id',
        message: existing
          ? `foreign key ${existing.conname} has no ON DELETE SET NULL (Django-created): deleting a parent row that children reference fails`
          : 'foreign key to task_runs(result_id) is missing',
        fix:
          `ALTER TABLE task_runs ${existing ? `DROP CONSTRAINT ${existing.conname}, ` : ''}` +
          'ADD CONSTRAINT task_runs_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES task_runs (result_id) ON DELETE SET NULL NOT VALID;',
      });
    }
  }

  const extras = await db.query<{ fn: boolean; idx: boolean; keys: boolean; running: boolean; unknown_status: boolean; claim_path: boolean }>(
    `SELECT to_regprocedure('reproq_claim_rank(integer, timestamp with time zone, double precision)') IS NOT NULL AS fn,
            to_regclass('idx_task_runs_claim_rank') IS NOT NULL AS idx,
            to_regprocedure('reproq_claim_keys(text, text, integer, bigint)') IS NOT NULL AS keys,
            to_regclass('idx_workflow_runs_running') IS NOT NULL AS running,
            to_regclass('idx_task_runs_unknown_status') IS NOT NULL AS unknown_status,
            to_regclass('idx_task_runs_claim_path') IS NOT NULL AS claim_path`,
  );
  const x = extras.rows[0] ?? { fn: false, idx: false, keys: false, running: false, unknown_status: false, claim_path: false };
  if (!x.fn || !x.idx) {
    issues.push({ severity: 'warning', object: 'idx_task_runs_claim_rank', message: 'aged-claim index (0002) is missing', fix: migrateFix });
  }
  if (!x.claim_path && !missingTables.includes('task_runs')) {
    issues.push({
      severity: 'warning',
      object: 'idx_task_runs_claim_path',
      message: "per-path claim index (0007) is missing: every claim walks other task paths' READY rows",
      fix: migrateFix,
    });
  }
  if (!x.keys) {
    issues.push({
      severity: 'error',
      object: 'reproq_claim_keys()',
      message: 'function is missing (0004): every drain step calls it, so drains fail until it exists',
      fix: migrateFix,
    });
  }
  if (!x.running) {
    issues.push({ severity: 'warning', object: 'idx_workflow_runs_running', message: 'index for the workflow sweep (0005) is missing', fix: migrateFix });
  }
  if (!x.unknown_status && !missingTables.includes('task_runs')) {
    issues.push({
      severity: 'warning',
      object: 'idx_task_runs_unknown_status',
      message: 'index (0006) is missing: metrics and doctor scan the whole table to count rows with an unknown status',
      fix: migrateFix,
    });
  }

  return {
    ok: !issues.some((i) => i.severity === 'error'),
    missingTables,
    missingColumns,
    missingDefaults,
    missingIndexes,
    invalidIndexes,
    trigger: { present: g.trg, functionPresent: g.fn },
    taskPathConstraint: {
      present: g.con_present,
      validated: g.con_present && g.con_valid === true,
      violatingRows,
      fix: constraintFix,
    },
    extras: { claimRankFunction: x.fn, claimRankIndex: x.idx, claimKeysFunction: x.keys, runningWorkflowsIndex: x.running, unknownStatusIndex: x.unknown_status },
    indexSet: indexSetOf(indexes),
    issues,
  };
}

/** Drops the schema qualifier pg_get_indexdef puts on the table, so the text compares across schemas. */
export function normaliseIndexDef(def: string): string {
  return def.replace(/ ON (?:ONLY )?(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\./, ' ON ');
}
