import * as z from 'zod/mini';
import type { Db } from './db/types.ts';
import { validate } from './errors.ts';
import { boundedInt } from './storable.ts';
import { PRUNE_EXPIRED } from './sql/pruneExpired.ts';
import { PRUNE_WORKERS } from './sql/pruneWorkers.ts';
import { RECLAIM_EXPIRED_LEASES } from './sql/reclaimExpiredLeases.ts';
import { SWEEP_STRANDED_DEPENDANTS } from './sql/sweepStrandedDependants.ts';

/**
 * Maintenance beside the drain: reclaim expired leases, prune expired tasks and stale worker
 * rows. Each is one statement, bounded by `limit` (0 = no limit, upstream's convention) so an
 * invocation stays inside its budget; run again while `matched === limit` to go on.
 */
const limit = (fallback: number) => boundedInt(0, Number.MAX_SAFE_INTEGER, fallback);
const seconds = (fallback: number) => z._default(z.number().check(z.minimum(0)), fallback);
const flag = z._default(z.boolean(), false);

export const ReclaimOptionsSchema = z.strictObject({
  /** Only leases that ended more than this long ago. */
  olderThanSeconds: seconds(0),
  /** `requeue`: READY while attempts remain, else FAILED (upstream's reclaim). `fail`: always FAILED. */
  action: z._default(z.enum(['requeue', 'fail']), 'requeue'),
  limit: limit(1000),
  dryRun: flag,
  /** Also RUNNING rows with no lease (written by something that never set one). */
  includeNullLease: flag,
});
export type ReclaimOptions = z.input<typeof ReclaimOptionsSchema>;

export interface ReclaimSummary {
  /** Rows that matched (all of them are listed in `ids`); in a dry run nothing else happened. */
  matched: number;
  requeued: number;
  failed: number;
  ids: number[];
  /**
   * Waiting tasks ended because a task they depended on ended without success: dependants of the
   * tasks this reclaim failed, and dependants other clients left stranded (the sweep).
   */
  dependantsEnded: number;
  /** Chord callbacks released because their workflow had missed counting a member's success (the sweep). */
  callbacksReleased: number;
  dryRun: boolean;
}

/**
 * Django writes a chord in several statements outside a transaction: a parentless WAITING row, or a
 * chord's count, younger than this may still be on its way, so the sweep leaves it alone.
 */
const STRANDED_GRACE_SECONDS = 300;

/**
 * Reclaims expired leases, then ends the workflow tasks other clients left waiting for ever
 * (src/sql/sweepStrandedDependants.ts); two statements, skipped together in a dry run.
 */
export async function reclaim(db: Db, options: ReclaimOptions = {}): Promise<ReclaimSummary> {
  const o = validate(ReclaimOptionsSchema, options);
  const res = await db.query<{ result_id: string | number; status: string | null; dependants: number }>(RECLAIM_EXPIRED_LEASES, [
    o.olderThanSeconds,
    o.includeNullLease,
    o.limit || null,
    o.action,
    o.dryRun,
  ]);
  let dependantsEnded = res.rows[0]?.dependants ?? 0;
  let callbacksReleased = 0;
  if (!o.dryRun) {
    const sweep = await db.query<{ orphaned: number; ended: number; released: number }>(SWEEP_STRANDED_DEPENDANTS, [
      o.limit || null,
      STRANDED_GRACE_SECONDS,
    ]);
    dependantsEnded += sweep.rows[0]!.orphaned + sweep.rows[0]!.ended;
    callbacksReleased = sweep.rows[0]!.released;
  }
  return {
    matched: res.rows.length,
    requeued: res.rows.filter((r) => r.status === 'READY').length,
    failed: res.rows.filter((r) => r.status === 'FAILED').length,
    ids: res.rows.map((r) => Number(r.result_id)),
    dependantsEnded,
    callbacksReleased,
    dryRun: o.dryRun,
  };
}

export const PruneExpiredOptionsSchema = z.strictObject({ limit: limit(10_000), dryRun: flag });
export type PruneExpiredOptions = z.input<typeof PruneExpiredOptionsSchema>;

export interface PruneExpiredSummary {
  matched: number;
  deleted: number;
  /** Waiting tasks ended because a task they depended on was deleted before it succeeded. */
  dependantsEnded: number;
  dryRun: boolean;
}

/** Deletes tasks past `expires_at` that are not RUNNING (upstream's `prune expired`), ending what waits on them. */
export async function pruneExpired(db: Db, options: PruneExpiredOptions = {}): Promise<PruneExpiredSummary> {
  const o = validate(PruneExpiredOptionsSchema, options);
  const res = await db.query<{ matched: number; deleted: number; dependants: number }>(PRUNE_EXPIRED, [o.limit || null, o.dryRun]);
  const r = res.rows[0]!;
  return { matched: r.matched, deleted: r.deleted, dependantsEnded: r.dependants, dryRun: o.dryRun };
}

export const PruneWorkersOptionsSchema = z.strictObject({
  /** Django's default: a worker unseen for 10 minutes is gone. */
  olderThanSeconds: seconds(600),
  limit: limit(1000),
  dryRun: flag,
});
export type PruneWorkersOptions = z.input<typeof PruneWorkersOptionsSchema>;

export interface PruneWorkersSummary {
  matched: number;
  deleted: number;
  workerIds: string[];
  dryRun: boolean;
}

/** Deletes reproq_workers rows not seen for `olderThanSeconds` (Django's `prune-workers`). */
export async function pruneWorkers(db: Db, options: PruneWorkersOptions = {}): Promise<PruneWorkersSummary> {
  const o = validate(PruneWorkersOptionsSchema, options);
  const res = await db.query<{ worker_id: string; deleted: boolean }>(PRUNE_WORKERS, [o.olderThanSeconds, o.limit || null, o.dryRun]);
  return {
    matched: res.rows.length,
    deleted: res.rows.filter((r) => r.deleted).length,
    workerIds: res.rows.map((r) => r.worker_id),
    dryRun: o.dryRun,
  };
}
