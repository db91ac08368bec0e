import { hostname } from 'node:os';
import type { Command } from 'commander';
import { beat, logBeatErrors, MisfirePolicySchema, type BeatSummary } from '../../beat.ts';
import { describeError } from '../../db/errors.ts';
import type { Db } from '../../db/types.ts';
import { parseDuration } from '../../duration.ts';
import { ValidationError, validate } from '../../errors.ts';
import { consoleLogger, type Logger } from '../../logger.ts';
import { BEAT_HEARTBEAT } from '../../sql/beatHeartbeat.ts';
import { VERSION } from '../../version.ts';
import { withDb, withDbFlags, type DbFlags } from '../context.ts';

interface BeatFlags extends DbFlags {
  once?: boolean;
  interval: string;
  misfire: string;
  maxCatchUp: string;
  batchSize: string;
  json?: boolean;
}

export function registerBeat(program: Command): void {
  const options = (cmd: Command) =>
    withDbFlags(cmd)
      .option('--interval <duration>', 'time between ticks, e.g. 30s, 1m', '30s')
      .option('--misfire <policy>', 'catch_up_once | skip | backfill', 'catch_up_once')
      .option('--max-catch-up <n>', 'most missed runs one task gets with --misfire backfill', '10')
      .option('--batch-size <n>', 'due tasks per statement', '1000')
      .option('--json', 'print each tick summary as JSON');
  options(program.command('beat').description('enqueue due periodic tasks: once, or every --interval'))
    .option('--once', 'run one tick and exit (for a platform cron job)')
    .action((flags: BeatFlags) => runBeat(flags));
  options(program.command('schedule').description('the same as `beat --once`')).action((flags: BeatFlags) =>
    runBeat({ ...flags, once: true }),
  );
}

async function runBeat(flags: BeatFlags): Promise<void> {
  const intervalMs = parseDuration(flags.interval, '--interval');
  if (intervalMs < 1000) throw new ValidationError('--interval', 'must be at least 1s');
  const misfirePolicy = validate(MisfirePolicySchema, flags.misfire, () => '--misfire');
  const tick = {
    misfirePolicy,
    maxCatchUp: Number(flags.maxCatchUp),
    batchSize: Number(flags.batchSize),
    // An on-time tick can be up to one interval late, so `skip` must not drop it.
    misfireGraceSeconds: Math.max(60, (2 * intervalMs) / 1000),
    budgetMs: Math.max(1000, intervalMs),
  };
  const log = consoleLogger({ worker_id: process.env.REPROQ_PROCESS_ROLE || 'beat', role: 'beat' });
  await withDb(flags, async (db) => {
    const seenWithinS = (3 * intervalMs) / 1000;
    if (flags.once) {
      await warnOtherBeats(db, null, seenWithinS, log);
      report(await beat(db, tick), flags, log);
      return;
    }
    const me = `beat/${hostname()}/${process.pid}`;
    const stop = new AbortController();
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
    try {
      while (!stop.signal.aborted) {
        try {
          await warnOtherBeats(db, me, seenWithinS, log);
          report(await beat(db, tick), flags, log);
        } catch (err) {
          // Like upstream: log and keep ticking; the next tick retries.
          log.error('Failed to enqueue periodic tasks', { error: describeError(err) });
        }
        await sleep(intervalMs, stop.signal);
      }
    } finally {
      await db.query('DELETE FROM reproq_workers WHERE worker_id = $1', [me]).catch(() => undefined);
    }
  });
}

async function warnOtherBeats(db: Db, me: string | null, withinS: number, log: Logger): Promise<void> {
  const others = await db.query<{ worker_id: string }>(BEAT_HEARTBEAT, [me, hostname(), withinS, `reproq-edge-beat ${VERSION}`]);
  if (others.rows.length > 0) {
    log.warn('Another beat is running against this database; run only one scheduler per database', {
      other_beats: others.rows.map((r) => r.worker_id),
    });
  }
}

function report(s: BeatSummary, flags: BeatFlags, log: Logger): void {
  if (flags.json) console.log(JSON.stringify(s));
  else if (s.enqueued > 0) log.info('Enqueued periodic tasks', { count: s.enqueued, due: s.due, duration_ms: s.durationMs });
  logBeatErrors(s, log);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
