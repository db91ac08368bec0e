/**
 * A user's Worker: import the tasks, hand the registry to the factory, export the result.
 * wrangler bundles this file with everything it imports (wrangler.toml `main`). In an app,
 * the imports are `reproq-edge/cloudflare` and the app's own tasks module. To serve the operator's
 * dashboard too: `createCloudflareWorker(registry, { dashboard })`, `dashboard` from `reproq-edge/dashboard`.
 */
import { registryFromModule } from '../../src/tasks/registry.ts';
import * as tasks from '../../src/demo/tasks.ts';
import { createCloudflareWorker } from '../cloudflare.ts';

export default createCloudflareWorker(registryFromModule(tasks));
