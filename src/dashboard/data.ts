import type { Db } from '../db/types.ts';
import { collectMetrics, type MetricsSnapshot } from '../metrics/collect.ts';
import { listPeriodicTasks, type PeriodicTask } from '../periodic.ts';
import type { TaskView } from '../runs/get.ts';
import { TASK_DETAIL } from '../sql/taskDetail.ts';
import { TASK_WORKFLOW } from '../sql/taskWorkflow.ts';
import { THROUGHPUT_BY_MINUTE } from '../sql/throughputByMinute.ts';
import { FAILED_PAGE, RETRYING_PAGE } from '../sql/triagePage.ts';

/** What the dashboard reads: the core's metrics snapshot and periodic list, and a few bounded queries of its own. */

/** Minutes the throughput chart covers. */
export const CHART_MINUTES = 60;
/** Cap on the chart's rows (queues x minutes). */
const CHART_MAX_ROWS = 100 * CHART_MINUTES;
/** Rows in a metrics list (workers, periodic tasks) the dashboard asks for. */
const LIST_MAX_ROWS = 500;
/** Spec, result and metadata text shown per task, in characters. */
export const TEXT_CAP = 65_536;
/** errors_json entries shown per task, newest last. */
export const ERRORS_SHOWN = 20;
/** Workflow tasks listed per task page. */
export const WORKFLOW_TASKS_SHOWN = 100;
export const PAGE_SIZE = 50;

/** Per queue, tasks finished in each minute (index 0: the current minute). */
export type Throughput = Map<string, { succeeded: number[]; failed: number[] }>;

export interface Overview {
  metrics: MetricsSnapshot;
  throughput: Throughput;
}

export async function overview(db: Db): Promise<Overview> {
  const [metrics, rows] = await Promise.all([
    collectMetrics(db, { maxRows: LIST_MAX_ROWS }),
    db.query<{ queue_name: string; minute: number; succeeded: number; failed: number }>(THROUGHPUT_BY_MINUTE, [CHART_MINUTES, CHART_MAX_ROWS]),
  ]);
  const throughput: Throughput = new Map();
  for (const r of rows.rows) {
    if (r.minute >= CHART_MINUTES) continue;
    let q = throughput.get(r.queue_name);
    if (!q) throughput.set(r.queue_name, (q = { succeeded: Array(CHART_MINUTES).fill(0), failed: Array(CHART_MINUTES).fill(0) }));
    q.succeeded[r.minute] = r.succeeded;
    q.failed[r.minute] = r.failed;
  }
  return { metrics, throughput };
}

/** The workers list and summary come from the metrics snapshot (capped, most recently seen first). */
export function workers(db: Db): Promise<MetricsSnapshot> {
  return collectMetrics(db, { maxRows: LIST_MAX_ROWS });
}

export function periodic(db: Db): Promise<PeriodicTask[]> {
  return listPeriodicTasks(db);
}

export type TriageKind = 'failed' | 'retrying';

export interface TriageFilter {
  kind: TriageKind;
  queue?: string;
  taskPath?: string;
  /** The last row of the previous page: its time (ISO, or '' when it had none) and id. */
  after?: { at: string; id: string };
}

export interface TriageRow {
  result_id: string;
  queue_name: string;
  task_path: string | null;
  status: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  at: Date | null;
  /** `at` to the microsecond, for the next page's cursor. */
  cursor_at: string | null;
  run_after: Date | null;
}

/** One page and whether another follows (one extra row is read to know). */
export async function triagePage(db: Db, f: TriageFilter): Promise<{ rows: TriageRow[]; more: boolean }> {
  const res = await db.query<TriageRow>(f.kind === 'failed' ? FAILED_PAGE : RETRYING_PAGE, [
    PAGE_SIZE + 1,
    f.queue ?? null,
    f.taskPath ?? null,
    f.after?.at || null,
    f.after?.id ?? null,
  ]);
  // int8 columns come back as text or numbers depending on the driver.
  const rows = res.rows.slice(0, PAGE_SIZE).map((r) => ({ ...r, result_id: String(r.result_id) }));
  return { rows, more: res.rows.length > PAGE_SIZE };
}

/**
 * One task as the dashboard's page reads it: the columns `getTask` returns, with ids as text (the
 * page shows them, never computes with them) and the JSON columns as text cut to a page's worth, so
 * big numbers and huge payloads reach the page exactly and bounded.
 */
export type TaskDetail = Pick<
  TaskView,
  | 'task_path' | 'queue_name' | 'status' | 'priority' | 'attempts' | 'max_attempts' | 'timeout_seconds'
  | 'enqueued_at' | 'run_after' | 'started_at' | 'last_attempted_at' | 'finished_at' | 'failed_at' | 'expires_at'
  | 'leased_by' | 'leased_until' | 'cancel_requested' | 'lock_key' | 'concurrency_key' | 'concurrency_limit'
  | 'spec_hash' | 'logs_uri' | 'last_error' | 'workflow_id' | 'wait_count'
> & {
  result_id: string;
  parent_id: string | null;
  backend_alias: string;
  artifacts_uri: string | null;
  worker_ids: unknown;
  spec: string;
  spec_cut: boolean;
  result: string | null;
  result_cut: boolean | null;
  metadata: string;
  metadata_cut: boolean;
  error_count: number | null;
  errors: unknown[] | null;
  errors_text: string | null;
};

export interface WorkflowTask {
  result_id: string;
  parent_id: string | null;
  status: string;
  task_path: string | null;
  queue_name: string;
}

export interface Workflow {
  workflow_id: string | null;
  /** The chord's workflow_runs row, when there is one. */
  run: {
    workflow_id: string;
    expected_count: number;
    success_count: number;
    failure_count: number;
    callback_result_id: string | null;
    status: string;
  } | null;
  tasks: WorkflowTask[];
}

export async function task(db: Db, id: string): Promise<{ task: TaskDetail; workflow: Workflow } | undefined> {
  const [detail, wf] = await Promise.all([
    db.query<TaskDetail>(TASK_DETAIL, [id, TEXT_CAP, ERRORS_SHOWN]),
    db.query<Workflow>(TASK_WORKFLOW, [id, WORKFLOW_TASKS_SHOWN]),
  ]);
  const row = detail.rows[0];
  if (!row) return undefined;
  const parent = row.parent_id === null ? null : String(row.parent_id);
  return {
    task: { ...row, result_id: String(row.result_id), parent_id: parent },
    workflow: wf.rows[0] ?? { workflow_id: null, run: null, tasks: [] },
  };
}
