import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod/mini';
import type { BeatSummary } from '../src/beat.ts';
import type { DrainSummary } from '../src/drain.ts';
import { BeatSummarySchema, DrainSummarySchema, ErrorBodySchema, ReclaimSummarySchema, StatsSchema } from '../src/http/api.ts';
import { createApp } from '../src/http/app.ts';
import { ENDPOINTS } from '../src/http/endpoints.ts';
import type { ErrorBody } from '../src/http/errors.ts';
import { openApiDocument } from '../src/http/openapi.ts';
import { ROUTES } from '../src/http/task-routes.ts';
import { silentLogger } from '../src/logger.ts';
import type { renderStats } from '../src/metrics/stats.ts';
import type { PeriodicTask } from '../src/periodic.ts';
import type { QueueControl } from '../src/queues.ts';
import type { ReclaimSummary } from '../src/reclaim.ts';
import type { CancelResult } from '../src/runs/cancel.ts';
import type { FailedTask } from '../src/runs/failed.ts';
import type { TaskView } from '../src/runs/get.ts';
import type { ReplayResult } from '../src/runs/replay.ts';
import type { RetryResult } from '../src/runs/retry.ts';
import { useTestDb } from './support/db.ts';
import { bearer, httpConfig, METRICS, testRegistry, TOKEN } from './support/http.ts';
import { documentChecker } from './support/openapi.ts';

const t = useTestDb('pg', 'task_runs');
/** A core answer as JSON carries it: Dates become ISO text. */
type Json<T> = T extends Date ? string : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
const config = (env: Record<string, string> = {}, maxBatchSize?: number) => {
  const c = httpConfig({ METRICS_AUTH_TOKEN: METRICS, ...env });
  return maxBatchSize ? { ...c, http: { ...c.http, max_batch_size: maxBatchSize } } : c;
};

describe('the OpenAPI document', () => {
  it.each([
    ['the default config', config()],
    ['a route prefix and other caps', config({ REPROQ_ROUTE_PREFIX: '/reproq' }, 20)],
  ])('is valid OpenAPI 3.1 with %s, every $ref resolves and every schema compiles', async (_name, cfg) => {
    const doc = openApiDocument(cfg);
    const validator = new Validator();
    // The validator keeps what it is given; a copy leaves `doc` as the app serves it.
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect([result.valid, validator.version]).toEqual([true, '3.1']);
    expect(() => validator.resolveRefs()).not.toThrow();
    expect(documentChecker(doc).compileAll()).toBeGreaterThan(20);
  });

  it('describes every route the app serves, each with an answer and its credentials', () => {
    const app = createApp({ config: config({ REPROQ_ROUTE_PREFIX: '/reproq' }), registry: testRegistry(), db: t.db, logger: silentLogger });
    const served = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/^\/reproq/, '')}`));
    const doc = openApiDocument(config());
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    // The dashboard's HTML pages are not part of the JSON API.
    expect([...served].filter((r) => !r.includes(' /dashboard')).sort()).toEqual(documented.sort());
    expect(documented).toHaveLength(Object.keys(ENDPOINTS).length);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops) as [string, any][]) {
        expect(op.responses, `${method} ${path}`).toHaveProperty(method === 'post' && ['/enqueue', '/tasks/{id}/replay'].includes(path) ? '201' : '200');
        expect(op.security.length > 0, `${method} ${path}`).toBe(path !== '/openapi.json');
      }
    }
  });

  it('carries the deployment caps and prefix, and the input schemas field by field', () => {
    const doc = openApiDocument(config({ REPROQ_ROUTE_PREFIX: '/reproq' }, 20));
    expect(doc.servers).toEqual([{ url: '/reproq' }]);
    expect(doc.components.schemas.DrainRequest).toMatchObject({ properties: { batchSize: { type: 'integer', minimum: 1, maximum: 20 } }, additionalProperties: false });
    expect(doc.components.schemas.EnqueueRequest).toMatchObject({ anyOf: [{ $ref: '#/components/schemas/EnqueueInput' }, { type: 'array', maxItems: 20 }] });
    expect(doc.components.schemas.EnqueueInput).toMatchObject({
      required: ['taskPath'],
      additionalProperties: false,
      // The custom input schemas (src/storable.ts) say how they travel in JSON.
      properties: { queue: { default: 'default' }, args: { type: 'array' }, expiresAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] } },
    });
  });

  it('is served at /openapi.json under the prefix without credentials, but not by the metrics-only listener', async () => {
    const app = createApp({ config: config({ REPROQ_ROUTE_PREFIX: '/reproq' }), registry: testRegistry(), db: t.db, logger: silentLogger });
    const res = await app.request('/reproq/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument(config({ REPROQ_ROUTE_PREFIX: '/reproq' })))));
    const metricsOnly = createApp({ config: config(), registry: testRegistry(), db: t.db, logger: silentLogger, only: 'metrics' });
    expect((await metricsOnly.request('/openapi.json', { headers: bearer(TOKEN) })).status).toBe(404);
  });

  it("documents answers in the core's own types", () => {
    // The route schemas are written beside the core's interfaces: a field added to one must reach the other.
    expectTypeOf<Omit<DrainSummary, 'error' | 'errorKind'>>().toEqualTypeOf<z.output<typeof DrainSummarySchema>>();
    expectTypeOf<BeatSummary>().toEqualTypeOf<z.output<typeof BeatSummarySchema>>();
    expectTypeOf<ReclaimSummary>().toEqualTypeOf<z.output<typeof ReclaimSummarySchema>>();
    expectTypeOf<ErrorBody>().toEqualTypeOf<z.output<typeof ErrorBodySchema>>();
    expectTypeOf<ReturnType<typeof renderStats>>().toExtend<z.output<typeof StatsSchema>>();
    // The domain answers carry Dates, which JSON sends as text: the same fields, each of a type the schema allows.
    expectTypeOf<keyof Json<TaskView>>().toEqualTypeOf<keyof z.output<typeof ROUTES.getTask.response>>();
    expectTypeOf<Json<TaskView>>().toExtend<z.output<typeof ROUTES.getTask.response>>();
    expectTypeOf<keyof Json<FailedTask>>().toEqualTypeOf<keyof z.output<typeof ROUTES.listFailed.response>['tasks'][number]>();
    expectTypeOf<Json<FailedTask>>().toExtend<z.output<typeof ROUTES.listFailed.response>['tasks'][number]>();
    expectTypeOf<CancelResult>().toEqualTypeOf<z.output<typeof ROUTES.cancel.response>>();
    expectTypeOf<RetryResult>().toEqualTypeOf<z.output<typeof ROUTES.retry.response>>();
    expectTypeOf<ReplayResult>().toEqualTypeOf<z.output<typeof ROUTES.replay.response>>();
    expectTypeOf<Json<QueueControl>>().toEqualTypeOf<z.output<typeof ROUTES.pause.response>>();
    expectTypeOf<keyof Json<PeriodicTask>>().toEqualTypeOf<keyof z.output<typeof ROUTES.enablePeriodic.response>>();
    expectTypeOf<Json<PeriodicTask>>().toExtend<z.output<typeof ROUTES.enablePeriodic.response>>();
  });
});
