/**
 * Schema migrations against real Postgres (and PGlite): the result is diffed against the upstream column and
 * index list, and the migrations are applied on top of databases that upstream tools created.
 * Each test works in its own scratch database `reproq_schema_<random>`.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pgDb } from '../src/db/pg.ts';
import { pgliteDb } from '../src/db/pglite.ts';
import type { Db, QueryResult } from '../src/db/types.ts';
import {
  MigrationChecksumError,
  MigrationError,
  VALIDATE_TASK_PATH_CONSTRAINT,
  checkSchema,
  migrate,
  migrationStatus,
  pendingMigrations,
  splitSqlStatements,
  type Migration,
} from '../src/migrate.ts';
import { loadMigrations } from '../src/migrations/list.ts';
import { ADMIN_URL, databaseUrl } from './support/urls.ts';

// ---------------------------------------------------------------------------------------------------------
// Expected schema, written from the upstream column list (reproq-worker.md §1 / 000001_baseline.up.sql).
// [column, data_type, character_maximum_length, is_nullable, column_default]
// ---------------------------------------------------------------------------------------------------------

type Col = [string, string, number | null, 'YES' | 'NO', string | null];
const TSZ = 'timestamp with time zone';
const NOW = 'now()';

const UPSTREAM_COLUMNS: Record<string, Col[]> = {
  task_runs: [
    ['result_id', 'bigint', null, 'NO', "nextval('task_runs_result_id_seq'::regclass)"],
    ['backend_alias', 'text', null, 'NO', "'default'::text"],
    ['queue_name', 'text', null, 'NO', "'default'::text"],
    ['priority', 'integer', null, 'NO', '0'],
    ['run_after', TSZ, null, 'YES', null],
    ['spec_json', 'jsonb', null, 'NO', null],
    ['spec_hash', 'character', 64, 'NO', null],
    ['task_path', 'text', null, 'YES', null],
    ['status', 'text', null, 'NO', "'READY'::text"],
    ['enqueued_at', TSZ, null, 'NO', NOW],
    ['started_at', TSZ, null, 'YES', null],
    ['last_attempted_at', TSZ, null, 'YES', null],
    ['finished_at', TSZ, null, 'YES', null],
    ['attempts', 'integer', null, 'NO', '0'],
    ['max_attempts', 'integer', null, 'NO', '3'],
    ['timeout_seconds', 'integer', null, 'NO', '900'],
    ['lock_key', 'text', null, 'YES', null],
    ['concurrency_key', 'text', null, 'YES', null],
    ['concurrency_limit', 'integer', null, 'NO', '0'],
    ['worker_ids', 'jsonb', null, 'NO', "'[]'::jsonb"],
    ['return_json', 'jsonb', null, 'YES', null],
    ['errors_json', 'jsonb', null, 'NO', "'[]'::jsonb"],
    ['metadata_json', 'jsonb', null, 'NO', "'{}'::jsonb"],
    ['last_error', 'text', null, 'YES', null],
    ['failed_at', TSZ, null, 'YES', null],
    ['leased_until', TSZ, null, 'YES', null],
    ['leased_by', 'text', null, 'YES', null],
    ['logs_uri', 'text', null, 'YES', null],
    ['artifacts_uri', 'text', null, 'YES', null],
    ['expires_at', TSZ, null, 'YES', null],
    ['parent_id', 'bigint', null, 'YES', null],
    ['workflow_id', 'uuid', null, 'YES', null],
    ['wait_count', 'integer', null, 'NO', '0'],
    ['created_at', TSZ, null, 'NO', NOW],
    ['updated_at', TSZ, null, 'NO', NOW],
    ['cancel_requested', 'boolean', null, 'NO', 'false'],
  ],
  periodic_tasks: [
    ['name', 'text', null, 'NO', null],
    ['cron_expr', 'text', null, 'NO', null],
    ['task_path', 'text', null, 'NO', null],
    ['payload_json', 'jsonb', null, 'NO', "'{}'::jsonb"],
    ['queue_name', 'text', null, 'NO', "'default'::text"],
    ['priority', 'integer', null, 'NO', '0'],
    ['max_attempts', 'integer', null, 'NO', '3'],
    ['concurrency_key', 'text', null, 'YES', null],
    ['concurrency_limit', 'integer', null, 'NO', '0'],
    ['last_run_at', TSZ, null, 'YES', null],
    ['next_run_at', TSZ, null, 'NO', null],
    ['enabled', 'boolean', null, 'NO', 'true'],
    ['created_at', TSZ, null, 'NO', NOW],
    ['updated_at', TSZ, null, 'NO', NOW],
  ],
  reproq_queue_controls: [
    ['queue_name', 'text', null, 'NO', null],
    ['paused', 'boolean', null, 'NO', 'false'],
    ['paused_at', TSZ, null, 'YES', null],
    ['reason', 'text', null, 'YES', null],
    ['created_at', TSZ, null, 'NO', NOW],
    ['updated_at', TSZ, null, 'NO', NOW],
  ],
  reproq_workers: [
    ['worker_id', 'text', null, 'NO', null],
    ['hostname', 'text', null, 'YES', null],
    ['concurrency', 'integer', null, 'YES', null],
    ['queues', 'jsonb', null, 'NO', "'[]'::jsonb"],
    ['started_at', TSZ, null, 'NO', NOW],
    ['last_seen_at', TSZ, null, 'NO', NOW],
    ['version', 'text', null, 'YES', null],
  ],
  rate_limits: [
    ['key', 'text', null, 'NO', null],
    ['tokens_per_second', 'real', null, 'NO', null],
    ['burst_size', 'integer', null, 'NO', null],
    ['current_tokens', 'real', null, 'NO', null],
    ['last_refilled_at', TSZ, null, 'NO', NOW],
  ],
  workflow_runs: [
    ['workflow_id', 'uuid', null, 'NO', null],
    ['expected_count', 'integer', null, 'NO', null],
    ['success_count', 'integer', null, 'NO', '0'],
    ['failure_count', 'integer', null, 'NO', '0'],
    ['callback_result_id', 'bigint', null, 'YES', null],
    ['status', 'text', null, 'NO', "'RUNNING'::text"],
    ['created_at', TSZ, null, 'NO', NOW],
    ['updated_at', TSZ, null, 'NO', NOW],
  ],
};
const TABLES = Object.keys(UPSTREAM_COLUMNS);

/** Upstream index definitions, as pg_indexes renders them in schema public. */
const UPSTREAM_INDEXES: Record<string, string> = {
  idx_task_runs_claim:
    "CREATE INDEX idx_task_runs_claim ON public.task_runs USING btree (queue_name, status, priority DESC, enqueued_at) WHERE (status = 'READY'::text)",
  idx_task_runs_spec_unique:
    "CREATE UNIQUE INDEX idx_task_runs_spec_unique ON public.task_runs USING btree (spec_hash) WHERE (status = ANY (ARRAY['READY'::text, 'RUNNING'::text]))",
  idx_task_runs_lock_key:
    "CREATE INDEX idx_task_runs_lock_key ON public.task_runs USING btree (lock_key) WHERE (status = 'RUNNING'::text)",
  idx_task_runs_concurrency_active:
    "CREATE INDEX idx_task_runs_concurrency_active ON public.task_runs USING btree (concurrency_key, leased_until) WHERE ((status = 'RUNNING'::text) AND (concurrency_key IS NOT NULL))",
  idx_task_runs_parent_id:
    "CREATE INDEX idx_task_runs_parent_id ON public.task_runs USING btree (parent_id) WHERE (status = 'WAITING'::text)",
  idx_task_runs_workflow_id: 'CREATE INDEX idx_task_runs_workflow_id ON public.task_runs USING btree (workflow_id)',
  idx_task_runs_failed_at:
    "CREATE INDEX idx_task_runs_failed_at ON public.task_runs USING btree (failed_at) WHERE (status = 'FAILED'::text)",
  idx_task_runs_task_path: 'CREATE INDEX idx_task_runs_task_path ON public.task_runs USING btree (task_path)',
  idx_task_runs_claim_due:
    "CREATE INDEX idx_task_runs_claim_due ON public.task_runs USING btree (queue_name, COALESCE(run_after, '-infinity'::timestamp with time zone), priority DESC, enqueued_at) WHERE (status = 'READY'::text)",
  idx_periodic_tasks_next_run:
    'CREATE INDEX idx_periodic_tasks_next_run ON public.periodic_tasks USING btree (next_run_at) WHERE (enabled = true)',
  idx_workflow_runs_callback:
    'CREATE INDEX idx_workflow_runs_callback ON public.workflow_runs USING btree (callback_result_id)',
};

const colKey = (table: string, c: Col) => `${table}.${c[0]} | ${c[1]} | ${c[2] ?? '-'} | ${c[3]} | ${c[4] ?? '-'}`;
const expectedColumns = (cols: Record<string, Col[]> = UPSTREAM_COLUMNS) =>
  Object.entries(cols)
    .flatMap(([t, list]) => list.map((c) => colKey(t, c)))
    .sort();

async function actualColumns(db: Db): Promise<string[]> {
  const r = await db.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    character_maximum_length: number | null;
    is_nullable: 'YES' | 'NO';
    column_default: string | null;
  }>(
    `SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name IN (${TABLES.map((t) => `'${t}'`).join(', ')})`,
  );
  return r.rows
    .map((c) =>
      colKey(c.table_name, [c.column_name, c.data_type, c.character_maximum_length, c.is_nullable, c.column_default]),
    )
    .sort();
}

async function actualIndexes(db: Db, names = Object.keys(UPSTREAM_INDEXES)): Promise<Record<string, string>> {
  const r = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = current_schema() AND indexname IN (${names.map((n) => `'${n}'`).join(', ')})`,
  );
  return Object.fromEntries(r.rows.map((x) => [x.indexname, x.indexdef]));
}

// ---------------------------------------------------------------------------------------------------------
// Databases. Most tests use the project's adapters; a tiny local Db over `pg` covers the shapes they do not
// have (no exec, so the statement splitter runs; no transactions, like Neon's HTTP driver).
// ---------------------------------------------------------------------------------------------------------

const scratch: string[] = [];
const openDbs: Db[] = [];

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function scratchDb(): Promise<string> {
  const name = `reproq_schema_${Math.random().toString(36).slice(2, 10)}`;
  await admin(`CREATE DATABASE ${name}`);
  scratch.push(name);
  return databaseUrl(name);
}

function pgTestDb(url: string, opts: { exec?: boolean; transactions?: boolean; max?: number } = {}): Db {
  const { exec = true, transactions = true, max = 2 } = opts;
  const pool = new pg.Pool({ connectionString: url, max });
  let closed = false;
  const on = (q: pg.Pool | pg.PoolClient, inTx: boolean): Db => {
    const db: Db = {
      driver: 'pg',
      async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
        const r = await q.query(text, params as unknown[] | undefined);
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      },
      async close() {
        if (inTx || closed) return;
        closed = true;
        await pool.end();
      },
    };
    if (exec) db.exec = async (sql) => void (await q.query(sql));
    if (transactions && !inTx) {
      db.transaction = async <T>(fn: (tx: Db) => Promise<T>): Promise<T> => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const out = await fn(on(client, true));
          await client.query('COMMIT');
          return out;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        } finally {
          client.release();
        }
      };
    }
    return db;
  };
  const db = on(pool, false);
  openDbs.push(db);
  return db;
}

function adapterDb(url: string, max = 2): Db {
  const db = pgDb({ connectionString: url, max });
  openDbs.push(db);
  return db;
}

afterAll(async () => {
  for (const db of openDbs) await db.close();
  for (const name of scratch) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

const MIGRATIONS = await loadMigrations();
const NAMES = MIGRATIONS.map((m) => m.name);
/**
 * reproq-worker's migrations/000001_baseline.up.sql (adpena/reproq-worker at 544aae0, MIT), committed as
 * data: a missing file fails the suite instead of skipping the upgrade test.
 */
const GO_BASELINE = readFileSync(new URL('./fixtures/upstream/reproq-worker_000001_baseline.up.sql', import.meta.url), 'utf8');

async function count(db: Db, sql: string): Promise<number> {
  const r = await db.query<{ n: string | number }>(sql);
  return Number(r.rows[0]?.n);
}

// ---------------------------------------------------------------------------------------------------------

describe('migration files', () => {
  it('are the three expected files, loaded in order', () => {
    expect(NAMES).toEqual([
      '0001_reproq_schema',
      '0002_claim_rank',
      '0003_maintenance_indexes',
      '0004_claim_key_locks',
      '0005_running_workflows_index',
      '0006_unknown_status_index',
      '0007_claim_path_index',
    ]);
  });

  it('split into statements around comments, quotes and dollar-quoted bodies', () => {
    const parts = splitSqlStatements(`
      -- Django's comment; with a quote
      SELECT 'a;b', E'it\\'s;', "we;ird" FROM t; /* block ; /* nested ; */ still */
      DO $$ BEGIN PERFORM 1; END $$;
      CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
      SELECT $1::int;
      -- trailing comment only
    `);
    expect(parts).toHaveLength(4);
    expect(parts[0]).toContain("'a;b'");
    expect(parts[1]).toBe('DO $$ BEGIN PERFORM 1; END $$');
    expect(parts[2]).toContain('$body$ SELECT 1; $body$');
    expect(parts[3]).toBe('SELECT $1::int');
  });
});

describe('migrate on Postgres', () => {
  it('(a) creates the upstream schema on a fresh database: columns and indexes match the upstream list', async () => {
    const db = pgTestDb(await scratchDb(), { exec: false }); // statement by statement: exercises the splitter
    const progress: string[] = [];
    const res = await migrate(db, { onProgress: (m) => progress.push(m) });
    expect(res).toEqual({ applied: NAMES, skipped: [] });
    expect(progress).toContain('applying 0001_reproq_schema');

    expect(await actualColumns(db)).toEqual(expectedColumns());
    expect(await actualIndexes(db)).toEqual(UPSTREAM_INDEXES);

    // Our additive extra.
    const extra = await actualIndexes(db, ['idx_task_runs_claim_rank', 'idx_task_runs_claim_path']);
    expect(extra.idx_task_runs_claim_rank).toBe(
      "CREATE INDEX idx_task_runs_claim_rank ON public.task_runs USING btree (queue_name, reproq_claim_rank(priority, enqueued_at, (60)::double precision) DESC) WHERE (status = 'READY'::text)",
    );
    expect(extra.idx_task_runs_claim_path).toBe(
      "CREATE INDEX idx_task_runs_claim_path ON public.task_runs USING btree (queue_name, task_path, reproq_claim_rank(priority, enqueued_at, (60)::double precision) DESC) WHERE ((status = 'READY'::text) AND (COALESCE(run_after, '-infinity'::timestamp with time zone) = '-infinity'::timestamp with time zone))",
    );

    // The self-referencing FK with ON DELETE SET NULL, and the seeded, disabled global limit.
    const fk = await db.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'task_runs'::regclass AND contype = 'f'`,
    );
    expect(fk.rows.map((r) => r.def)).toEqual(['FOREIGN KEY (parent_id) REFERENCES task_runs(result_id) ON DELETE SET NULL']);
    const global = await db.query(`SELECT tokens_per_second, burst_size, current_tokens FROM rate_limits`);
    expect(global.rows).toEqual([{ tokens_per_second: 0, burst_size: 1, current_tokens: 0 }]);

    const report = await checkSchema(db);
    expect(report.ok).toBe(true);
    expect(report.missingTables).toEqual([]);
    expect(report.missingColumns).toEqual([]);
    expect(report.missingDefaults).toEqual([]);
    expect(report.missingIndexes).toEqual([]);
    expect(report.trigger).toEqual({ present: true, functionPresent: true });
    expect(report.extras).toEqual({ claimRankFunction: true, claimRankIndex: true, claimKeysFunction: true, runningWorkflowsIndex: true, unknownStatusIndex: true });
    expect(report.taskPathConstraint).toEqual({ present: true, validated: false, violatingRows: 0, fix: VALIDATE_TASK_PATH_CONSTRAINT });
    expect(report.issues.map((i) => i.object)).toEqual(['task_runs_task_path_not_empty']);

    // Following doctor's fix validates the constraint.
    await db.query(report.taskPathConstraint.fix ?? '');
    expect((await checkSchema(db)).taskPathConstraint.validated).toBe(true);
    expect((await checkSchema(db)).issues).toEqual([]);
  });

  it('(b) is idempotent: a second migrate applies nothing, and the SQL itself re-runs without changing data', async () => {
    const db = pgTestDb(await scratchDb());
    expect((await migrate(db, { dryRun: true })).applied).toEqual(NAMES);
    expect(await count(db, `SELECT count(*) AS n FROM pg_class WHERE relname = 'reproq_edge_migrations'`)).toBe(0);

    expect(await pendingMigrations(db)).toEqual(NAMES);
    expect((await migrate(db)).applied).toEqual(NAMES);
    expect(await migrate(db)).toEqual({ applied: [], skipped: NAMES });
    expect(await pendingMigrations(db)).toEqual([]);
    const status = await migrationStatus(db);
    expect(status.upToDate).toBe(true);
    expect(status.entries.map((e) => e.state)).toEqual(NAMES.map(() => 'applied'));

    // Running the files again by hand (bypassing the record table) keeps a configured global limit.
    await db.query(`UPDATE rate_limits SET tokens_per_second = 5, burst_size = 10, current_tokens = 7 WHERE key = 'global'`);
    for (const m of MIGRATIONS) await db.exec?.(m.sql);
    const global = await db.query(`SELECT tokens_per_second, burst_size, current_tokens FROM rate_limits`);
    expect(global.rows).toEqual([{ tokens_per_second: 5, burst_size: 10, current_tokens: 7 }]);
    expect(await actualColumns(db)).toEqual(expectedColumns());
    expect(await actualIndexes(db)).toEqual(UPSTREAM_INDEXES);
  });

  it('(b) works on a Db without transactions (Neon HTTP style), without the lock', async () => {
    const db = pgTestDb(await scratchDb(), { exec: false, transactions: false });
    // Like neonHttpDb: exec exists but refuses scripts, so migrate must go statement by statement.
    db.exec = async () => {
      throw new Error('multi-statement scripts are not supported by this driver');
    };
    const progress: string[] = [];
    expect(await migrate(db, { onProgress: (m) => progress.push(m) })).toEqual({ applied: NAMES, skipped: [] });
    expect(progress.some((m) => m.includes('no transactions'))).toBe(true);
    expect(await migrate(db)).toEqual({ applied: [], skipped: NAMES });
    expect(await actualColumns(db)).toEqual(expectedColumns());
  });

  it(
    '(c) upgrades a database created by the Go baseline, keeping its data and its configured global limit',
    async () => {
      const db = pgTestDb(await scratchDb());
      // CREATE INDEX CONCURRENTLY: one statement at a time, outside a transaction.
      for (const statement of splitSqlStatements(GO_BASELINE)) await db.query(statement);
      await db.query(`UPDATE rate_limits SET tokens_per_second = 5, burst_size = 10, current_tokens = 3 WHERE key = 'global'`);
      await db.query(
        `INSERT INTO task_runs (spec_json, spec_hash, status) VALUES
           ('{"task_path":"app.tasks.a"}', repeat('a', 64), 'READY'),
           ('{"task_path":"app.tasks.b"}', repeat('b', 32), 'SUCCESSFUL')`,
      );
      await db.query(`INSERT INTO periodic_tasks (name, cron_expr, task_path, next_run_at) VALUES ('p', '* * * * *', 'app.tasks.p', now())`);
      await db.query(`INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues) VALUES ('w1', 'h', 4, '["default"]')`);
      await db.query(`INSERT INTO workflow_runs (workflow_id, expected_count) VALUES (gen_random_uuid(), 2)`);
      await db.query(`INSERT INTO reproq_queue_controls (queue_name, paused) VALUES ('slow', true)`);
      // Rows from before the task_path guard existed: one the backfill can fill, one it cannot.
      await db.query(`ALTER TABLE task_runs DROP CONSTRAINT task_runs_task_path_not_empty`);
      await db.query(`DROP TRIGGER trg_task_runs_task_path ON task_runs`);
      await db.query(
        `INSERT INTO task_runs (spec_json, spec_hash, status, task_path) VALUES
           ('{"task_path":"app.tasks.legacy"}', repeat('c', 64), 'FAILED', NULL),
           ('{"args":[]}', repeat('d', 64), 'FAILED', NULL)`,
      );
      const before = await db.query(`SELECT result_id, spec_hash, status, enqueued_at FROM task_runs ORDER BY result_id`);

      expect(await migrate(db)).toEqual({ applied: NAMES, skipped: [] });

      const after = await db.query(`SELECT result_id, spec_hash, status, enqueued_at FROM task_runs ORDER BY result_id`);
      expect(after.rows).toEqual(before.rows);
      const paths = await db.query<{ task_path: string | null }>(`SELECT task_path FROM task_runs ORDER BY result_id`);
      expect(paths.rows.map((r) => r.task_path)).toEqual(['app.tasks.a', 'app.tasks.b', 'app.tasks.legacy', null]);
      const global = await db.query(`SELECT tokens_per_second, burst_size, current_tokens FROM rate_limits`);
      expect(global.rows).toEqual([{ tokens_per_second: 5, burst_size: 10, current_tokens: 3 }]);
      for (const t of ['periodic_tasks', 'reproq_workers', 'workflow_runs', 'reproq_queue_controls']) {
        expect(await count(db, `SELECT count(*) AS n FROM ${t}`)).toBe(1);
      }

      expect(await actualColumns(db)).toEqual(expectedColumns());
      expect(await actualIndexes(db)).toEqual(UPSTREAM_INDEXES);

      const report = await checkSchema(db);
      expect(report.ok).toBe(true);
      expect(report.taskPathConstraint).toMatchObject({ present: true, validated: false, violatingRows: 1 });
      expect(report.taskPathConstraint.fix).toContain(VALIDATE_TASK_PATH_CONSTRAINT);
    },
  );

  it('(d) upgrades a database created by Django `migrate` (no server defaults, varchar spec_hash, missing indexes)', async () => {
    const db = adapterDb(await scratchDb());
    await db.exec?.(DJANGO_MIGRATE_DDL);
    // Django always sends every column.
    await db.query(
      `INSERT INTO task_runs (backend_alias, queue_name, priority, spec_json, spec_hash, task_path, status, enqueued_at,
                              attempts, max_attempts, timeout_seconds, concurrency_limit, wait_count, worker_ids,
                              errors_json, metadata_json, created_at, updated_at, cancel_requested)
       VALUES ('default', 'default', 0, '{"task_path":"app.tasks.a"}', $1, 'app.tasks.a', 'READY', now(),
               0, 3, 900, 0, 0, '[]', '[]', '{}', now(), now(), false),
              ('default', 'default', 0, '{"task_path":"app.tasks.a"}', $1, 'app.tasks.a', 'READY', now(),
               0, 3, 900, 0, 0, '[]', '[]', '{}', now(), now(), false)`,
      ['e'.repeat(64)],
    );
    await db.query(
      `INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues, started_at, last_seen_at)
       VALUES ('w1', 'h', 2, '["default"]', now(), now())`,
    );

    const pre = await checkSchema(db);
    expect(pre.ok).toBe(false);
    expect(pre.missingTables).toEqual(['rate_limits', 'workflow_runs']);
    expect(pre.missingDefaults).toContain('task_runs.metadata_json');
    expect(pre.missingDefaults).toContain('reproq_workers.queues');
    expect(pre.missingIndexes).toContain('idx_task_runs_spec_unique');
    expect(pre.taskPathConstraint).toMatchObject({ present: true, validated: true });

    // Raw inserts that rely on server defaults fail before the upgrade (the known NOT NULL hazard).
    await expect(db.query(GO_BEAT_INSERT, ['f'.repeat(64)])).rejects.toThrow(/null value/);

    // Django never had the unique index: duplicate active rows stop the migration with a readable error,
    // and nothing is half-applied.
    const failed = migrate(db);
    await expect(failed).rejects.toBeInstanceOf(MigrationError);
    await expect(failed).rejects.toThrow(/share spec_hash e{64}/);
    expect(await count(db, `SELECT count(*) AS n FROM pg_class WHERE relname IN ('rate_limits', 'reproq_edge_migrations')`)).toBe(0);

    await db.query(`UPDATE task_runs SET status = 'CANCELLED' WHERE result_id = (SELECT max(result_id) FROM task_runs)`);
    expect(await migrate(db)).toEqual({ applied: NAMES, skipped: [] });

    // Columns now match upstream, except what Django's DDL legitimately differs in (left alone on purpose).
    const djangoVariant = structuredClone(UPSTREAM_COLUMNS);
    const tr = djangoVariant.task_runs ?? [];
    tr[0] = ['result_id', 'bigint', null, 'NO', null]; // identity column instead of a sequence default
    tr[6] = ['spec_hash', 'character varying', 64, 'NO', null];
    const w = djangoVariant.reproq_workers ?? [];
    w[1] = ['hostname', 'text', null, 'NO', null];
    w[2] = ['concurrency', 'integer', null, 'NO', null];
    expect(await actualColumns(db)).toEqual(expectedColumns(djangoVariant));
    expect(await actualIndexes(db)).toEqual(UPSTREAM_INDEXES);

    // The raw insert of the Go beat now works, and the defaults are the upstream ones.
    const inserted = await db.query<{ metadata_json: unknown; worker_ids: unknown; errors_json: unknown; task_path: string }>(
      `${GO_BEAT_INSERT} RETURNING metadata_json, worker_ids, errors_json, task_path`,
      ['f'.repeat(64)],
    );
    expect(inserted.rows[0]).toEqual({ metadata_json: {}, worker_ids: [], errors_json: [], task_path: 'app.tasks.beat' });
    await db.query(`INSERT INTO reproq_workers (worker_id, hostname, concurrency) VALUES ('w2', 'h', 1)`);
    expect(await count(db, `SELECT count(*) AS n FROM task_runs`)).toBe(3);

    const post = await checkSchema(db);
    expect(post.ok).toBe(true);
    expect(post.taskPathConstraint).toMatchObject({ present: true, validated: true, fix: null });
    expect(post.issues.filter((i) => i.severity === 'warning').map((i) => i.object).sort()).toEqual([
      'reproq_workers.concurrency',
      'reproq_workers.hostname',
      'task_runs.parent_id', // Django's FK lacks ON DELETE SET NULL: reported with a fix, not changed
      'task_runs.spec_hash',
    ]);
    const fkFix = post.issues.find((i) => i.object === 'task_runs.parent_id')?.fix ?? '';
    await db.query(fkFix);
    expect((await checkSchema(db)).issues.some((i) => i.object === 'task_runs.parent_id')).toBe(false);
  });

  it('(e) the trigger fills task_path from spec_json and the NOT VALID constraint rejects an empty one', async () => {
    const db = adapterDb(await scratchDb());
    await migrate(db);
    const r = await db.query<{ task_path: string }>(
      `INSERT INTO task_runs (spec_json, spec_hash) VALUES ('{"task_path":"app.tasks.x"}', repeat('1', 64)),
                                                            ('{"task_path":"app.tasks.y"}', repeat('2', 64))
       RETURNING task_path`,
    );
    expect(r.rows.map((x) => x.task_path)).toEqual(['app.tasks.x', 'app.tasks.y']);
    const emptied = await db.query<{ task_path: string }>(
      `UPDATE task_runs SET task_path = '' WHERE spec_hash = repeat('1', 64) RETURNING task_path`,
    );
    expect(emptied.rows[0]?.task_path).toBe('app.tasks.x');
    await expect(
      db.query(`INSERT INTO task_runs (spec_json, spec_hash, task_path) VALUES ('{"args":[]}', repeat('3', 64), '')`),
    ).rejects.toMatchObject({ code: '23514', constraint: 'task_runs_task_path_not_empty' });
    await expect(db.query(`INSERT INTO task_runs (spec_json, spec_hash) VALUES ('{}', repeat('4', 64))`)).rejects.toMatchObject({
      code: '23514',
    });
    const con = await db.query<{ convalidated: boolean }>(
      `SELECT convalidated FROM pg_constraint WHERE conname = 'task_runs_task_path_not_empty'`,
    );
    expect(con.rows).toEqual([{ convalidated: false }]);
    // Dedup index: a second active row with the same hash is refused.
    await expect(
      db.query(`INSERT INTO task_runs (spec_json, spec_hash) VALUES ('{"task_path":"app.tasks.x"}', repeat('1', 64))`),
    ).rejects.toMatchObject({ code: '23505', constraint: 'idx_task_runs_spec_unique' });
  });

  it('(f) four concurrent migrators all succeed and each migration is applied once', async () => {
    const url = await scratchDb();
    const dbs = [0, 1, 2, 3].map(() => adapterDb(url, 1));
    const results = await Promise.all(dbs.map((db) => migrate(db)));
    for (const r of results) expect([...r.applied, ...r.skipped].sort()).toEqual(NAMES);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(NAMES);
    const db = dbs[0] as Db;
    expect(await count(db, `SELECT count(*) AS n FROM reproq_edge_migrations`)).toBe(NAMES.length);
    expect(await actualColumns(db)).toEqual(expectedColumns());
  });

  it('(g) a changed applied migration is a clear error', async () => {
    const db = adapterDb(await scratchDb());
    await migrate(db);

    const edited: Migration[] = MIGRATIONS.map((m) =>
      m.name === '0001_reproq_schema' ? { ...m, sql: `${m.sql}\n-- edited\n` } : m,
    );
    const attempt = migrate(db, { migrations: edited });
    await expect(attempt).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(attempt).rejects.toThrow(/migration 0001_reproq_schema was applied with checksum [0-9a-f]{64}, but its file now has checksum/);
    expect((await migrationStatus(db, edited)).changed).toEqual(['0001_reproq_schema']);

    await db.query(`UPDATE reproq_edge_migrations SET checksum = 'tampered' WHERE name = '0002_claim_rank'`);
    await expect(migrate(db)).rejects.toThrow(/0002_claim_rank was applied with checksum tampered/);
    await expect(migrate(db, { dryRun: true })).rejects.toBeInstanceOf(MigrationChecksumError);

    // CRLF checkouts are not edits.
    const crlf = MIGRATIONS.map((m) => ({ ...m, sql: m.sql.replace(/\n/g, '\r\n') }));
    await db.query(`DELETE FROM reproq_edge_migrations WHERE name = '0002_claim_rank'`);
    expect(await migrate(db, { migrations: crlf })).toEqual({ applied: ['0002_claim_rank'], skipped: NAMES.filter((n) => n !== '0002_claim_rank') });
  });

  it('0002: ordering by reproq_claim_rank equals upstream aged ordering, is TimeZone-proof and uses the index', async () => {
    const db = pgTestDb(await scratchDb(), { max: 1 });
    await migrate(db);
    await db.query(
      `INSERT INTO task_runs (spec_json, spec_hash, priority, enqueued_at, queue_name)
       SELECT '{"task_path":"app.tasks.r"}', md5(g::text) || md5((g * 7)::text), (g * 37) % 11 - 5,
              now() - make_interval(secs => (g * 7919) % 3600 + g / 1000.0), 'q'
         FROM generate_series(1, 500) AS g`,
    );
    const ours = await db.query<{ result_id: string }>(
      `SELECT result_id FROM task_runs WHERE status = 'READY' AND queue_name = 'q'
        ORDER BY reproq_claim_rank(priority, enqueued_at, 60) DESC`,
    );
    const upstream = await db.query<{ result_id: string }>(
      `SELECT result_id FROM task_runs WHERE status = 'READY' AND queue_name = 'q'
        ORDER BY priority + EXTRACT(EPOCH FROM (now() - enqueued_at)) / 60 DESC, enqueued_at ASC`,
    );
    expect(ours.rows).toEqual(upstream.rows);

    const under = async (tz: string) => {
      await db.query(`SET TimeZone = '${tz}'`);
      const r = await db.query<{ r: number }>(`SELECT reproq_claim_rank(3, '2026-01-01 12:00:00+00', 60) AS r`);
      return r.rows[0]?.r;
    };
    expect(await under('Pacific/Auckland')).toBe(await under('UTC'));
    await db.query(`RESET TimeZone`);

    await db.query(`ANALYZE task_runs`);
    await db.query(`SET enable_seqscan = off`);
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT result_id FROM task_runs WHERE status = 'READY' AND queue_name = 'q'
        ORDER BY reproq_claim_rank(priority, enqueued_at, 60) DESC LIMIT 1`,
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('idx_task_runs_claim_rank');
  });
});

describe('migrate on PGlite', () => {
  it('(h) applies the migrations, matches the upstream schema and is idempotent', async () => {
    const db = await pgliteDb();
    openDbs.push(db);
    expect(await migrate(db)).toEqual({ applied: NAMES, skipped: [] });
    expect(await migrate(db)).toEqual({ applied: [], skipped: NAMES });
    expect(await actualColumns(db)).toEqual(expectedColumns());
    expect(await actualIndexes(db)).toEqual(UPSTREAM_INDEXES);
    const report = await checkSchema(db);
    expect(report.ok).toBe(true);
    const r = await db.query<{ task_path: string }>(
      `INSERT INTO task_runs (spec_json, spec_hash) VALUES ('{"task_path":"app.tasks.lite"}', repeat('9', 64)) RETURNING task_path`,
    );
    expect(r.rows[0]?.task_path).toBe('app.tasks.lite');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

/** The Go beat's insert shape (omits metadata_json, worker_ids, errors_json, timestamps). */
const GO_BEAT_INSERT = `INSERT INTO task_runs (backend_alias, queue_name, priority, run_after, spec_json, spec_hash, status,
                         max_attempts, timeout_seconds, concurrency_key, concurrency_limit)
  VALUES ('default', 'default', 0, now(), '{"task_path":"app.tasks.beat"}', $1, 'READY', 3, 900, NULL, 0)`;

/**
 * Reduced DDL of what Django's `migrate` (reproq_django 0001_baseline) creates on PostgreSQL: four managed
 * tables with no server defaults, an identity result_id, varchar(64) spec_hash, NOT NULL hostname/concurrency,
 * Django's own indexes and FK, plus the RunPython task_path guard (VALID constraint, two upstream indexes).
 * rate_limits and workflow_runs are unmanaged, so Django never creates them.
 */
const DJANGO_MIGRATE_DDL = `
CREATE TABLE periodic_tasks (
  name text NOT NULL PRIMARY KEY, cron_expr text NOT NULL, task_path text NOT NULL, payload_json jsonb NOT NULL,
  queue_name text NOT NULL, priority integer NOT NULL, max_attempts integer NOT NULL, concurrency_key text NULL,
  concurrency_limit integer NOT NULL, last_run_at timestamp with time zone NULL,
  next_run_at timestamp with time zone NOT NULL, enabled boolean NOT NULL,
  created_at timestamp with time zone NOT NULL, updated_at timestamp with time zone NOT NULL);
CREATE TABLE reproq_queue_controls (
  queue_name text NOT NULL PRIMARY KEY, paused boolean NOT NULL, paused_at timestamp with time zone NULL,
  reason text NULL, created_at timestamp with time zone NOT NULL, updated_at timestamp with time zone NOT NULL);
CREATE TABLE reproq_workers (
  worker_id text NOT NULL PRIMARY KEY, hostname text NOT NULL, concurrency integer NOT NULL, queues jsonb NOT NULL,
  started_at timestamp with time zone NOT NULL, last_seen_at timestamp with time zone NOT NULL, version text NULL);
CREATE TABLE task_runs (
  result_id bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, backend_alias text NOT NULL,
  queue_name text NOT NULL, priority integer NOT NULL, run_after timestamp with time zone NULL, spec_json jsonb NOT NULL,
  spec_hash varchar(64) NOT NULL, task_path text NULL, status text NOT NULL, enqueued_at timestamp with time zone NOT NULL,
  started_at timestamp with time zone NULL, last_attempted_at timestamp with time zone NULL,
  finished_at timestamp with time zone NULL, attempts integer NOT NULL, max_attempts integer NOT NULL,
  timeout_seconds integer NOT NULL, lock_key text NULL, concurrency_key text NULL, concurrency_limit integer NOT NULL,
  workflow_id uuid NULL, wait_count integer NOT NULL, worker_ids jsonb NOT NULL, return_json jsonb NULL,
  errors_json jsonb NOT NULL, metadata_json jsonb NOT NULL, last_error text NULL, failed_at timestamp with time zone NULL,
  leased_until timestamp with time zone NULL, leased_by text NULL, logs_uri text NULL, artifacts_uri text NULL,
  expires_at timestamp with time zone NULL, created_at timestamp with time zone NOT NULL,
  updated_at timestamp with time zone NOT NULL, cancel_requested boolean NOT NULL, parent_id bigint NULL);
ALTER TABLE task_runs ADD CONSTRAINT task_runs_parent_id_7c1b6d0e_fk_task_runs_result_id
  FOREIGN KEY (parent_id) REFERENCES task_runs (result_id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX task_runs_parent_id_7c1b6d0e ON task_runs (parent_id);
CREATE INDEX task_runs_status_26197d_idx ON task_runs (status);
CREATE INDEX task_runs_queue_n_50e8d6_idx ON task_runs (queue_name, status);
CREATE INDEX task_runs_conc_status_idx ON task_runs (concurrency_key, status);
CREATE FUNCTION reproq_task_path_from_spec() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.task_path IS NULL OR NEW.task_path = '' THEN NEW.task_path := NEW.spec_json->>'task_path'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_task_runs_task_path BEFORE INSERT OR UPDATE OF spec_json, task_path ON task_runs
  FOR EACH ROW EXECUTE FUNCTION reproq_task_path_from_spec();
ALTER TABLE task_runs ADD CONSTRAINT task_runs_task_path_not_empty CHECK (task_path IS NOT NULL AND task_path <> '');
CREATE INDEX idx_task_runs_task_path ON task_runs (task_path);
CREATE INDEX idx_task_runs_claim_due ON task_runs (queue_name, COALESCE(run_after, '-infinity'::timestamptz), priority DESC, enqueued_at ASC)
  WHERE status = 'READY';
`;
