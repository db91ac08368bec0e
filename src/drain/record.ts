import { classifyDbError, type DbErrorInfo } from '../db/errors.ts';
import type { Db } from '../db/types.ts';
import type { Logger } from '../logger.ts';
import type { DrainSummary } from './options.ts';
import { type Action, type Outcome, refused, tally } from './outcomes.ts';

export interface RecordContext {
  db: Db;
  /** The step statement; recording alone is the same statement with a claim of 0. */
  sql: string;
  workerId: string;
  summary: DrainSummary;
  log: Logger;
}

/**
 * What to do after a step statement failed, by what the error says (classifyDbError):
 * - `data`: one row's data was refused. The outcomes are recorded again without claiming, halving
 *   the set that fails until each offender stands alone; every other task gets its true outcome and
 *   each offender a short `outcome_refused` entry naming the database's complaint. Returns true when
 *   offenders were found (the failure is explained, the drain goes on). If all outcomes record at
 *   once, the claim half was refused: the drain stops.
 * - `transient`: the connection or the server; one more try to record the outcomes (claiming
 *   nothing, so no batch is orphaned; isolating as above should that try meet a data error), then
 *   the drain stops. Unrecorded tasks come back through lease expiry and reclaim.
 * - `program`: the statement or the schema is wrong; sending it again fails the same way, so the
 *   drain stops at once and says it is not an outage.
 */
export async function recordAfterFailedStep(err: unknown, pending: Outcome[], rc: RecordContext): Promise<boolean> {
  const info = classifyDbError(err);
  if (info.kind === 'data' && pending.length > 0) {
    const result = await recordIsolating(pending, rc);
    if ('stop' in result) return stop(result.stop, rc, 'recording outcomes failed; their leases will expire and reclaim will retry them');
    if (result.refused > 0) return true;
    return stop(info, rc, 'the claim was refused by the database (outcomes were recorded)');
  }
  if (info.kind === 'transient') {
    rc.log.error('drain step failed', { error: info.message, pending: pending.length });
    const retry = await recordIsolating(pending, rc);
    if ('stop' in retry) rc.log.error('recording outcomes failed; their leases will expire and reclaim will retry them', { error: retry.stop.message });
    return stop(info, rc);
  }
  return stop(info, rc, info.kind === 'program' ? 'drain step failed: a bug or a missing migration, not an outage' : 'drain step failed: the database refused the claim');
}

function stop(info: DbErrorInfo, rc: RecordContext, message?: string): false {
  rc.summary.stoppedBecause = 'db_error';
  rc.summary.error = info.message;
  rc.summary.errorKind = info.kind;
  if (message) rc.log.error(message, { error: info.message, kind: info.kind, ...(info.code && { sqlstate: info.code }) });
  return false;
}

type Isolated = { refused: number } | { stop: DbErrorInfo };

/**
 * Records `outcomes` claiming nothing. On a data error, records each half on its own, down to single
 * outcomes: O(k·log n) statements for k offenders among n.
 */
async function recordIsolating(outcomes: Outcome[], rc: RecordContext): Promise<Isolated> {
  if (outcomes.length === 0) return { refused: 0 };
  try {
    await recordOnly(outcomes, rc);
    return { refused: 0 };
  } catch (err) {
    const info = classifyDbError(err);
    if (info.kind !== 'data') return { stop: info };
    if (outcomes.length === 1) return recordRefused(outcomes[0]!, info, rc);
    const mid = Math.ceil(outcomes.length / 2);
    const first = await recordIsolating(outcomes.slice(0, mid), rc);
    if ('stop' in first) return first;
    const second = await recordIsolating(outcomes.slice(mid), rc);
    if ('stop' in second) return second;
    return { refused: first.refused + second.refused };
  }
}

/**
 * One outcome the database refuses: record the refusal instead; if even that is refused (the row
 * itself cannot be written), record the bare transition with no errors_json entry; past that, the
 * lease expires and reclaim takes the task.
 */
async function recordRefused(o: Outcome, info: DbErrorInfo, rc: RecordContext): Promise<Isolated> {
  const replacement = refused(o, info.message, info.code, new Date());
  rc.log.warn('outcome refused by the database; recorded as refused', {
    result_id: o.result_id,
    action: o.action,
    error: info.message,
    ...(info.code && { sqlstate: info.code }),
  });
  for (const attempt of [replacement, { ...replacement, error: null }]) {
    try {
      await recordOnly([attempt], rc);
      return { refused: 1 };
    } catch (err) {
      const again = classifyDbError(err);
      if (again.kind !== 'data') return { stop: again };
      rc.log.error('recording a refused outcome failed', { result_id: o.result_id, error: again.message });
    }
  }
  return { refused: 1 };
}

async function recordOnly(outcomes: Outcome[], rc: RecordContext): Promise<void> {
  rc.summary.roundTrips++;
  const res = await rc.db.query<{ completed: [number, Action][] }>(rc.sql, [JSON.stringify(outcomes), rc.workerId, '', [], 0, 1, null, false]);
  tally(rc.summary, outcomes, res.rows[0]!.completed);
}
