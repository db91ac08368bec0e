import type { Db } from './db/types.ts';
import { QUEUE_COUNTS, STATUS_COUNTS, WORKERS } from './sql/statusReport.ts';

export interface QueueStatus {
  queue: string;
  ready: number;
  /** READY whose run_after has passed. */
  due: number;
  running: number;
  waiting: number;
  failed: number;
  paused: boolean;
  reason: string | null;
}

export interface WorkerStatus {
  worker_id: string;
  hostname: string | null;
  concurrency: number | null;
  queues: string[];
  version: string | null;
  started_at: Date | null;
  last_seen_at: Date;
  /** Seen in the last two minutes (reproq-django's rule). */
  alive: boolean;
}

export interface StatusReport {
  /** Rows per status. */
  tasks: Record<string, number>;
  queues: QueueStatus[];
  workers: { alive: number; stale: number; list: WorkerStatus[] };
}

/** Exact counts per status and per queue (with pause state), and the registered workers. */
export async function statusReport(db: Db): Promise<StatusReport> {
  const [counts, queues, workers] = await Promise.all([
    db.query<{ status: string; n: number }>(STATUS_COUNTS),
    db.query<QueueStatus>(QUEUE_COUNTS),
    db.query<WorkerStatus>(WORKERS),
  ]);
  const alive = workers.rows.filter((w) => w.alive).length;
  return {
    tasks: Object.fromEntries(counts.rows.map((r) => [r.status, r.n])),
    queues: queues.rows,
    workers: { alive, stale: workers.rows.length - alive, list: workers.rows },
  };
}
