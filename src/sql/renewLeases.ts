import type { Db } from '../db/types.ts';

/**
 * Extends the leases of every row a drain holds (running, waiting to start, or finished but not yet
 * recorded) in one statement, fenced on leased_by and RUNNING. Rows missing from the result lost
 * their lease (reclaimed, cancelled elsewhere); `cancel_requested` tells the drain to abort a run
 * or not to start it.
 */
export const RENEW_LEASES = `
UPDATE task_runs
SET leased_until = NOW() + make_interval(secs => $3::float8), updated_at = NOW()
WHERE result_id = ANY($1::bigint[]) AND leased_by = $2 AND status = 'RUNNING'
RETURNING result_id, cancel_requested
`;

/** The rows still held, each with its cancel flag. */
export async function renewLeases(db: Db, ids: readonly number[], leasedBy: string, leaseSeconds: number): Promise<Map<number, boolean>> {
  const res = await db.query<{ result_id: number | string; cancel_requested: boolean }>(RENEW_LEASES, [ids, leasedBy, leaseSeconds]);
  return new Map(res.rows.map((r) => [Number(r.result_id), r.cancel_requested]));
}
