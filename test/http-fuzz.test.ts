import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/http/app.ts';
import { silentLogger } from '../src/logger.ts';
import { useTestDb } from './support/db.ts';
import { CRON, METRICS, TOKEN, dbSnapshot, httpConfig, testRegistry, tuiToken } from './support/http.ts';

/**
 * Every route with random bodies, headers and query strings: no 5xx for input the client
 * controls, and a refused request (4xx) leaves every queue table exactly as it was.
 */
const t = useTestDb('pg', 'task_runs, reproq_workers, periodic_tasks');

const ROUTES = [
  ['POST', '/drain'],
  ['POST', '/beat'],
  ['POST', '/reclaim'],
  ['POST', '/enqueue'],
  ['GET', '/tasks/:id'],
  ['GET', '/tasks/failed'],
  ['POST', '/tasks/failed/retry'],
  ['POST', '/tasks/:id/cancel'],
  ['POST', '/tasks/:id/retry'],
  ['POST', '/tasks/:id/replay'],
  ['GET', '/queues'],
  ['POST', '/queues/:id/pause'],
  ['GET', '/periodic'],
  ['PUT', '/periodic/:id'],
  ['POST', '/periodic/:id/disable'],
  ['DELETE', '/periodic/:id'],
  ['GET', '/metrics'],
  ['GET', '/stats'],
  ['GET', '/healthz'],
  ['GET', '/drain'],
  ['DELETE', '/enqueue'],
] as const;

const ascii = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
const KEYS = ['queues', 'batchSize', 'concurrency', 'budgetMs', 'olderThanSeconds', 'action', 'limit', 'dryRun', 'taskPath', 'args', 'kwargs', 'queue', 'priority', 'runAfter', 'maxAttempts', 'timeoutSeconds', 'lockKey', 'concurrencyKey', 'concurrencyLimit', 'expiresAt', 'expiresInSeconds', 'metadata', 'reason', 'cronExpr', 'enabled'];

const deep = (depth: number, wrap: (v: unknown) => unknown): unknown => Array.from({ length: depth }).reduce<unknown>((v) => wrap(v), 1);
// Strings a parser, a driver or PostgreSQL may choke on.
const oddText = fc.constantFrom(
  '\u0000', 'a\u0000b', '\\u0000', '\ud800', 'x\udfff', '\ufeff', '\u2028\u2029', '\u{10ffff}', '\u202e\u200f', 'é\u0301', '<>&"\'\\',
  'x'.repeat(600), '\u{1f600}'.repeat(300), 'k'.repeat(10_000),
);
// Numbers at the edges of int4, 2^53, float range and the time fields.
const edgeNumber = fc.constantFrom(
  0, -0, -1, 1, 1.5, 100, 101, 1000, 60_001, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 2 ** 63, -(2 ** 63),
  Number.MAX_SAFE_INTEGER, 1e12, 1e15, 8.64e15, 1e308, -1e308, 1e-300, 5e-324, 3_153_600_001,
);
// Instants and non-instants for runAfter / expiresAt.
const edgeTime = fc.constantFrom(
  '2030-01-01T00:00:00Z', '2025-01-01T12:00:00', '2025-01-01', '2025-01-01T12:00:00+02:00', '2025-01-01T12:00:00.123456Z',
  '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '0000-01-01T00:00:00Z', 'not-a-date', { delaySeconds: 1e300 },
);
// Values near the edges of each field's domain, plus anything JSON can say.
const value = fc.oneof(
  fc.json().map((s) => JSON.parse(s) as unknown),
  edgeNumber,
  oddText,
  edgeTime,
  fc.constantFrom(deep(2000, (v) => [v]), deep(150, (v) => ({ a: v })), { x: deep(99, (v) => [v]) }),
  fc.constantFrom('', ' ', 'default', 'tasks.echo', 'a b', '2030-01-01T00:00:00Z', true, false, null, [], {}, [2025], ['default'], ['', 'x'], { delaySeconds: -1 }, { delaySeconds: 1e12 }),
);
const objectBody = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), ascii), value, { maxKeys: 6 });
// Mostly-valid tasks, so the fuzz also reaches the database and not only the validators.
const mostly = <T,>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 4 }, value);
const task = fc.record(
  {
    taskPath: fc.constantFrom('tasks.echo', 'tasks.echo', 'tasks.unknown', 'myapp.tasks.x', ''),
    args: fc.array(fc.oneof({ arbitrary: fc.jsonValue(), weight: 4 }, value), { maxLength: 3 }),
    kwargs: fc.dictionary(fc.oneof(ascii, oddText), fc.oneof({ arbitrary: fc.jsonValue(), weight: 4 }, value), { maxKeys: 2 }),
    queue: fc.constantFrom('default', 'default', 'other', 'a b', ''),
    priority: mostly(fc.integer({ min: -100, max: 100 })),
    runAfter: mostly(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString())),
    lockKey: fc.oneof(ascii, fc.constant(null), oddText),
    maxAttempts: mostly(fc.integer({ min: 1, max: 1000 })),
    concurrencyLimit: mostly(fc.integer({ min: 0, max: 10 })),
    expiresAt: mostly(edgeTime),
    expiresInSeconds: mostly(fc.integer({ min: 1, max: 86_400 })),
    metadata: mostly(fc.dictionary(ascii, fc.oneof(fc.jsonValue(), oddText, edgeNumber), { maxKeys: 2 })),
  },
  { requiredKeys: ['taskPath', 'args'] },
);
const body = fc.oneof(
  { arbitrary: task.map((o) => JSON.stringify(o)), weight: 3 },
  { arbitrary: fc.array(task, { minLength: 1, maxLength: 4 }).map((a) => JSON.stringify(a)), weight: 2 },
  objectBody.map((o) => JSON.stringify(o)),
  fc.array(objectBody, { maxLength: 4 }).map((a) => JSON.stringify(a)),
  fc.constantFrom(JSON.stringify({ taskPath: 'tasks.echo', args: [1] }), '{', '[]', 'null', '""', '{"taskPath":"tasks.echo","args":"x"}'),
  ascii,
  fc.constant(undefined),
);
const query = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), ascii.filter((s) => s.length > 0)), fc.oneof(ascii, fc.constantFrom('1', '0', '-5', '501', 'true', 'default,x', '1e3')), { maxKeys: 4 });

describe('fuzzing every route', () => {
  it('never answers 5xx to client input, and a refused request writes nothing', async () => {
    const app = createApp({
      config: httpConfig({ CRON_SECRET: CRON, METRICS_AUTH_TOKEN: METRICS, METRICS_AUTH_LIMIT: '1000000' }),
      registry: testRegistry(),
      db: t.db,
      logger: silentLogger,
    });
    const jwt = await tuiToken(METRICS);
    const authorization = fc.oneof(
      { arbitrary: fc.constant(`Bearer ${TOKEN}`), weight: 6 },
      fc.constantFrom(`Bearer ${TOKEN}`, `Bearer ${CRON}`, `Bearer ${METRICS}`, `Bearer ${jwt}`, 'Bearer', 'Bearer x.y.z', `bearer ${TOKEN}`, `Basic ${TOKEN}`),
      ascii.map((s) => `Bearer ${s}`),
      ascii,
    );
    const headers = fc.record(
      {
        authorization,
        'content-type': fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json', ''),
        'x-forwarded-for': ascii,
        'content-length': fc.constantFrom('0', '1', '99999999', '-1'),
      },
      { requiredKeys: ['authorization'] },
    );

    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.oneof(ascii, fc.nat().map(String)), query, headers, body, async ([method, route], id, q, h, b) => {
        const path = route.replace(':id', encodeURIComponent(id));
        const qs = new URLSearchParams(q).toString();
        const withBody = method !== 'GET' && b !== undefined;
        // A length the body does not have is the transport's business, not the app's.
        const { 'content-length': length, ...rest } = h;
        const sent = withBody && length !== undefined && Number(length) >= 0 ? { ...rest, 'content-length': String(new TextEncoder().encode(b).length) } : rest;
        const before = await dbSnapshot(t.db);
        const res = await app.request(`${path}${qs ? `?${qs}` : ''}`, { method, headers: sent, body: withBody ? b : undefined });
        const text = await res.text();
        expect(res.status, `${method} ${path}?${qs} ${JSON.stringify(sent)} ${b} → ${text}`).toBeLessThan(500);
        if (res.status >= 400) expect(await dbSnapshot(t.db), `${method} ${path} ${res.status} ${text}`).toBe(before);
      }),
      { numRuns: 400 },
    );
  });

  it('enqueue with near-valid tasks: a 201 writes exactly its rows, anything else writes nothing', async () => {
    const app = createApp({ config: httpConfig(), registry: testRegistry(), db: t.db, logger: silentLogger });
    const count = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM task_runs')).rows[0]!.n;
    await fc.assert(
      fc.asyncProperty(fc.oneof(task, fc.array(task, { minLength: 1, maxLength: 5 })), async (input) => {
        const before = await dbSnapshot(t.db);
        const rows = await count();
        const res = await app.request('/enqueue', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(input),
        });
        const text = await res.text();
        expect(res.status, text).toBeLessThan(500);
        if (res.status >= 400) expect(await dbSnapshot(t.db), text).toBe(before);
        else {
          const ids = Array.isArray(input) ? JSON.parse(text).results : [JSON.parse(text)];
          const fresh = new Set(ids.filter((r: { deduplicated: boolean }) => !r.deduplicated).map((r: { resultId: number }) => r.resultId));
          expect(await count()).toBe(rows + fresh.size);
        }
      }),
      { numRuns: 200 },
    );
  });
});
