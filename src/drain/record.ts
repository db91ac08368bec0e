import { describeError } from '../db/errors.ts';
import type { Db } from '../db/types.ts';
import type { Logger } from '../logger.ts';
import type { DrainSummary } from './options.ts';
import { type Action, type Outcome, tally } from './outcomes.ts';

/** After a failed step, one more try to record outcomes (claiming nothing, so no batch is orphaned). */
export async function recordOnly(db: Db, sql: string, pending: Outcome[], workerId: string, summary: DrainSummary, log: Logger) {
  if (pending.length === 0) return;
  try {
    const res = await db.query<{ completed: [number, Action][] }>(sql, [JSON.stringify(pending), workerId, '', [], 0, 1, null, false]);
    summary.roundTrips++;
    tally(summary, pending, res.rows[0]!.completed);
  } catch (err) {
    summary.roundTrips++;
    log.error('recording outcomes failed; their leases will expire and reclaim will retry them', {
      error: describeError(err),
      tasks: pending.map((o) => o.result_id),
    });
  }
}
