/** The three modes of `npm run bench`, and the flags that adjust them. */
import { parseArgs } from 'node:util';

export type Mode = 'full' | 'quick' | 'smoke';

export interface Settings {
  mode: Mode;
  /** Tasks queued per drain run. */
  n: number;
  rounds: number;
  batches: number[];
  concurrencies: number[];
  /** The larger queue the goals name (ours, the peers and the floor at batch 100, concurrency 16). */
  bigN: number | null;
  latencyTasks: number;
  delaysMs: number[];
  /** Rows per enqueue size and round (see callsFor in enqueueBench.ts). */
  enqueueRows: number;
  /** Other READY rows in the shared-database claim scenarios. */
  claimOtherRows: number;
  /** Module-evaluation runs per Worker script. */
  evalRuns: number;
  beatTasks: number;
  historyRows: number[];
  outDir: string;
}

const MODES: Record<Mode, Omit<Settings, 'mode' | 'outDir'>> = {
  full: {
    n: 20_000,
    rounds: 3,
    batches: [1, 10, 100, 500],
    concurrencies: [1, 16],
    bigN: 200_000,
    latencyTasks: 1000,
    delaysMs: [0, 5, 20],
    enqueueRows: 20_000,
    claimOtherRows: 200_000,
    evalRuns: 9,
    beatTasks: 10_000,
    historyRows: [10_000, 100_000, 1_000_000],
  },
  quick: {
    n: 5000,
    rounds: 2,
    batches: [100],
    concurrencies: [1, 16],
    bigN: null,
    latencyTasks: 1000,
    delaysMs: [0, 5, 20],
    enqueueRows: 5000,
    claimOtherRows: 200_000,
    evalRuns: 5,
    beatTasks: 10_000,
    historyRows: [10_000, 100_000],
  },
  smoke: {
    n: 300,
    rounds: 1,
    batches: [100],
    concurrencies: [16],
    bigN: null,
    latencyTasks: 100,
    delaysMs: [0, 5],
    enqueueRows: 200,
    claimOtherRows: 2000,
    evalRuns: 1,
    beatTasks: 100,
    historyRows: [1000],
  },
};

export const USAGE = `usage: npm run bench -- [--quick | --smoke] [--n N] [--rounds R] [--out DIR]
  (default) full run: N=20,000, 3 rounds, batch 1/10/100/500, 200k queue, 1M-row history
  --quick   a few minutes on 2 cores: N=5,000, 2 rounds, batch 100
  --smoke   seconds: proves the harness works (tiny N)`;

export function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      n: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.quick && values.smoke) throw new Error('choose one of --quick and --smoke');
  const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const base = MODES[mode];
  return {
    mode,
    ...base,
    n: values.n === undefined ? base.n : positive('--n', values.n, 10_000_000),
    rounds: values.rounds === undefined ? base.rounds : positive('--rounds', values.rounds, 50),
    outDir: values.out ?? 'bench-results',
  };
}

function positive(flag: string, raw: string, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${flag} must be an integer from 1 to ${max}, got ${raw}`);
  return v;
}
