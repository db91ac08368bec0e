// The CLI from its TypeScript sources, so the tests exercise the code in the tree, never a stale dist/.
import { register } from 'tsx/esm/api';

register();
await import('../../src/cli/main.ts');
