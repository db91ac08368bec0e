/**
 * The claim half of the drain's step, as CTEs to splice into a WITH list. Upstream's predicate (due,
 * queue not paused, lock_key free, concurrency below the row's limit) plus the in-batch limits a
 * batch needs: one row per lock_key, no more rows per concurrency_key than its free slots, and no
 * more rows per rate-limit bucket than its whole tokens (upstream checks only the head candidate).
 * The key checks hold across concurrent drains: see migrations/0004_claim_key_locks.sql.
 *
 * Reads $2 (leased_by), $3 (queue), $4 (task paths), $5 (how many), $6 (lease seconds) and $8
 * (sweep: the statement built with `sweep` claims only when it is true, the other only when false).
 * Defines `locked`, `rate_wait` (one row: seconds until a bucket that held candidates back has a
 * token, NULL when no bucket did), `gate` (one row: `needs_full`, see below) and `claimed` (the
 * claimed rows; spec_json as text, so the drain can read its numbers exactly).
 * `order(alias)` is the claim order over that alias's columns: upstream's aged priority, or plain
 * priority when aging is off. `read` is how candidates are found: per task path, or by a walk of
 * the queue's claim order (see below).
 *
 * `plain` is the per-path read without the key and rate-limit machinery, for queues whose rows use
 * none of it (the usual case): no key checks, window functions or token buckets in the statement.
 * It claims only rows without a lock_key or a concurrency limit, a predicate of its locking read
 * (so also rechecked on a row changed since the snapshot), and claims nothing while a candidate it
 * read carries a key or a rate limit is active: `needs_full` is then true and the drain claims
 * with the full statement from then on. Only the full statement claims a row with a key, under
 * reproq_claim_keys, so the key rules hold whichever statement each drain uses. (While other drains
 * hold rows ahead, the locking read walks further down than the rows the quota merged and passes
 * over a keyed row there, which the full read might have taken; it is merged, and so seen, once the
 * rows above it are claimed.)
 */
export function claimBatchCtes(order: (alias: string) => string, read: 'paths' | 'plain' | 'walk' | 'sweep'): string {
  // A queue shared with a Django/Go fleet can hold any number of READY rows of other task paths, or
  // of ours not due yet, ranked ahead of ours. A walk of the whole queue's rank order would filter
  // them out row by row on every claim, so our paths' candidates come from bounded reads:
  //  - rows without run_after: the top of each of our paths from idx_task_runs_claim_path
  //    (migration 0007), already in claim order;
  //  - rows whose run_after has passed: a range of upstream's idx_task_runs_claim_due, sorted.
  // `quota` merges the best $5 of these reads without locking (nor checking the pause, which the
  // locking reads do) and counts what each read supplies; `locked` then reads each again for
  // exactly that many rows, locking as it walks (SKIP LOCKED, so concurrent drains walk past each
  // other's rows). Only the rows claimed are locked: rows locked
  // but left unclaimed would hide them from other drains until this statement ends.
  // Two claims keep the walk of the queue's claim order ('walk', 'sweep'): with aging off, whose
  // order (priority, enqueued_at) upstream's idx_task_runs_claim serves but no index with task_path
  // does, so reads per path would sort each path's whole backlog; and the unknown-task sweep, which
  // claims every path but ours and only runs where all the queue's paths should be ours. The sweep
  // is a statement of its own: its estimated cost would push the plan of every step past
  // jit_above_cost, and a generic plan of the step would then spend seconds compiling on each run.
  const plain = read === 'plain';
  // The full statement's key checks in the statement's snapshot; the plain one's locking read
  // takes keyless rows only, and its quota read sees every row so that it can tell keyed ones.
  const keys = (lock: boolean) =>
    !plain
      ? `
      AND (tr.lock_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM task_runs l WHERE l.lock_key = tr.lock_key AND l.status = 'RUNNING'))
      AND (${unlimited('tr')}
        OR (SELECT count(*) FROM task_runs r
            WHERE r.status = 'RUNNING' AND r.concurrency_key = tr.concurrency_key) < tr.concurrency_limit)`
      : lock
        ? `
      AND ${keyless('tr')}
      AND NOT (SELECT g.needs_full FROM gate g)`
        : '';
  const candidate = (where: string, limit: string, lock: boolean) => `
    SELECT tr.result_id, tr.task_path, tr.lock_key, tr.concurrency_key, tr.concurrency_limit, tr.priority, tr.enqueued_at
    FROM task_runs tr
    WHERE tr.status = 'READY'
      AND tr.queue_name = $3${where}
      -- Rows the claim's UPDATE would fail on, failing the whole batch with them, are left READY and
      -- reported instead (UNCLAIMABLE_TASKS): no task_path (the NOT VALID check constraint is still
      -- enforced on every UPDATE) and an attempts counter that +1 would overflow.
      AND tr.task_path <> '' AND tr.attempts < 2147483647${lock ? `
      AND NOT EXISTS (SELECT 1 FROM reproq_queue_controls qc WHERE qc.queue_name = $3 AND qc.paused)` : ''}${keys(lock)}
    ORDER BY ${order('tr')}
    LIMIT ${limit}${lock ? '\n    FOR UPDATE OF tr SKIP LOCKED' : ''}`;
  const quotaOf = (read: string) => `(SELECT COALESCE(sum(q.n), 0) FROM quota q WHERE ${read})`;
  const undated = (path: string) => `
      AND tr.task_path = ${path}
      AND COALESCE(tr.run_after, '-infinity'::timestamptz) = '-infinity'`;
  const dueDated = `
      AND COALESCE(tr.run_after, '-infinity'::timestamptz) > '-infinity'
      AND COALESCE(tr.run_after, '-infinity'::timestamptz) <= NOW()
      AND tr.task_path = ANY($4::text[])`;
  if (read === 'walk' || read === 'sweep') {
    return `
locked AS MATERIALIZED (
  SELECT w.* FROM (${candidate(`
      AND COALESCE(tr.run_after, '-infinity'::timestamptz) <= NOW()
      AND ${read === 'sweep' ? 'NOT COALESCE(tr.task_path = ANY($4::text[]), FALSE)' : 'tr.task_path = ANY($4::text[])'}`, '$5', true)}
  ) w
  WHERE ${read === 'sweep' ? '' : 'NOT '}$8::boolean
),${claimRest}`;
  }
  // A plain quota also notes whether any of the rows it merged carries a key.
  const keyedOf = (a: string) => (plain ? `, NOT (${keyless(a)}) AS keyed` : '');
  return `
quota AS (
  -- path: the task path of an undated read, NULL for the dated one.
  SELECT b.path, count(*)::int AS n${plain ? ', bool_or(b.keyed) AS keyed' : ''} FROM (
    SELECT c.* FROM (
      SELECT p.path, u.priority, u.enqueued_at${keyedOf('u')}
      FROM unnest($4::text[]) p(path) CROSS JOIN LATERAL (${candidate(undated('p.path'), '$5', false)}
      ) u
      UNION ALL
      SELECT NULL, d.priority, d.enqueued_at${keyedOf('d')} FROM (${candidate(dueDated, '$5', false)}
      ) d
    ) c
    WHERE NOT $8::boolean
    ORDER BY ${order('c')}
    LIMIT $5
  ) b
  GROUP BY b.path
),${plain ? plainGate : ''}
locked AS MATERIALIZED (
  SELECT u.* FROM unnest($4::text[]) p(path) CROSS JOIN LATERAL (${candidate(undated('p.path'), quotaOf('q.path = p.path'), true)}
  ) u
  UNION ALL
  SELECT d.* FROM (${candidate(dueDated, quotaOf('q.path IS NULL'), true)}
  ) d
),${plain ? plainRest : claimRest}`;
}

/** A row whose concurrency_key sets no limit (upstream: NULL or '' key, or a limit <= 0). */
const unlimited = (a: string) => `${a}.concurrency_key IS NULL OR ${a}.concurrency_key = '' OR ${a}.concurrency_limit <= 0`;

/** A row that needs no key check: no lock_key (NULL; '' is a real key) and no concurrency limit. */
export const keyless = (a: string) => `${a}.lock_key IS NULL AND (${unlimited(a)})`;

/** Whether any rate limit is active: a row with rate and burst > 0 (upstream: <= 0 is unlimited). */
const RATE_LIMITED = '(SELECT bool_or(tokens_per_second > 0 AND burst_size > 0) FROM rate_limits)';

/** The claim's UPDATE of the rows `ids` (a subquery of result_ids) to RUNNING under this lease. */
const claimedCte = (ids: string) => `
claimed AS (
  UPDATE task_runs t SET
    status = 'RUNNING',
    started_at = COALESCE(t.started_at, NOW()),
    last_attempted_at = NOW(),
    attempts = t.attempts + 1,
    leased_until = NOW() + make_interval(secs => $6::float8),
    leased_by = $2,
    worker_ids = COALESCE(t.worker_ids, '[]'::jsonb) || jsonb_build_array($2::text),
    updated_at = NOW()
  WHERE t.result_id = ANY(ARRAY(${ids}))
  RETURNING t.result_id, t.queue_name, t.task_path, t.priority, t.attempts, t.max_attempts,
    t.timeout_seconds, t.spec_json::text AS spec_text, t.enqueued_at, t.cancel_requested
)
`;

/** The plain claim's gate, read before it locks anything. */
const plainGate = `
gate AS (
  SELECT COALESCE((SELECT bool_or(q.keyed) FROM quota q), FALSE) OR COALESCE(${RATE_LIMITED}, FALSE) AS needs_full
),`;

/** After the plain claim's `locked`: no limits to apply, every locked row is claimed. */
const plainRest = `
rate_wait AS (SELECT NULL::float8 AS seconds),${claimedCte('SELECT result_id FROM locked')}`;

/** The CTEs after `locked`: the in-batch limits, the rate-limit tokens, and the claim's UPDATE. */
const claimRest = `
gate AS (SELECT FALSE AS needs_full),
limited AS (
  -- Upstream's rate-limit key: the first existing row of task:<path>, queue:<queue>, global; a
  -- row with rate or burst <= 0 means unlimited. Skipped outright while no limit is active.
  SELECT l.result_id, rl.key, rl.tokens_per_second::float8 AS rate,
    LEAST(rl.burst_size, rl.current_tokens
      + EXTRACT(EPOCH FROM (NOW() - rl.last_refilled_at)) * rl.tokens_per_second)::float8 AS available
  FROM locked l
  CROSS JOIN LATERAL (
    SELECT r.* FROM rate_limits r
    WHERE r.key IN ('task:' || l.task_path, 'queue:' || $3, 'global')
    ORDER BY (r.key = 'global'), (r.key LIKE 'queue:%')
    LIMIT 1
  ) rl
  WHERE ${RATE_LIMITED}
    AND rl.tokens_per_second > 0 AND rl.burst_size > 0
),
picked AS (
  SELECT k.result_id, k.limit_key FROM (
    SELECT l.*, lim.key AS limit_key, lim.available,
      row_number() OVER (PARTITION BY l.lock_key ORDER BY l.priority DESC, l.enqueued_at) AS lock_rank,
      row_number() OVER (PARTITION BY l.concurrency_key ORDER BY l.priority DESC, l.enqueued_at) AS slot,
      row_number() OVER (PARTITION BY lim.key ORDER BY l.priority DESC, l.enqueued_at) AS token
    FROM locked l LEFT JOIN limited lim ON lim.result_id = l.result_id
  ) k
  WHERE (k.lock_key IS NULL OR k.lock_rank = 1)
    AND (k.limit_key IS NULL OR k.token <= k.available)
    -- The key checks in locked read this statement's snapshot, which misses claims other drains
    -- have not committed yet. reproq_claim_keys (migration 0004) takes the key's advisory lock and
    -- counts its RUNNING rows again with a fresh snapshot. The CASE keeps rows without keys from
    -- calling it, and its cost puts it after the cheaper filters.
    AND CASE WHEN ${keyless('k')} THEN TRUE
        ELSE reproq_claim_keys(k.lock_key, k.concurrency_key, k.concurrency_limit, k.slot) END
),
spent AS (
  -- One token per claimed task, taken only if the bucket still holds them all (a concurrent drain
  -- may have spent some since our snapshot); otherwise that key's tasks wait for a later claim.
  UPDATE rate_limits r SET
    current_tokens = LEAST(r.burst_size, r.current_tokens
      + EXTRACT(EPOCH FROM (NOW() - r.last_refilled_at)) * r.tokens_per_second) - p.n,
    last_refilled_at = NOW()
  FROM (SELECT limit_key, count(*) AS n FROM picked WHERE limit_key IS NOT NULL GROUP BY limit_key) p
  WHERE r.key = p.limit_key
    AND LEAST(r.burst_size, r.current_tokens + EXTRACT(EPOCH FROM (NOW() - r.last_refilled_at)) * r.tokens_per_second) >= p.n
  RETURNING r.key
),
rate_wait AS (
  -- Tokens are ranked over all of a bucket's candidates, so it held some back iff it had more
  -- candidates than whole tokens. Its wait is the time to its next whole token; a bucket that a
  -- concurrent drain emptied before our update counts from empty (one token's time).
  SELECT min(CASE WHEN b.key IN (SELECT key FROM spent) OR b.picked = 0
                  THEN (GREATEST(floor(b.available), 0) + 1 - b.available) / b.rate
                  ELSE 1 / b.rate END) AS seconds
  FROM (
    SELECT l.key, min(l.rate) AS rate, min(l.available) AS available, count(*) AS n,
      (SELECT count(*) FROM picked p WHERE p.limit_key = l.key) AS picked
    FROM limited l GROUP BY l.key
  ) b
  WHERE b.n > GREATEST(floor(b.available), 0) OR (b.picked > 0 AND b.key NOT IN (SELECT key FROM spent))
),
${claimedCte('SELECT result_id FROM picked WHERE limit_key IS NULL OR limit_key IN (SELECT key FROM spent)')}`;
