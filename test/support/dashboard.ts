import type { Db } from '../../src/db/types.ts';

/**
 * A queue database with something in every dashboard view, written as other clients would write
 * rows (plain SQL). Finished tasks sit in minutes 0..54 of the last hour, 5 s into each minute, so
 * the hour's totals hold for several minutes after seeding. The numbers the pages should show are
 * in SEEDED.
 */

/** Successes per minute `m` (0 = the current minute) for each queue. */
const perMinute: Record<string, (m: number) => number> = {
  default: (m) => 14 + Math.round(8 * Math.sin(m / 5)),
  emails: (m) => 6 + (m % 4),
  reports: (m) => (m >= 30 ? 3 : 0),
};
const MINUTES = 55;
const sumOver = (f: (m: number) => number) => Array.from({ length: MINUTES }, (_, m) => f(m)).reduce((a, b) => a + b, 0);

export const SEEDED = {
  queues: ['default', 'emails', 'reports', 'webhooks'],
  default: { ready: 9, due: 7, running: 3, succeededHour: sumOver(perMinute.default!), failedHour: 4 },
  emails: { ready: 8, due: 3, retrying: 5, succeededHour: sumOver(perMinute.emails!), failedHour: 2 },
  reports: { ready: 12, due: 12, paused: true, succeededHour: sumOver(perMinute.reports!) },
  /** A chain (done, RUNNING, WAITING) and a chord (two members done, one READY, the callback WAITING). */
  webhooks: { ready: 1, running: 1, waiting: 2 },
  /** FAILED rows in all: the hour's six and 55 older ones in default. */
  failedTotal: 4 + 2 + 55,
  /** The failed task with a traceback in each of its three attempts. */
  traced: { taskPath: 'billing.charge_card', exception: 'CardDeclined', logsUri: 'https://logs.example.com/run/8731' },
  periodic: { names: ['nightly-report', 'hourly-sync', 'weekly-digest', 'cleanup'], overdue: 'hourly-sync', disabled: 'weekly-digest' },
  workers: { ids: ['worker-a1', 'edge/drain', 'worker-old'], alive: 2 },
  chain: { length: 3 },
  chord: { members: 3 },
} as const;

const hash = `md5(random()::text) || md5(random()::text)`;
const spec = (path: string, queue: string) =>
  `jsonb_build_object('task_path', '${path}', 'args', jsonb_build_array(g), 'kwargs', jsonb_build_object('id', g), 'queue_name', '${queue}')`;

/** INSERT of `n` rows (g = 1..n) of `path` in `queue`, with the other columns as SQL expressions of g. */
function insert(n: number, queue: string, path: string, cols: Record<string, string>): string {
  const names = ['queue_name', 'task_path', 'spec_json', 'spec_hash', ...Object.keys(cols)];
  const values = [`'${queue}'`, `'${path}'`, spec(path, queue), hash, ...Object.values(cols)];
  return `INSERT INTO task_runs (${names.join(', ')}) SELECT ${values.join(', ')} FROM generate_series(1, ${n}) g`;
}

const appError = (attempt: number, cls: string, message: string, ago: string) => `jsonb_build_object(
  'kind', 'app_error', 'attempt', ${attempt}, 'exception_class', '${cls}', 'message', '${message}',
  'traceback', 'Traceback (most recent call last):' || chr(10) || '  File "billing/tasks.py", line 42, in charge_card' || chr(10) ||
    '    gateway.charge(card, amount)' || chr(10) || '  File "billing/gateway.py", line 118, in charge' || chr(10) ||
    '    raise ${cls}(response.reason)' || chr(10) || '${cls}: ${message}',
  'worker_id', 'worker-a1', 'at', to_char((NOW() - interval '${ago}') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))`;

export async function seedDashboard(db: Db): Promise<void> {
  const statements: string[] = [];
  // Finished in the last hour, per minute.
  for (const [queue, f] of Object.entries(perMinute)) {
    for (let m = 0; m < MINUTES; m++) {
      const n = f(m);
      if (n === 0) continue;
      const at = `NOW() - make_interval(secs => ${m * 60 + 5})`;
      statements.push(
        insert(n, queue, queue === 'emails' ? 'mail.send_welcome' : queue === 'reports' ? 'reports.build' : 'orders.sync', {
          status: `'SUCCESSFUL'`,
          enqueued_at: `${at} - interval '3 seconds'`,
          started_at: `${at} - interval '2 seconds'`,
          last_attempted_at: `${at} - interval '2 seconds'`,
          finished_at: at,
          attempts: '1',
          return_json: `jsonb_build_object('ok', true, 'n', g)`,
        }),
      );
    }
  }
  statements.push(
    insert(7, 'default', 'orders.sync', { enqueued_at: `NOW() - make_interval(mins => g + 5)` }),
    insert(2, 'default', 'orders.sync', { run_after: `NOW() + interval '1 hour'` }),
    insert(3, 'default', 'orders.import', {
      status: `'RUNNING'`,
      attempts: '1',
      started_at: `NOW() - interval '20 seconds'`,
      last_attempted_at: `NOW() - interval '20 seconds'`,
      leased_by: `'worker-a1'`,
      leased_until: `NOW() + interval '5 minutes'`,
      worker_ids: `'["worker-a1"]'::jsonb`,
    }),
    insert(3, 'default', 'orders.sync', {
      status: `'FAILED'`,
      attempts: '3',
      finished_at: `NOW() - make_interval(mins => g * 7)`,
      failed_at: `NOW() - make_interval(mins => g * 7)`,
      last_error: `'TimeoutError: upstream took longer than 30 s'`,
      errors_json: `jsonb_build_array(jsonb_build_object('kind', 'app_error', 'attempt', 3, 'exception_class', 'TimeoutError', 'message', 'upstream took longer than 30 s', 'traceback', ''))`,
    }),
    insert(1, 'default', SEEDED.traced.taskPath, {
      status: `'FAILED'`,
      attempts: '3',
      finished_at: `NOW() - interval '2 minutes'`,
      failed_at: `NOW() - interval '2 minutes'`,
      last_error: `'${SEEDED.traced.exception}: insufficient funds'`,
      logs_uri: `'${SEEDED.traced.logsUri}'`,
      worker_ids: `'["worker-a1", "worker-a1", "edge/drain"]'::jsonb`,
      errors_json: `jsonb_build_array(${appError(1, SEEDED.traced.exception, 'do not honor', '9 minutes')}, ${appError(2, SEEDED.traced.exception, 'do not honor', '6 minutes')}, ${appError(3, SEEDED.traced.exception, 'insufficient funds', '2 minutes')})`,
    }),
    insert(55, 'default', 'orders.sync', {
      status: `'FAILED'`,
      attempts: '3',
      finished_at: `NOW() - make_interval(hours => g + 1)`,
      failed_at: `NOW() - make_interval(hours => g + 1)`,
      last_error: `'ValueError: order ' || g || ' has no lines'`,
    }),
    insert(3, 'emails', 'mail.send_welcome', { enqueued_at: `NOW() - make_interval(mins => g)` }),
    insert(5, 'emails', 'mail.send_welcome', {
      attempts: '1',
      run_after: `NOW() + make_interval(mins => g + 1)`,
      started_at: `NOW() - interval '1 minute'`,
      last_attempted_at: `NOW() - make_interval(secs => 60 + g)`,
      errors_json: `jsonb_build_array(jsonb_build_object('kind', 'app_error', 'attempt', 1, 'exception_class', 'SMTPServerDisconnected', 'message', 'Connection unexpectedly closed', 'traceback', 'Traceback (most recent call last):' || chr(10) || 'SMTPServerDisconnected: Connection unexpectedly closed'))`,
    }),
    insert(2, 'emails', 'mail.send_digest', {
      status: `'FAILED'`,
      attempts: '5',
      max_attempts: '5',
      finished_at: `NOW() - make_interval(mins => g * 11)`,
      failed_at: `NOW() - make_interval(mins => g * 11)`,
      last_error: `'SMTPRecipientsRefused: mailbox unavailable'`,
    }),
    insert(12, 'reports', 'reports.build', { enqueued_at: `NOW() - make_interval(mins => 40 - g)` }),
    `INSERT INTO reproq_queue_controls (queue_name, paused, paused_at, reason) VALUES ('reports', TRUE, NOW() - interval '25 minutes', 'warehouse maintenance')`,
    // A chain: the first step done, the second running, the third WAITING on it.
    `WITH wf AS (SELECT '7d3c9a2e-4f1b-4c8e-9a6d-2b5e8f1c0a11'::uuid AS id),
     a AS (INSERT INTO task_runs (queue_name, task_path, spec_json, spec_hash, status, attempts, finished_at, workflow_id)
           SELECT 'webhooks', 'hooks.fetch', '{"task_path":"hooks.fetch","args":[],"kwargs":{}}', ${hash}, 'SUCCESSFUL', 1, NOW() - interval '1 minute', id FROM wf
           RETURNING result_id, workflow_id),
     b AS (INSERT INTO task_runs (queue_name, task_path, spec_json, spec_hash, status, attempts, leased_by, leased_until, parent_id, workflow_id)
           SELECT 'webhooks', 'hooks.transform', '{"task_path":"hooks.transform","args":[],"kwargs":{}}', ${hash}, 'RUNNING', 1, 'edge/drain', NOW() + interval '1 minute', result_id, workflow_id FROM a
           RETURNING result_id, workflow_id)
     INSERT INTO task_runs (queue_name, task_path, spec_json, spec_hash, status, wait_count, parent_id, workflow_id)
     SELECT 'webhooks', 'hooks.deliver', '{"task_path":"hooks.deliver","args":[],"kwargs":{}}', ${hash}, 'WAITING', 1, result_id, workflow_id FROM b`,
    // A chord: three members (two done), the callback WAITING for the third.
    `WITH cb AS (INSERT INTO task_runs (queue_name, task_path, spec_json, spec_hash, status, wait_count, workflow_id)
           VALUES ('webhooks', 'reports.merge', '{"task_path":"reports.merge","args":[],"kwargs":{}}', ${hash}, 'WAITING', 3, 'c0ffee00-1111-4222-8333-444455556666')
           RETURNING result_id, workflow_id),
     members AS (INSERT INTO task_runs (queue_name, task_path, spec_json, spec_hash, status, attempts, finished_at, workflow_id)
           SELECT 'webhooks', 'reports.part', jsonb_build_object('task_path', 'reports.part', 'args', jsonb_build_array(g), 'kwargs', '{}'::jsonb), ${hash},
                  CASE WHEN g < 3 THEN 'SUCCESSFUL' ELSE 'READY' END, CASE WHEN g < 3 THEN 1 ELSE 0 END,
                  CASE WHEN g < 3 THEN NOW() - interval '3 hours' END, cb.workflow_id
           FROM cb, generate_series(1, 3) g
           RETURNING 1)
     INSERT INTO workflow_runs (workflow_id, expected_count, success_count, failure_count, callback_result_id, status)
     SELECT workflow_id, 3, 2, 0, result_id, 'RUNNING' FROM cb WHERE (SELECT count(*) FROM members) = 3`,
    `INSERT INTO periodic_tasks (name, cron_expr, task_path, queue_name, next_run_at, last_run_at, enabled) VALUES
       ('nightly-report', '0 2 * * *', 'reports.build', 'reports', date_trunc('day', NOW()) + interval '1 day 2 hours', date_trunc('day', NOW()) + interval '2 hours' - interval '1 day', TRUE),
       ('hourly-sync', '0 * * * *', 'orders.sync', 'default', NOW() - interval '10 minutes', NOW() - interval '70 minutes', TRUE),
       ('weekly-digest', '0 9 * * 1', 'mail.send_digest', 'emails', NOW() + interval '3 days', NULL, FALSE),
       ('cleanup', '*/15 * * * *', 'maintenance.cleanup', 'default', NOW() + interval '4 minutes', NOW() - interval '11 minutes', TRUE)`,
    `INSERT INTO reproq_workers (worker_id, hostname, concurrency, queues, version, started_at, last_seen_at) VALUES
       ('worker-a1', 'app-1.internal', 10, '["default", "emails"]', 'reproq-edge 0.1.0', NOW() - interval '3 hours', NOW() - interval '12 seconds'),
       ('edge/drain', 'edge', 8, '["default", "emails", "reports", "webhooks"]', 'reproq-edge 0.1.0', NOW() - interval '1 minute', NOW() - interval '40 seconds'),
       ('worker-old', 'app-2.internal', 4, '["reports"]', 'reproq-worker 0.9.2', NOW() - interval '2 days', NOW() - interval '1 day')`,
    'ANALYZE task_runs',
  );
  for (const sql of statements) await db.query(sql);
}
