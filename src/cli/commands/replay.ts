import type { Command } from 'commander';
import type { Db } from '../../db/types.ts';
import { ReproqError, ValidationError } from '../../errors.ts';
import { ACTIVE_BY_SPEC_HASH } from '../../sql/activeBySpecHash.ts';
import { REPLAY_TASK } from '../../sql/replayTask.ts';
import { resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

export function registerReplay(program: Command): void {
  withDbFlags(
    program
      .command('replay')
      .description('enqueue a copy of a past task (by id, or the latest row with a spec_hash) to run now'),
  )
    .option('--id <result_id>', 'task to copy', resultId)
    .option('--spec-hash <hash>', 'copy the latest task with this spec_hash')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DbFlags & { id?: number; specHash?: string; json?: boolean }) => {
      if ((flags.id === undefined) === (flags.specHash === undefined)) {
        throw new ValidationError('--id/--spec-hash', 'provide exactly one of --id or --spec-hash');
      }
      await withDb(flags, async (db) => {
        const r = await replay(db, flags.id ?? null, flags.specHash ?? null);
        output(flags.json, { resultId: r.result_id, sourceId: r.source_id, specHash: r.spec_hash.trim() }, () =>
          `Requeued task ${r.source_id}${flags.specHash ? ` (spec_hash ${flags.specHash})` : ''} as new result_id ${r.result_id}.`,
        );
      });
    });
}

async function replay(db: Db, id: number | null, specHash: string | null) {
  try {
    const r = await db.query<{ result_id: number; source_id: number; spec_hash: string }>(REPLAY_TASK, [id, specHash]);
    if (!r.rows[0]) throw new ReproqError(id !== null ? `task run ${id} not found` : `no task with spec_hash ${specHash}`);
    return r.rows[0];
  } catch (err) {
    throw await explainActiveSpec(db, err, id !== null ? await specHashOf(db, id) : specHash);
  }
}

async function specHashOf(db: Db, id: number): Promise<string | null> {
  const r = await db.query<{ spec_hash: string }>('SELECT spec_hash FROM task_runs WHERE result_id = $1', [id]);
  return r.rows[0]?.spec_hash ?? null;
}

/**
 * Turns the active-spec unique violation into a message naming the row that blocks the copy; other errors
 * pass through unchanged.
 */
export async function explainActiveSpec(db: Db, err: unknown, specHash: string | null): Promise<unknown> {
  const e = err as { code?: string; detail?: string };
  // For a many-row statement the hash is only in the violation's detail: Key (spec_hash)=(…) already exists.
  const hash = specHash ?? /\(spec_hash\)=\((\w+)/.exec(e?.detail ?? '')?.[1] ?? null;
  if (e?.code !== '23505' || hash === null) return err;
  const active = (await db.query<{ result_id: number; status: string }>(ACTIVE_BY_SPEC_HASH, [hash])).rows[0];
  return new ReproqError(
    `task ${active?.result_id ?? '?'} with the same spec_hash is still ${active?.status ?? 'active'}; ` +
      'only one READY/RUNNING row per spec is allowed: wait for it to finish, or cancel it first',
  );
}
