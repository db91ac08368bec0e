/**
 * `npm run demo`: the queue end to end on embedded PGlite — migrate, enqueue a mix of tasks,
 * drain them within a budget, and show what the database now holds.
 */
import { pgliteDb } from '../db/pglite.ts';
import { enqueueMany } from '../enqueue.ts';
import { drain } from '../drain.ts';
import { silentLogger } from '../logger.ts';
import { migrate } from '../migrate.ts';
import { registryFromModule } from '../tasks/registry.ts';
import * as tasks from './tasks.ts';

const db = await pgliteDb({});
try {
  const { applied } = await migrate(db);
  console.log(`migrated an in-memory PGlite database (${applied.length} migrations)`);

  const enqueued = await enqueueMany(db, [
    ...['ada@example.com', 'grace@example.com', 'ada@example.com'].map((to) => ({
      taskPath: 'tasks.send_email',
      kwargs: { to, subject: 'hello' },
    })),
    { taskPath: 'tasks.send_email', kwargs: { to: 'not-an-address', subject: 'oops' } },
    { taskPath: 'tasks.flaky', maxAttempts: 2 },
    ...[320, 640, 1280].map((w) => ({ taskPath: 'tasks.resize_image', args: ['cat.png', w], priority: 10 })),
    { taskPath: 'tasks.generate_report', timeoutSeconds: 1, maxAttempts: 1 },
  ]);
  const dups = enqueued.filter((r) => r.deduplicated).length;
  console.log(`enqueued ${enqueued.length} tasks in one statement (${dups} deduplicated onto an active row)\n`);

  const summary = await drain(
    { db, registry: registryFromModule(tasks), logger: silentLogger },
    { budgetMs: 10_000, concurrency: 4, batchSize: 10, allowedTaskModules: ['tasks.'] },
  );
  console.log('drain summary:');
  console.table([summary]);

  const rows = await db.query<{ result_id: number; task_path: string; status: string; attempts: number; outcome: string }>(
    `SELECT result_id, task_path, status, attempts,
            COALESCE(return_json::text, last_error, errors_json->-1->>'message', '') AS outcome
     FROM task_runs ORDER BY result_id`,
  );
  console.log('task_runs:');
  console.table(rows.rows);
  console.log(
  [
    'tasks.flaky waits in READY for its 30 s backoff (upstream: min(30·2^(n−1), 3600) s);',
    'the bad address failed its zod schema (terminal invalid_spec); the report hit its 1 s timeout.',
  ].join('\n'),
);
} finally {
  await db.close();
}
