#!/usr/bin/env sh
':' //; exec node -- "$0" "$@"
// Executed directly, the line above re-runs this file as `node -- <file> <args>` in the same process (exec):
// Node 20 reads a `--env-file` anywhere before `--` as its own option and dies ("not found", exit 9)
// before any script runs, which broke `reproq systemd --env-file FILE`. Node ignores both lines as JS.
//
// Runs the TypeScript CLI through tsx, so `npx reproq` works in a fresh clone with no build step
// and `--tasks ./tasks.ts` can load a user's TypeScript tasks module. No child process: signals reach
// the CLI itself.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
