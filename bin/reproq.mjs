#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx reproq` works in a fresh clone with no build step
// and `--tasks ./tasks.ts` can load a user's TypeScript tasks module.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
