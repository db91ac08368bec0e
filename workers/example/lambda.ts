/**
 * A user's Lambda handler: the tasks are bundled in (scripts/build-lambda.ts, esbuild → CJS),
 * and serverless.yml points every function at `dist/lambda/handler.handler`.
 */
import { registryFromModule } from '../../src/tasks/registry.ts';
import * as tasks from '../../src/demo/tasks.ts';
import { createLambdaHandler } from '../lambda.ts';

export const handler = createLambdaHandler(registryFromModule(tasks));
