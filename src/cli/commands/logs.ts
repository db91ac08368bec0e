import { existsSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ReproqError } from '../../errors.ts';
import { int, resultId } from '../args.ts';
import { output, withDb, withDbFlags, type DbFlags } from '../context.ts';

export function registerLogs(program: Command): void {
  withDbFlags(program.command('logs').description("print a task's captured log (logs_uri: a file path or an http(s) URL)"))
    .requiredOption('--id <result_id>', 'task whose log to show', resultId)
    .option('--tail <n>', 'last N lines (0: all)', int(0), 200)
    .option('--max-bytes <n>', 'read at most this many bytes (the last of a file, the first of a URL)', int(1), 1_000_000)
    .option('--show-path', 'print the logs_uri only')
    .option('--json', 'print {resultId, logsUri, lines} as JSON')
    .action(async (flags: DbFlags & { id: number; tail: number; maxBytes: number; showPath?: boolean; json?: boolean }) => {
      const uri = await withDb(flags, async (db) => {
        const r = await db.query<{ logs_uri: string | null }>('SELECT logs_uri FROM task_runs WHERE result_id = $1', [flags.id]);
        if (!r.rows[0]) throw new ReproqError(`task run ${flags.id} not found`);
        return r.rows[0].logs_uri;
      });
      if (!uri) {
        output(flags.json, { resultId: flags.id, logsUri: null, lines: [] }, () => 'No logs_uri recorded for this task run.');
        return;
      }
      if (flags.showPath) {
        output(flags.json, { resultId: flags.id, logsUri: uri }, () => uri);
        return;
      }
      const text = await readLog(uri, flags.maxBytes);
      let lines = text.split(/\r?\n/);
      if (lines.at(-1) === '') lines.pop();
      if (flags.tail > 0) lines = lines.slice(-flags.tail);
      output(flags.json, { resultId: flags.id, logsUri: uri, lines }, () => (lines.length ? lines.join('\n') : '(no log output)'));
    });
}

/** Upstream's reader: an existing path or file:// URI (last bytes), or http(s) (first bytes); UTF-8 with replacement. */
async function readLog(uri: string, maxBytes: number): Promise<string> {
  if (existsSync(uri)) return tailOfFile(uri, maxBytes);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase() ?? '';
  if (scheme === '' || scheme === 'file') {
    const file = scheme === 'file' ? fileURLToPath(uri) : uri;
    if (!existsSync(file)) throw new ReproqError(`log path not found: ${file}`);
    return tailOfFile(file, maxBytes);
  }
  if (scheme === 'http' || scheme === 'https') {
    const res = await fetch(uri);
    if (!res.ok || !res.body) throw new ReproqError(`fetching ${uri} failed: HTTP ${res.status}`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size >= maxBytes) break;
    }
    return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes));
  }
  throw new ReproqError(`unsupported logs_uri scheme: ${scheme}`);
}

function tailOfFile(file: string, maxBytes: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return new TextDecoder().decode(buf);
  } finally {
    closeSync(fd);
  }
}
