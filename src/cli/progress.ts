import cliProgress from 'cli-progress';

/**
 * Progress for long work: a bar (or a live line) on a TTY, plain lines elsewhere so logs and CI output stay
 * readable. Writes to stderr, so `--json` output on stdout stays parseable.
 */
export interface Progress {
  /** Moves the bar to `done` of the total. */
  update(done: number): void;
  stop(): void;
}

const isTty = () => process.stderr.isTTY === true;

export function progressBar(label: string, total: number, quiet = false): Progress {
  if (quiet || total === 0) return { update() {}, stop() {} };
  if (isTty()) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {percentage}% {eta_formatted} left`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (done) => bar.update(done), stop: () => bar.stop() };
  }
  // Off a TTY: one line per tenth, so a million rows print eleven lines, not a million.
  let lastTenth = -1;
  const print = (done: number) => {
    const tenth = Math.floor((done / total) * 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    process.stderr.write(`${label}: ${done}/${total}\n`);
  };
  print(0);
  return { update: print, stop() {} };
}

/** A status line rewritten in place on a TTY; each message on its own line elsewhere. */
export function liveLine(quiet = false): { set(message: string): void; done(message?: string): void } {
  if (quiet) return { set() {}, done() {} };
  if (isTty()) {
    return {
      set: (m) => process.stderr.write(`\r\x1b[2K${m}`),
      done: (m) => process.stderr.write(`\r\x1b[2K${m ?? ''}${m ? '\n' : ''}`),
    };
  }
  return { set: (m) => process.stderr.write(`${m}\n`), done: (m) => m && process.stderr.write(`${m}\n`) };
}

/** migrate()'s onProgress: on a TTY "applying X…" stays on one live line until X is done (a big table takes a while). */
export function migrateProgress(quiet = false): (message: string) => void {
  const line = liveLine(quiet);
  return (m) => (m.startsWith('applying ') ? line.set(`${m}…`) : line.done(m));
}
