import { claimBatchCtes } from './claimBatch.ts';
import { COMPLETE_OUTCOMES_CTES } from './completeOutcomes.ts';

/**
 * The drain's one statement per batch: record the outcomes of the previous batch, then claim the
 * next one, in a single round trip. Either half may be empty: `[]` outcomes for the first claim,
 * limit 0 for the last completion.
 *
 * Parameters:
 *  $1 outcomes: JSON array of {result_id, action, return_text, error, last_error, delay_s, logs_uri}
 *     where action is success | retry | fail | release (release = handed back unstarted, the
 *     attempt it took is given back).
 *  $2 leased_by of this invocation (the fence: only rows still RUNNING under it are written)
 *  $3 queue to claim from, $4 task paths this drain can run, $5 how many to claim,
 *  $6 lease seconds, $7 the reproq_workers row to upsert (JSON) or NULL,
 *  $8 sweep: when true, claim only rows whose task_path is NOT among $4 (to fail unknown tasks).
 *     Built as `sweep`, the statement claims only when $8 is true; otherwise only when false.
 *
 * `claim` chooses the claim: `full` (every rule: keys, concurrency limits, rate limits), `plain`
 * (the same claim for queues that use none of them, cheaper; see claimBatch.ts; needs aging on) or
 * `sweep` (the unknown-task sweep, a statement of its own).
 *
 * The halves live in completeOutcomes.ts and claimBatch.ts. With the default aging factor the
 * claim reads each task path's rows in claim order from idx_task_runs_claim_path instead of
 * sorting the queue; with aging off it walks upstream's idx_task_runs_claim.
 *
 * Result: one row per claimed task (plain columns, no JSON re-encoding); the first row carries the
 * `completed` [id, action] pairs (a single row of NULLs but the step columns when nothing was
 * claimed). Every row carries:
 *  - `released`: how many rows the completion made claimable. The claim reads the statement's
 *    snapshot, so it cannot see them; the drain claims again before it calls a queue empty.
 *  - `rate_wait_s`: seconds until a rate-limit bucket that held candidates back has a token
 *    (NULL when no rate limit held anything back).
 *  - `needs_full`: the plain claim took nothing because the queue needs the full one (always
 *    false from the others).
 */
export function stepSql(agingFactor: number, claim: 'full' | 'plain' | 'sweep' = 'full'): string {
  if (claim === 'plain' && !(agingFactor > 0)) throw new RangeError('the plain claim reads per task path, which needs aging on');
  const order = (a: string) =>
    agingFactor > 0
      ? `reproq_claim_rank(${a}.priority, ${a}.enqueued_at, ${formatFactor(agingFactor)}) DESC`
      : `${a}.priority DESC, ${a}.enqueued_at ASC`;
  return `
WITH RECURSIVE ${COMPLETE_OUTCOMES_CTES},
worker AS (
  SELECT w.* FROM jsonb_to_record($7::jsonb) AS w(worker_id text, hostname text, concurrency int, queues jsonb, version text)
  WHERE $7::jsonb IS NOT NULL
),
-- Every invocation registers its worker name at its first step, and many share one name: no step
-- may wait for another's lock on that row (with the claim's row locks held, waits can deadlock). A
-- new name is inserted; a known one is refreshed only if no other step holds its row right now.
registered AS (
  INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues, version, started_at, last_seen_at)
  SELECT w.worker_id, w.hostname, w.concurrency, w.queues, w.version, NOW(), NOW()
  FROM worker w
  WHERE NOT EXISTS (SELECT 1 FROM reproq_workers r WHERE r.worker_id = w.worker_id)
  ON CONFLICT (worker_id) DO NOTHING
  RETURNING 1
),
refreshed AS (
  UPDATE reproq_workers r SET
    hostname = w.hostname, concurrency = w.concurrency, queues = w.queues, version = w.version, last_seen_at = NOW()
  FROM worker w
  WHERE r.worker_id = w.worker_id
    AND r.worker_id IN (SELECT x.worker_id FROM reproq_workers x JOIN worker y ON y.worker_id = x.worker_id
                        FOR UPDATE OF x SKIP LOCKED)
  RETURNING 1
),
${claimBatchCtes(order, claim === 'sweep' ? 'sweep' : agingFactor > 0 ? (claim === 'plain' ? 'plain' : 'paths') : 'walk')}
SELECT CASE WHEN row_number() OVER () = 1 THEN r.completed END AS completed, r.released, r.rate_wait_s, r.needs_full, c.*
FROM (
  SELECT
    (SELECT COALESCE(jsonb_agg(jsonb_build_array(d.result_id, d.action)), '[]'::jsonb) FROM done d) AS completed,
    -- Whatever the completion CTEs make claimable must be counted here: rows that held a lock_key
    -- or a concurrency slot, chain children and chord callbacks made READY.
    ((SELECT count(*) FROM done d WHERE d.held_slot)
      + (SELECT count(*) FROM children ch WHERE ch.status = 'READY')
      + (SELECT count(*) FROM callbacks cb WHERE cb.status = 'READY'))::int AS released,
    (SELECT seconds FROM rate_wait) AS rate_wait_s,
    (SELECT needs_full FROM gate) AS needs_full
) r
LEFT JOIN claimed c ON TRUE
`;
}

/** The factor is inlined (not a parameter) so the planner can match the claim-rank index. */
function formatFactor(f: number): string {
  if (!Number.isFinite(f) || f <= 0) throw new RangeError(`aging factor must be a positive number, got ${f}`);
  return Number.isInteger(f) ? String(f) : f.toExponential();
}
