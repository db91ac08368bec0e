#!/usr/bin/env node
// The CLI as compiled JavaScript (dist/, built by `npm run build`; a clone's `npm install` runs it).
// A TypeScript tasks module (--tasks tasks.ts) is loaded through tsx when it is installed.
try {
  await import('../dist/src/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/cli/main.js')) throw err;
  console.error('reproq: dist/ is missing; in a clone of the repository, run `npm run build` first');
  process.exitCode = 1;
}
