import type { Db } from '../db/types.ts';
import { TaskNotFoundError } from '../errors.ts';
import type { JsonValue } from '../spec/canonical.ts';
import { GET_TASK } from '../sql/getTask.ts';
import { resultIdOf } from './id.ts';

/** The chord bookkeeping row (`workflow_runs`) a task belongs to. */
export interface WorkflowRun {
  workflow_id: string;
  status: string;
  expected_count: number;
  success_count: number;
  failure_count: number;
  callback_result_id: number | null;
}

/**
 * A task as `getTask` reads it. Names are the `task_runs` columns, as reproq-django's TaskRun and the
 * Go worker call them; `args`/`kwargs` come from spec_json, `workflow` from workflow_runs (null for plain
 * tasks, chains and groups, which have no such row).
 */
export interface TaskView {
  result_id: number;
  task_path: string | null;
  queue_name: string;
  status: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_seconds: number;
  enqueued_at: Date;
  run_after: Date | null;
  started_at: Date | null;
  last_attempted_at: Date | null;
  finished_at: Date | null;
  failed_at: Date | null;
  updated_at: Date;
  expires_at: Date | null;
  args: JsonValue | null;
  kwargs: JsonValue | null;
  /** What the handler returned (SUCCESSFUL), else null. */
  return_json: JsonValue | null;
  /** One entry per failed attempt (upstream's shapes: at, kind, message, …), oldest first. */
  errors_json: JsonValue[];
  last_error: string | null;
  leased_by: string | null;
  leased_until: Date | null;
  cancel_requested: boolean;
  worker_ids: JsonValue;
  logs_uri: string | null;
  lock_key: string | null;
  concurrency_key: string | null;
  concurrency_limit: number;
  spec_hash: string;
  metadata_json: JsonValue;
  workflow_id: string | null;
  parent_id: number | null;
  wait_count: number;
  workflow: WorkflowRun | null;
}

type Row = Omit<TaskView, 'workflow'> & {
  workflow_status: string | null;
  workflow_expected_count: number | null;
  workflow_success_count: number | null;
  workflow_failure_count: number | null;
  workflow_callback_result_id: number | null;
};

/** Reads one task: status, result, errors, attempts, timestamps and workflow. Throws TaskNotFoundError. */
export async function getTask(db: Db, id: number): Promise<TaskView> {
  const resultId = resultIdOf(id);
  const row = (await db.query<Row>(GET_TASK, [resultId])).rows[0];
  if (!row) throw new TaskNotFoundError(resultId);
  const {
    workflow_status,
    workflow_expected_count,
    workflow_success_count,
    workflow_failure_count,
    workflow_callback_result_id,
    ...task
  } = row;
  return {
    ...task,
    workflow:
      workflow_status === null
        ? null
        : {
            workflow_id: task.workflow_id!,
            status: workflow_status,
            expected_count: workflow_expected_count ?? 0,
            success_count: workflow_success_count ?? 0,
            failure_count: workflow_failure_count ?? 0,
            callback_result_id: workflow_callback_result_id,
          },
  };
}
