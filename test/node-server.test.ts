import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgDb } from '../src/db/pg.ts';
import type { Db } from '../src/db/types.ts';
import { silentLogger } from '../src/logger.ts';
import { startNodeServer } from '../workers/node.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { TOKEN, bearer, httpConfig, testRegistry } from './support/http.ts';

const run = promisify(execFile);
let tdb: TestDatabase;
let db: Db;
let dir: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = pgDb({ connectionString: tdb.url });
  dir = await mkdtemp(path.join(tmpdir(), 'reproq-tls-'));
});
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('Node server over real HTTP', () => {
  it('enqueues, drains and reads a result', async () => {
    const server = await startNodeServer({ config: httpConfig(), registry: testRegistry(), db, logger: silentLogger, port: 0, hostname: '127.0.0.1' });
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const put = await fetch(`${base}/enqueue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(TOKEN) },
        body: JSON.stringify({ taskPath: 'tasks.echo', args: ['node'] }),
      });
      expect(put.status).toBe(201);
      const { resultId } = (await put.json()) as { resultId: number };
      expect(await (await fetch(`${base}/drain`, { method: 'POST', headers: bearer(TOKEN) })).json()).toMatchObject({ succeeded: 1 });
      const got = await fetch(`${base}/tasks/${resultId}`, { headers: bearer(TOKEN) });
      expect(await got.json()).toMatchObject({ status: 'SUCCESSFUL', return_json: { echoed: ['node'] } });
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^reproq_queue_depth 0$/m);
    } finally {
      await server.close();
    }
  });

  it('takes the client address from the socket for the CIDR allowlist', async () => {
    const allowed = await startNodeServer({ config: httpConfig({ METRICS_ALLOW_CIDRS: '127.0.0.0/8' }), registry: testRegistry(), db, logger: silentLogger, port: 0, hostname: '127.0.0.1' });
    const denied = await startNodeServer({ config: httpConfig({ METRICS_ALLOW_CIDRS: '10.0.0.0/8' }), registry: testRegistry(), db, logger: silentLogger, port: 0, hostname: '127.0.0.1' });
    try {
      expect((await fetch(`http://127.0.0.1:${allowed.port}/healthz`)).status).toBe(200);
      const res = await fetch(`http://127.0.0.1:${denied.port}/healthz`, { headers: { 'x-forwarded-for': '10.0.0.1' } });
      expect(res.status).toBe(403);
    } finally {
      await allowed.close();
      await denied.close();
    }
  });

  it('serves HTTPS with METRICS_TLS_CERT/KEY and requires a client certificate with METRICS_TLS_CLIENT_CA', async () => {
    const f = (name: string) => path.join(dir, name);
    const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
    await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=reproq-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
    for (const [name, cn] of [['server', 'localhost'], ['client', 'reproq-tui']]) {
      await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
      await writeFile(f(`${name}.ext`), name === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n');
      await ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    }
    const config = httpConfig({ METRICS_TLS_CERT: f('server.pem'), METRICS_TLS_KEY: f('server.key'), METRICS_TLS_CLIENT_CA: f('ca.pem') });
    const server = await startNodeServer({ config, registry: testRegistry(), db, logger: silentLogger, port: 0, hostname: '127.0.0.1' });
    expect(server.protocol).toBe('https');
    const ca = await readFile(f('ca.pem'));
    const get = (client?: { cert: Buffer; key: Buffer }) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: server.port, path: '/healthz', ca, ...client }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get({ cert: await readFile(f('client.pem')), key: await readFile(f('client.key')) })).toBe(200);
      await expect(get()).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it('refuses to start on bad TLS settings or without REPROQ_AUTH_TOKEN, naming the variable', async () => {
    const start = (env: Record<string, string>) =>
      startNodeServer({ config: httpConfig(env), registry: testRegistry(), db, logger: silentLogger, port: 0 });
    await expect(start({ METRICS_TLS_CERT: path.join(dir, 'server.pem') })).rejects.toThrow(/METRICS_TLS_KEY: metrics TLS requires both cert and key/);
    await expect(start({ METRICS_TLS_CERT: 'x', METRICS_TLS_KEY: path.join(dir, 'server.key'), METRICS_TLS_CLIENT_CA: path.join(dir, 'server.key') })).rejects.toThrow(
      /METRICS_TLS_CERT: cannot read/,
    );
    await expect(start({ REPROQ_AUTH_TOKEN: '' })).rejects.toThrow(/REPROQ_AUTH_TOKEN/);
  });
});

describe('reproq serve', () => {
  it('runs the CLI command, answering on PORT until SIGTERM', async () => {
    // PORT=0: the system picks a free port, which the "listening" line reports.
    const child = spawn('node', ['test/support/reproq-src.mjs', 'serve', '--tasks', 'src/demo/tasks.ts', '--host', '127.0.0.1'], {
      env: { ...process.env, DATABASE_URL: tdb.url, REPROQ_AUTH_TOKEN: TOKEN, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          const listening = /"listening".*:(\d+)"/.exec(out);
          if (listening) resolve(listening[1]!);
        });
        child.stderr.on('data', (d) => (out += d));
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });

  it('fails at startup without REPROQ_AUTH_TOKEN or DATABASE_URL, naming the variable', async () => {
    const cli = (env: Record<string, string>) =>
      run('node', ['test/support/reproq-src.mjs', 'serve', '--tasks', 'src/demo/tasks.ts', '--port', '0'], { env: { ...process.env, DATABASE_URL: '', REPROQ_AUTH_TOKEN: '', ...env } }).catch(
        (e: { code: number; stderr: string }) => e,
      );
    expect(await cli({ DATABASE_URL: tdb.url })).toMatchObject({ code: 1, stderr: expect.stringContaining('REPROQ_AUTH_TOKEN') });
    expect(await cli({ REPROQ_AUTH_TOKEN: TOKEN })).toMatchObject({ code: 1, stderr: expect.stringContaining('DATABASE_URL') });
  });
});
