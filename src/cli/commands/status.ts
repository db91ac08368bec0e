import type { Command } from 'commander';
import { statusReport, type StatusReport } from '../../status.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

export function registerStatus(program: Command): void {
  withDbFlags(
    program.command('status').alias('stats').description('task counts by status, queues (with paused ones) and workers alive (seen in the last 2 minutes)'),
  )
    .option('--json', 'print the report as JSON')
    .action(async (flags: DbFlags & { json?: boolean }) => {
      await withDb(flags, async (db) => {
        const report = await statusReport(db);
        output(flags.json, report, () => formatStatus(report));
      });
    });
}

function formatStatus(r: StatusReport): string {
  const lines = ['Tasks by status:'];
  const statuses = Object.entries(r.tasks);
  if (statuses.length === 0) lines.push('  (no tasks)');
  for (const [status, n] of statuses) lines.push(`  ${status.padEnd(12)} ${n}`);
  lines.push('', 'Queues:');
  if (r.queues.length === 0) lines.push('  (none)');
  for (const q of r.queues) {
    const paused = q.paused ? `  PAUSED${q.reason ? ` (${q.reason})` : ''}` : '';
    lines.push(`  ${q.queue.padEnd(20)} ready ${q.ready} (due ${q.due})  running ${q.running}  waiting ${q.waiting}  failed ${q.failed}${paused}`);
  }
  lines.push('', `Workers alive: ${r.workers.alive} (stale: ${r.workers.stale})`);
  for (const w of r.workers.list.filter((x) => x.alive)) {
    lines.push(`  - ${w.worker_id} (${w.hostname ?? '?'}) queues ${(w.queues ?? []).join(',')} concurrency ${w.concurrency ?? '?'}`);
  }
  return lines.join('\n');
}
