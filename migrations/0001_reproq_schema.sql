-- 0001_reproq_schema: the upstream Reproq schema (reproq-worker migrations/000001_baseline.up.sql, which
-- reproq-django's `migrate-worker` also issues), rewritten to be idempotent and transactional so that it can
-- run on an empty database or on one that an upstream tool already set up:
--   * the Go baseline or Django `reproq migrate-worker` (full schema, server defaults, CHAR(64) spec_hash);
--   * Django `migrate` alone (no server defaults, VARCHAR(64) spec_hash, identity result_id, no rate_limits /
--     workflow_runs, and most upstream indexes missing).
-- Objects are unqualified, as upstream's are: they land in the first schema of search_path.
--
-- Index builds. `migrate()` runs this file in ONE transaction, and CREATE INDEX CONCURRENTLY cannot run in a
-- transaction, so the indexes below use plain CREATE INDEX IF NOT EXISTS, which blocks writes to the table while
-- it builds. That is instant on a new or small install. On a large existing task_runs (roughly > 1M rows), build
-- each missing index first, outside a transaction, with the same name and definition plus CONCURRENTLY, e.g.
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_task_runs_spec_unique ...;
-- then run `reproq migrate`; IF NOT EXISTS skips what is already there (`reproq doctor` lists what is missing).
-- A failed CONCURRENTLY build leaves an INVALID index that IF NOT EXISTS also skips: doctor reports it; drop
-- it (DROP INDEX CONCURRENTLY) and build it again.

-- pgcrypto: upstream creates it; only Django's pg_cron function uses it (digest()). Missing privileges or a
-- runtime without the extension (PGlite without it loaded) must not fail the schema, so downgrade to a warning.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pgcrypto;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'reproq: pgcrypto not installed (%); only the Django pg-cron path needs it', SQLERRM;
        END;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Tables, column for column and type for type as upstream.
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS task_runs (
    result_id         BIGSERIAL PRIMARY KEY,
    backend_alias     TEXT NOT NULL DEFAULT 'default',
    queue_name        TEXT NOT NULL DEFAULT 'default',
    priority          INTEGER NOT NULL DEFAULT 0,
    run_after         TIMESTAMPTZ,
    spec_json         JSONB NOT NULL,
    spec_hash         CHAR(64) NOT NULL,
    task_path         TEXT,
    status            TEXT NOT NULL DEFAULT 'READY',
    enqueued_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at        TIMESTAMPTZ,
    last_attempted_at TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    timeout_seconds   INTEGER NOT NULL DEFAULT 900,
    lock_key          TEXT,
    concurrency_key   TEXT,
    concurrency_limit INTEGER NOT NULL DEFAULT 0,
    worker_ids        JSONB NOT NULL DEFAULT '[]'::jsonb,
    return_json       JSONB,
    errors_json       JSONB NOT NULL DEFAULT '[]'::jsonb,
    metadata_json     JSONB NOT NULL DEFAULT '{}'::jsonb,
    last_error        TEXT,
    failed_at         TIMESTAMPTZ,
    leased_until      TIMESTAMPTZ,
    leased_by         TEXT,
    logs_uri          TEXT,
    artifacts_uri     TEXT,
    expires_at        TIMESTAMPTZ,
    parent_id         BIGINT REFERENCES task_runs (result_id) ON DELETE SET NULL,
    workflow_id       UUID,
    wait_count        INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    cancel_requested  BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS periodic_tasks (
    name              TEXT PRIMARY KEY,
    cron_expr         TEXT NOT NULL,
    task_path         TEXT NOT NULL,
    payload_json      JSONB NOT NULL DEFAULT '{}'::jsonb,
    queue_name        TEXT NOT NULL DEFAULT 'default',
    priority          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    concurrency_key   TEXT,
    concurrency_limit INTEGER NOT NULL DEFAULT 0,
    last_run_at       TIMESTAMPTZ,
    next_run_at       TIMESTAMPTZ NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT true,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS reproq_queue_controls (
    queue_name TEXT PRIMARY KEY,
    paused     BOOLEAN NOT NULL DEFAULT false,
    paused_at  TIMESTAMPTZ,
    reason     TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS reproq_workers (
    worker_id    TEXT PRIMARY KEY,
    hostname     TEXT,
    concurrency  INTEGER,
    queues       JSONB NOT NULL DEFAULT '[]'::jsonb,
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    version      TEXT
);

CREATE TABLE IF NOT EXISTS rate_limits (
    key               TEXT PRIMARY KEY,
    tokens_per_second REAL NOT NULL,
    burst_size        INTEGER NOT NULL,
    current_tokens    REAL NOT NULL,
    last_refilled_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS workflow_runs (
    workflow_id        UUID PRIMARY KEY,
    expected_count     INTEGER NOT NULL,
    success_count      INTEGER NOT NULL DEFAULT 0,
    failure_count      INTEGER NOT NULL DEFAULT 0,
    callback_result_id BIGINT,
    status             TEXT NOT NULL DEFAULT 'RUNNING',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------------------
-- Older installs. Upstream's legacy migration 000013 turned array columns into JSONB; repeat it when an array
-- is still there (rewrites the table, once).
-- ---------------------------------------------------------------------------------------------------------

DO $$
DECLARE
    target record;
BEGIN
    FOR target IN
        SELECT c.relname AS tbl, a.attname AS col
        FROM (VALUES ('task_runs', 'worker_ids'), ('reproq_workers', 'queues')) AS want (tbl, col)
        JOIN pg_class c ON c.oid = to_regclass(want.tbl)
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = want.col AND NOT a.attisdropped
        JOIN pg_type t ON t.oid = a.atttypid
        WHERE t.typcategory = 'A'
    LOOP
        EXECUTE format(
            'ALTER TABLE %I ALTER COLUMN %I DROP DEFAULT, '
            'ALTER COLUMN %I TYPE jsonb USING COALESCE(to_jsonb(%I), ''[]''::jsonb), '
            'ALTER COLUMN %I SET DEFAULT ''[]''::jsonb',
            target.tbl, target.col, target.col, target.col, target.col);
    END LOOP;
END
$$;

-- Columns an older install may lack (upstream's "ensure" pass adds six of them; the rest are added the same
-- way for installs that predate them). Only columns that can be added to a table with rows: nullable, or NOT
-- NULL with a constant default, which PostgreSQL 11+ adds without a rewrite.
ALTER TABLE task_runs
    ADD COLUMN IF NOT EXISTS backend_alias     TEXT NOT NULL DEFAULT 'default',
    ADD COLUMN IF NOT EXISTS queue_name        TEXT NOT NULL DEFAULT 'default',
    ADD COLUMN IF NOT EXISTS priority          INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS run_after         TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS task_path         TEXT,
    ADD COLUMN IF NOT EXISTS status            TEXT NOT NULL DEFAULT 'READY',
    ADD COLUMN IF NOT EXISTS enqueued_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS started_at        TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS last_attempted_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS finished_at       TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS attempts          INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS max_attempts      INTEGER NOT NULL DEFAULT 3,
    ADD COLUMN IF NOT EXISTS timeout_seconds   INTEGER NOT NULL DEFAULT 900,
    ADD COLUMN IF NOT EXISTS lock_key          TEXT,
    ADD COLUMN IF NOT EXISTS concurrency_key   TEXT,
    ADD COLUMN IF NOT EXISTS concurrency_limit INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS worker_ids        JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS return_json       JSONB,
    ADD COLUMN IF NOT EXISTS errors_json       JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS metadata_json     JSONB NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN IF NOT EXISTS last_error        TEXT,
    ADD COLUMN IF NOT EXISTS failed_at         TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS leased_until      TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS leased_by         TEXT,
    ADD COLUMN IF NOT EXISTS logs_uri          TEXT,
    ADD COLUMN IF NOT EXISTS artifacts_uri     TEXT,
    ADD COLUMN IF NOT EXISTS expires_at        TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS workflow_id       UUID,
    ADD COLUMN IF NOT EXISTS wait_count        INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS cancel_requested  BOOLEAN NOT NULL DEFAULT false;

-- parent_id carries a foreign key; older PostgreSQL releases could attach the constraint even when ADD COLUMN
-- IF NOT EXISTS found the column (a second FK), so add it only when the column is really absent.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_attribute
        WHERE attrelid = to_regclass('task_runs') AND attname = 'parent_id' AND NOT attisdropped
    ) THEN
        ALTER TABLE task_runs
            ADD COLUMN parent_id BIGINT REFERENCES task_runs (result_id) ON DELETE SET NULL;
    END IF;
END
$$;

ALTER TABLE periodic_tasks
    ADD COLUMN IF NOT EXISTS payload_json      JSONB NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN IF NOT EXISTS queue_name        TEXT NOT NULL DEFAULT 'default',
    ADD COLUMN IF NOT EXISTS priority          INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS max_attempts      INTEGER NOT NULL DEFAULT 3,
    ADD COLUMN IF NOT EXISTS concurrency_key   TEXT,
    ADD COLUMN IF NOT EXISTS concurrency_limit INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS last_run_at       TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS enabled           BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at        TIMESTAMPTZ NOT NULL DEFAULT now();

ALTER TABLE reproq_workers
    ADD COLUMN IF NOT EXISTS hostname     TEXT,
    ADD COLUMN IF NOT EXISTS concurrency  INTEGER,
    ADD COLUMN IF NOT EXISTS queues       JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS version      TEXT;

-- Server defaults. A table created by Django's `migrate` has none (Django fills defaults in Python), so the
-- raw inserts of the Go beat, Django's pg_cron function and this package (which omit metadata_json,
-- worker_ids, errors_json, timestamps, ...) would hit NOT NULL. Setting the upstream defaults is a catalog-only
-- change, invisible to Django (it always sends every column), and a no-op where upstream created the table.
ALTER TABLE task_runs
    ALTER COLUMN backend_alias     SET DEFAULT 'default',
    ALTER COLUMN queue_name        SET DEFAULT 'default',
    ALTER COLUMN priority          SET DEFAULT 0,
    ALTER COLUMN status            SET DEFAULT 'READY',
    ALTER COLUMN enqueued_at       SET DEFAULT now(),
    ALTER COLUMN attempts          SET DEFAULT 0,
    ALTER COLUMN max_attempts      SET DEFAULT 3,
    ALTER COLUMN timeout_seconds   SET DEFAULT 900,
    ALTER COLUMN concurrency_limit SET DEFAULT 0,
    ALTER COLUMN worker_ids        SET DEFAULT '[]'::jsonb,
    ALTER COLUMN errors_json       SET DEFAULT '[]'::jsonb,
    ALTER COLUMN metadata_json     SET DEFAULT '{}'::jsonb,
    ALTER COLUMN wait_count        SET DEFAULT 0,
    ALTER COLUMN created_at        SET DEFAULT now(),
    ALTER COLUMN updated_at        SET DEFAULT now(),
    ALTER COLUMN cancel_requested  SET DEFAULT false;

ALTER TABLE periodic_tasks
    ALTER COLUMN payload_json      SET DEFAULT '{}'::jsonb,
    ALTER COLUMN queue_name        SET DEFAULT 'default',
    ALTER COLUMN priority          SET DEFAULT 0,
    ALTER COLUMN max_attempts      SET DEFAULT 3,
    ALTER COLUMN concurrency_limit SET DEFAULT 0,
    ALTER COLUMN enabled           SET DEFAULT true,
    ALTER COLUMN created_at        SET DEFAULT now(),
    ALTER COLUMN updated_at        SET DEFAULT now();

ALTER TABLE reproq_queue_controls
    ALTER COLUMN paused     SET DEFAULT false,
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();

ALTER TABLE reproq_workers
    ALTER COLUMN queues       SET DEFAULT '[]'::jsonb,
    ALTER COLUMN started_at   SET DEFAULT now(),
    ALTER COLUMN last_seen_at SET DEFAULT now();

ALTER TABLE rate_limits
    ALTER COLUMN last_refilled_at SET DEFAULT now();

ALTER TABLE workflow_runs
    ALTER COLUMN success_count SET DEFAULT 0,
    ALTER COLUMN failure_count SET DEFAULT 0,
    ALTER COLUMN status        SET DEFAULT 'RUNNING',
    ALTER COLUMN created_at    SET DEFAULT now(),
    ALTER COLUMN updated_at    SET DEFAULT now();

-- ---------------------------------------------------------------------------------------------------------
-- task_path guard: backfill, trigger, NOT VALID check constraint.
-- ---------------------------------------------------------------------------------------------------------

-- Upstream backfills in batches of 1000 outside a transaction; here it is one UPDATE inside the migration's
-- transaction. Rows with an empty string are included too: the trigger would fill them the same way and the
-- constraint could never be validated with them in place. A huge legacy table with many NULL task_path rows
-- should be backfilled in batches beforehand (`reproq migrate-worker` from Django does exactly that).
UPDATE task_runs
SET task_path = spec_json ->> 'task_path'
WHERE (task_path IS NULL OR task_path = '')
  AND COALESCE(spec_json ->> 'task_path', '') <> '';

-- Same rule as upstream: a missing or empty task_path is taken from spec_json.
CREATE OR REPLACE FUNCTION reproq_task_path_from_spec()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF COALESCE(NEW.task_path, '') = '' THEN
        NEW.task_path := NEW.spec_json ->> 'task_path';
    END IF;
    RETURN NEW;
END
$$;

-- Drop and recreate (rather than create-if-missing) so the event list is always upstream's; it runs inside
-- the migration's transaction, so no insert can slip between the two.
DROP TRIGGER IF EXISTS trg_task_runs_task_path ON task_runs;
CREATE TRIGGER trg_task_runs_task_path
    BEFORE INSERT OR UPDATE OF spec_json, task_path ON task_runs
    FOR EACH ROW
    EXECUTE FUNCTION reproq_task_path_from_spec();

-- NOT VALID: new and updated rows are checked, existing rows are not scanned. Django's own migration adds it
-- VALID; either state is left alone. Validate later with
--   ALTER TABLE task_runs VALIDATE CONSTRAINT task_runs_task_path_not_empty;
-- (`reproq doctor` prints this once no row violates it). Looked up on task_runs itself, not by name alone
-- as upstream does, so another schema's copy does not hide a missing one.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = to_regclass('task_runs') AND conname = 'task_runs_task_path_not_empty'
    ) THEN
        ALTER TABLE task_runs
            ADD CONSTRAINT task_runs_task_path_not_empty
            CHECK (task_path IS NOT NULL AND task_path <> '') NOT VALID;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Indexes: upstream names and definitions (see the note at the top about large tables).
-- ---------------------------------------------------------------------------------------------------------

-- The dedup guarantee. A database set up by Django's `migrate` never had it, so concurrent enqueues may have
-- left duplicate active rows; fail with a readable message instead of a bare unique violation.
DO $$
DECLARE
    dup text;
BEGIN
    IF to_regclass('idx_task_runs_spec_unique') IS NULL THEN
        SELECT spec_hash INTO dup
        FROM task_runs
        WHERE status IN ('READY', 'RUNNING')
        GROUP BY spec_hash
        HAVING count(*) > 1
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'reproq: cannot create idx_task_runs_spec_unique: several READY/RUNNING task_runs share spec_hash %', dup
                USING HINT = 'Cancel or finish the duplicates (SELECT spec_hash, array_agg(result_id) FROM task_runs '
                             'WHERE status IN (''READY'',''RUNNING'') GROUP BY 1 HAVING count(*) > 1), then migrate again.';
        END IF;
    END IF;
END
$$;

CREATE UNIQUE INDEX IF NOT EXISTS idx_task_runs_spec_unique
    ON task_runs (spec_hash)
    WHERE status IN ('READY', 'RUNNING');

CREATE INDEX IF NOT EXISTS idx_task_runs_claim
    ON task_runs (queue_name, status, priority DESC, enqueued_at ASC)
    WHERE status = 'READY';

CREATE INDEX IF NOT EXISTS idx_task_runs_lock_key
    ON task_runs (lock_key)
    WHERE status = 'RUNNING';

CREATE INDEX IF NOT EXISTS idx_task_runs_concurrency_active
    ON task_runs (concurrency_key, leased_until)
    WHERE status = 'RUNNING' AND concurrency_key IS NOT NULL;

CREATE INDEX IF NOT EXISTS idx_task_runs_parent_id
    ON task_runs (parent_id)
    WHERE status = 'WAITING';

CREATE INDEX IF NOT EXISTS idx_task_runs_workflow_id
    ON task_runs (workflow_id);

CREATE INDEX IF NOT EXISTS idx_task_runs_failed_at
    ON task_runs (failed_at)
    WHERE status = 'FAILED';

CREATE INDEX IF NOT EXISTS idx_task_runs_task_path
    ON task_runs (task_path);

CREATE INDEX IF NOT EXISTS idx_task_runs_claim_due
    ON task_runs (queue_name, COALESCE(run_after, '-infinity'::timestamptz), priority DESC, enqueued_at ASC)
    WHERE status = 'READY';

CREATE INDEX IF NOT EXISTS idx_periodic_tasks_next_run
    ON periodic_tasks (next_run_at)
    WHERE enabled = true;

CREATE INDEX IF NOT EXISTS idx_workflow_runs_callback
    ON workflow_runs (callback_result_id);

-- ---------------------------------------------------------------------------------------------------------
-- Seed. Global rate limiting starts disabled (rate 0), as upstream. Unlike the Go baseline, which re-seeds with
-- ON CONFLICT DO UPDATE and so resets a configured global limit every time it runs (a known upstream defect),
-- an existing row is left as it is.
-- ---------------------------------------------------------------------------------------------------------

INSERT INTO rate_limits (key, tokens_per_second, burst_size, current_tokens, last_refilled_at)
VALUES ('global', 0, 1, 0, now())
ON CONFLICT (key) DO NOTHING;
