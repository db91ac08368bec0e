/** What every measured drain returns, whatever the system. */
export interface DrainRun {
  /** Tasks completed (checked against the number queued). */
  tasks: number;
  ms: number;
  /** Statements sent by the driver while draining. */
  roundTrips: number;
  /** CPU time of the database's backends while draining (cpu.ts), where the system measures it. */
  serverCpuMs?: number | null;
}

/** Bounds every drain: a system that stalls fails the run instead of hanging the harness. */
export const RUN_TIMEOUT_MS = 300_000;

/** For a run of `queued` tasks: at least 5 ms per task, so a slow peer at 200k (pg-boss sorts every waiting job per fetch) is measured, not cut off. */
export function runTimeoutMs(queued: number): number {
  return Math.max(RUN_TIMEOUT_MS, queued * 5);
}

export async function withTimeout<T>(what: string, promise: Promise<T>, ms = RUN_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function expectAll(what: string, done: number, queued: number): void {
  if (done !== queued) throw new Error(`${what} completed ${done} of ${queued} tasks`);
}
