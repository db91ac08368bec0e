/**
 * A user's Vercel module: the handlers, built once with the app's tasks. Each file under
 * api/reproq/ re-exports them in one line (see api/reproq/drain.ts), and vercel.json schedules
 * the crons and sets maxDuration (the root vercel.json).
 */
import { registryFromModule } from '../../src/tasks/registry.ts';
import * as tasks from '../../src/demo/tasks.ts';
import { createVercelHandlers } from '../vercel.ts';

export const { GET, POST, PUT, DELETE } = createVercelHandlers(registryFromModule(tasks), { maxDurationSeconds: 60 });
