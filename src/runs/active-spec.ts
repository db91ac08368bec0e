import type { Db } from '../db/types.ts';
import { ActiveSpecConflictError } from '../errors.ts';
import { ACTIVE_BY_SPEC_HASH } from '../sql/activeBySpecHash.ts';

/**
 * Turns the active-spec unique violation (23505) of a replay or retry into an ActiveSpecConflictError naming the
 * row in the way; other errors pass through unchanged.
 */
export async function explainActiveSpec(db: Db, err: unknown, specHash: string | null): Promise<unknown> {
  const e = err as { code?: string; detail?: string };
  // For a many-row statement the hash is only in the violation's detail: Key (spec_hash)=(…) already exists.
  const hash = specHash ?? /\(spec_hash\)=\((\w+)/.exec(e?.detail ?? '')?.[1] ?? null;
  if (e?.code !== '23505' || hash === null) return err;
  const active = (await db.query<{ result_id: number; status: string }>(ACTIVE_BY_SPEC_HASH, [hash])).rows[0];
  return new ActiveSpecConflictError(hash.trim(), active ? Number(active.result_id) : null, active?.status ?? null);
}
