#!/usr/bin/env sh
':' //; exec node -- "$0" "$@"
// Executed directly, the line above re-runs this file as `node -- <file> <args>` in the same process (exec):
// Node 20 reads a `--env-file` anywhere before `--` as its own option and dies ("not found", exit 9)
// before any script runs, which broke `reproq systemd --env-file FILE`. Node ignores both lines as JS.
//
// The CLI as compiled JavaScript (dist/, built by `npm run build`; a clone's `npm install` runs it).
// A TypeScript tasks module (--tasks tasks.ts) is loaded through tsx when it is installed.
try {
  await import('../dist/src/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/cli/main.js')) throw err;
  console.error('reproq: dist/ is missing; in a clone of the repository, run `npm run build` first');
  process.exitCode = 1;
}
