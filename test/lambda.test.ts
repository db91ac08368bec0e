import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LambdaContext } from 'hono/aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildLambda } from '../scripts/build-lambda.ts';
import { pgDb } from '../src/db/pg.ts';
import type { Db } from '../src/db/types.ts';
import { silentLogger } from '../src/logger.ts';
import { createLambdaHandler, type LambdaHandler } from '../workers/lambda.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { TOKEN, testRegistry } from './support/http.ts';

const run = promisify(execFile);
let tdb: TestDatabase;
let db: Db;
let handler: LambdaHandler;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = pgDb({ connectionString: tdb.url });
  handler = createLambdaHandler(testRegistry(), {
    env: { DATABASE_URL: tdb.url, REPROQ_AUTH_TOKEN: TOKEN },
    logger: silentLogger,
    rules: { 'reproq-edge-dev-reclaim-rule': 'reclaim' },
  });
});
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});
beforeEach(async () => {
  await db.query('TRUNCATE task_runs, reproq_workers RESTART IDENTITY');
});

function context(remainingMs = 60_000): LambdaContext {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'reproq-edge-dev-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:reproq-edge-dev-api',
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    logGroupName: '/aws/lambda/reproq-edge-dev-api',
    logStreamName: '2026/01/01/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => remainingMs,
  } as LambdaContext;
}

/** An API Gateway HTTP API (payload format 2.0) event, as AWS documents it. */
function httpEvent(method: string, rawPath: string, body?: unknown, headers: Record<string, string> = {}) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'abc123.execute-api.us-east-1.amazonaws.com', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'curl/8.0' },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1767225600000,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** An EventBridge scheduled rule's envelope (a schedule with no `input`). */
const scheduledEnvelope = (rule: string) => ({
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T00:05:00Z',
  region: 'us-east-1',
  resources: [`arn:aws:events:us-east-1:123456789012:rule/${rule}`],
  detail: {},
});

const auth = { authorization: `Bearer ${TOKEN}` };

describe('Lambda handler', () => {
  it('end to end: enqueue through API Gateway v2, drain on a schedule, read the result', async () => {
    const put = (await handler(httpEvent('POST', '/enqueue', { taskPath: 'tasks.echo', args: ['lambda'] }, auth), context())) as {
      statusCode: number;
      body: string;
    };
    expect(put.statusCode).toBe(201);
    const { resultId } = JSON.parse(put.body);

    const drained = (await handler({ job: 'drain' }, context())) as { job: string; summary: { succeeded: number; workerId: string } };
    const leaseId = /^reproq-edge\/c6af9ac6-7b61-11e6-9a41-93e8deadbeef\/[0-9a-f]{12}$/;
    expect(drained).toMatchObject({ job: 'drain', summary: { succeeded: 1, workerId: expect.stringMatching(leaseId) } });
    // An async retry carries the same request id, and still leases under its own id.
    const retried = (await handler({ job: 'drain' }, context())) as typeof drained;
    expect(retried.summary.workerId).toMatch(leaseId);
    expect(retried.summary.workerId).not.toBe(drained.summary.workerId);

    const got = (await handler(httpEvent('GET', `/tasks/${resultId}`, undefined, auth), context())) as { statusCode: number; body: string };
    expect(JSON.parse(got.body)).toMatchObject({ status: 'SUCCESSFUL', return_json: { echoed: ['lambda'] } });
  });

  it('dispatches beat and reclaim by the schedule input, or by the rule of an envelope', async () => {
    const expire = () =>
      db.query(`INSERT INTO task_runs (spec_json, spec_hash, task_path, status, leased_by, leased_until, attempts)
                VALUES ('{"task_path":"tasks.echo","args":[],"kwargs":{}}', md5(random()::text) || md5(random()::text), 'tasks.echo', 'RUNNING', 'gone', now() - interval '2 minutes', 1)`);
    expect(await handler({ job: 'beat' }, context())).toMatchObject({ job: 'beat', summary: { due: 0, stoppedBecause: 'done' } });
    await expire();
    // The input's options reach reclaim: this lease ended only 2 minutes ago.
    expect(await handler({ job: 'reclaim', options: { olderThanSeconds: 600 } }, context())).toMatchObject({ job: 'reclaim', summary: { matched: 0 } });
    expect(await handler(scheduledEnvelope('reproq-edge-dev-reclaim-rule'), context())).toMatchObject({ job: 'reclaim', summary: { matched: 1, requeued: 1 } });
    await expect(handler(scheduledEnvelope('unknown-rule'), context())).rejects.toThrow(/unknown-rule/);
    await expect(handler({ job: 'sweep' }, context())).rejects.toThrow(/job/);
    await expect(handler({ job: 'drain', options: { batchSize: 0 } }, context())).rejects.toThrow(/options\.batchSize/);
  });

  it('uses API Gateway sourceIp for the CIDR allowlist', async () => {
    const h = createLambdaHandler(testRegistry(), {
      env: { DATABASE_URL: tdb.url, REPROQ_AUTH_TOKEN: TOKEN, METRICS_ALLOW_CIDRS: '198.51.100.0/24' },
      logger: silentLogger,
      openDb: () => db,
    });
    expect(await h(httpEvent('GET', '/healthz'), context())).toMatchObject({ statusCode: 200, body: 'ok' });
    const other = httpEvent('GET', '/healthz');
    other.requestContext.http.sourceIp = '203.0.113.9';
    expect(await h(other, context())).toMatchObject({ statusCode: 403 });
  });

  it('fails at cold start without DATABASE_URL, naming it', () => {
    expect(() => createLambdaHandler(testRegistry(), { env: {} })).toThrow(/DATABASE_URL/);
    expect(() => createLambdaHandler(testRegistry(), { env: { DATABASE_URL: tdb.url, METRICS_AUTH_LIMIT: 'x' } })).toThrow(/METRICS_AUTH_LIMIT/);
  });
});

describe('Lambda bundle', () => {
  let outdir: string;
  beforeAll(async () => {
    outdir = await mkdtemp(path.join(tmpdir(), 'reproq-lambda-'));
  });
  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  it('builds a CommonJS handler that runs a scheduled event in a plain node process', async () => {
    const file = await buildLambda('workers/example/lambda.ts', outdir);
    const script = `require(${JSON.stringify(path.resolve(file))}).handler({ job: 'drain' }, { awsRequestId: 'r1', getRemainingTimeInMillis: () => 10000 })
      .then((r) => { console.log(JSON.stringify(r)); process.exit(0); }, (e) => { console.error(e); process.exit(1); });`;
    const { stdout } = await run('node', ['-e', script], { env: { ...process.env, DATABASE_URL: tdb.url } });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ job: 'drain', summary: { stoppedBecause: 'empty' } });
  });

  // serverless v3 is 250 MB, so it is neither a dependency nor installed by .ci/run: the check runs
  // when npx has it cached, and otherwise skips with the command that caches it (even under CI).
  const cached = existsSync(path.join(homedir(), '.npm/_npx')) && hasServerless3();
  it('serverless.yml packages offline with serverless@3.40.0', async (ctx) => {
    if (!cached) ctx.skip('serverless@3.40.0 is not in the npx cache (run `npx -y serverless@3.40.0 --version` once to check serverless.yml)');
    await buildLambda();
    await run('npx', ['-y', '--offline', 'serverless@3.40.0', 'package', '--package', outdir], {
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
      timeout: 120_000,
    });
    const template = JSON.parse(await readFile(path.join(outdir, 'cloudformation-template-update-stack.json'), 'utf8'));
    const rules = Object.values(template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).filter(
      (r) => r.Type === 'AWS::Events::Rule',
    );
    expect(rules.map((r) => r.Properties.ScheduleExpression).sort()).toEqual(['cron(0/5 * * * ? *)', 'rate(1 minute)', 'rate(1 minute)']);
    expect(JSON.stringify(rules)).toContain('{\\"job\\":\\"reclaim\\"');
  });
});

function hasServerless3(): boolean {
  const dir = path.join(homedir(), '.npm/_npx');
  return readdirSync(dir).some((d) => {
    const pkg = path.join(dir, d, 'node_modules/serverless/package.json');
    return existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).version === '3.40.0';
  });
}
