import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TaskLog } from '../drain.ts';

/**
 * The drain's log sink for `--logs-dir`/REPROQ_LOGS_DIR: upstream's file name, format and modes (directory
 * 0700, file 0600, an earlier file of the same attempt truncated). Returns the absolute path for logs_uri, so
 * `reproq logs` finds it from any working directory.
 */
export function fileLogSink(dir: string): (log: TaskLog) => Promise<string> {
  const root = path.resolve(dir);
  return async ({ resultId, attempt, stdout, stderr }) => {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const file = path.join(root, `task-${resultId}-attempt-${attempt}.log`);
    const nl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
    await writeFile(file, `STDOUT:\n${nl(stdout)}STDERR:\n${nl(stderr)}`, { mode: 0o600 });
    return file;
  };
}
