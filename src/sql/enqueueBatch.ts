import type { Db } from '../db/types.ts';

/**
 * Enqueue in one statement, for one row or a thousand. `$1` is a JSON array with one object per
 * distinct spec: `h` its spec_hash, `s` its spec_json, and only when they differ from the
 * defaults `e` expires_at, `m` metadata_json and `b` backend_alias. Every other column is read
 * from the spec itself, so a column can never disagree with the spec Django and Go read, and the
 * document stays small (parsing it is a third of the statement's cost). The answer has one row
 * per input object: `n` its 1-based position.
 *
 * With dedup (ENQUEUE_DEDUP), ON CONFLICT on idx_task_runs_spec_unique skips a spec that already
 * has an active READY/RUNNING row, and only those rows look the active row up (COALESCE runs the
 * lookup only when nothing was inserted). A row that a concurrent enqueue inserted after this
 * statement's snapshot is skipped but not visible, so it comes back with a NULL result_id; the
 * caller sends those again, and the next snapshot sees the winner. ENQUEUE_STRICT has no ON
 * CONFLICT clause: an active duplicate raises 23505 and nothing of the batch is written, as
 * upstream's plain INSERT does. spec_hash is typed char(64) so comparisons use the index.
 */
function enqueueSql(onConflict: string): string {
  return `
WITH input AS (
  SELECT *
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (h char(64), s jsonb, e timestamptz, m jsonb, b text))
    WITH ORDINALITY AS i(h, s, e, m, b, n)
),
inserted AS (
  INSERT INTO task_runs (
    backend_alias, queue_name, priority, run_after, spec_json, spec_hash, task_path, status,
    max_attempts, timeout_seconds, lock_key, concurrency_key, concurrency_limit, expires_at,
    metadata_json, errors_json, worker_ids, attempts, wait_count, cancel_requested,
    enqueued_at, created_at, updated_at)
  SELECT COALESCE(b, 'default'), s->>'queue_name', (s->>'priority')::int, (s->>'run_after')::timestamptz,
    s, h, s->>'task_path', 'READY',
    (s->'exec'->>'max_attempts')::int, (s->'exec'->>'timeout_seconds')::int, s->>'lock_key',
    s->>'concurrency_key', (s->>'concurrency_limit')::int, e,
    COALESCE(m, '{}'::jsonb), '[]'::jsonb, '[]'::jsonb, 0, 0, FALSE,
    NOW(), NOW(), NOW()
  FROM input
  ORDER BY n
  ${onConflict}
  RETURNING result_id, spec_hash
)
SELECT i.n::int AS n,
       COALESCE(r.result_id, (
         SELECT t.result_id FROM task_runs t
         WHERE t.spec_hash = i.h AND t.status IN ('READY', 'RUNNING')
         ORDER BY t.result_id LIMIT 1
       )) AS result_id,
       r.result_id IS NULL AS deduplicated
FROM input i
LEFT JOIN inserted r ON r.spec_hash = i.h
`;
}

const ENQUEUE_DEDUP = enqueueSql("ON CONFLICT (spec_hash) WHERE status IN ('READY', 'RUNNING') DO NOTHING");
const ENQUEUE_STRICT = enqueueSql('');

export interface EnqueuedRow {
  /** 1-based position in the document. */
  n: number;
  result_id: number | null;
  deduplicated: boolean;
}

/** Runs the statement over `doc` (see above); named, so a session prepares it once. */
export async function enqueueBatch(db: Db, doc: string, dedup: boolean): Promise<EnqueuedRow[]> {
  const res = dedup
    ? await db.query<EnqueuedRow>(ENQUEUE_DEDUP, [doc], { name: 'reproq_enqueue' })
    : await db.query<EnqueuedRow>(ENQUEUE_STRICT, [doc], { name: 'reproq_enqueue_strict' });
  return res.rows;
}
