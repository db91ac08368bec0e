/**
 * The four adapters against the real server (PGlite in memory): identical row shapes, params,
 * errors, transactions, scripts; SKIP LOCKED concurrency through the Neon WebSocket path; the
 * local proxy's guard rails and delay.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from '../src/db/connect.ts';
import { configureNeonForLocal, neonHttpDb, neonPoolDb } from '../src/db/neon.ts';
import { pgDb } from '../src/db/pg.ts';
import type { Db, DriverName } from '../src/db/types.ts';
import { startWsProxy, type WsProxy } from '../src/dev/wsproxy.ts';
import { ConfigError } from '../src/errors.ts';
import { ADMIN_URL, databaseUrl } from './support/urls.ts';

const DRIVERS: readonly DriverName[] = ['pg', 'neon-ws', 'neon-http', 'pglite'];
const scratch = `reproq_adapters_${randomBytes(4).toString('hex')}`;
const url = databaseUrl(scratch);
const dbs = {} as Record<DriverName, Db>;
let proxy: WsProxy;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${scratch}`);
  proxy = await startWsProxy();
  const wsProxy = `127.0.0.1:${proxy.port}`;
  dbs.pg = await connect(url);
  dbs['neon-ws'] = await connect(url, { driver: 'neon-ws', wsProxy });
  dbs['neon-http'] = await connect(url, { driver: 'neon-http', wsProxy });
  dbs.pglite = await connect('pglite://memory');
});

afterAll(async () => {
  await Promise.all(Object.values(dbs).map((db) => db.close()));
  await proxy?.close();
  await admin?.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
  await admin?.end();
});

describe.each(DRIVERS)('%s adapter', (driver) => {
  const table = `t_${driver.replace('-', '_')}`;

  it('opens the chosen driver', () => {
    expect(dbs[driver].driver).toBe(driver);
  });

  it('returns the same JS shapes as every other adapter', async () => {
    const res = await dbs[driver].query(`select 1::int8 as a, now() as t, '{"x":1}'::jsonb as j, true as b, null as n, 7::int4 as i`);
    expect(res.rowCount).toBe(1);
    expect(res.rows).toEqual([{ a: 1, t: expect.any(Date), j: { x: 1 }, b: true, n: null, i: 7 }]);
    const t = res.rows[0]!.t as Date;
    expect(Math.abs(t.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('passes parameters: int, text, jsonb as a JSON string, text[], int8[], Date', async () => {
    const when = new Date('2026-01-02T03:04:05.678Z');
    const res = await dbs[driver].query(
      `select $1::int as i, $2::text as s, $3::jsonb as j, $4::text[] as arr, $5::int8[] as big, $6::timestamptz as d`,
      [42, 'hé "q", \\', JSON.stringify({ k: [1, 'two', null] }), ['a', 'b,c', '"q"', null], [1, 2 ** 40], when],
    );
    expect(res.rows[0]).toEqual({
      i: 42,
      s: 'hé "q", \\',
      j: { k: [1, 'two', null] },
      arr: ['a', 'b,c', '"q"', null],
      big: [1, 2 ** 40],
      d: when,
    });
  });

  it('refuses an int8 beyond 2^53 instead of rounding it', async () => {
    await expect(dbs[driver].query('select 9007199254740993::int8 as x')).rejects.toThrow(/does not fit in a JavaScript number/);
  });

  it('surfaces database errors with their SQLSTATE and stays usable', async () => {
    await expect(dbs[driver].query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    expect((await dbs[driver].query('select 2 as x')).rows).toEqual([{ x: 2 }]);
  });

  it('query() takes a single statement', async () => {
    await expect(dbs[driver].query('select 1; select 2')).rejects.toThrow();
  });

  it.runIf(driver !== 'neon-http')('exec() runs a multi-statement script', async () => {
    await dbs[driver].exec!(`create table ${table} (id int8 primary key, v text);
      insert into ${table} values (1, 'a'), (2, 'b');`);
    const res = await dbs[driver].query(`select count(*) as n from ${table}`);
    expect(res.rows).toEqual([{ n: 2 }]);
    expect((await dbs[driver].query(`update ${table} set v = v || '!'`)).rowCount).toBe(2);
  });

  it.runIf(driver === 'neon-http')('exec() explains that scripts need a pooled connection; no transaction()', async () => {
    await expect(dbs[driver].exec!('select 1; select 2')).rejects.toThrow(/multi-statement scripts need a pooled connection/);
    expect(dbs[driver].transaction).toBeUndefined();
  });

  it.runIf(driver !== 'neon-http')('transaction() commits, and rolls back on a throw or a SQL error', async () => {
    const db = dbs[driver];
    const ids = async () => (await db.query<{ id: number }>(`select id from ${table} where id >= 10 order by id`)).rows.map((r) => r.id);

    const out = await db.transaction!(async (tx) => {
      await tx.query(`insert into ${table} values ($1, 'c')`, [10]);
      await tx.exec!(`insert into ${table} values (11, 'd'); insert into ${table} values (12, 'e');`);
      return (await tx.query(`select count(*) as n from ${table} where id >= 10`)).rows[0];
    });
    expect(out).toEqual({ n: 3 });
    expect(await ids()).toEqual([10, 11, 12]);

    await expect(
      db.transaction!(async (tx) => {
        await tx.query(`insert into ${table} values (20, 'x')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(
      db.transaction!(async (tx) => {
        await tx.query(`insert into ${table} values (30, 'y')`);
        await tx.query('select 1/0');
      }),
    ).rejects.toMatchObject({ code: '22012' });
    expect(await ids()).toEqual([10, 11, 12]);
  });
});

describe('pg adapter planner settings', () => {
  const settings = async (preparedStatements: boolean) => {
    const db = pgDb({ connectionString: url, max: 1, preparedStatements });
    try {
      const r = await db.query<{ plan: string; jit: string }>(`select current_setting('plan_cache_mode') as plan, current_setting('jit') as jit`);
      return r.rows[0];
    } finally {
      await db.close();
    }
  };

  it('with named statements, its own pool plans them once (generic plans) and never JIT-compiles', async () => {
    expect(await settings(true)).toEqual({ plan: 'force_generic_plan', jit: 'off' });
  });

  it('without them (behind a transaction-mode pooler) it sets nothing on the session', async () => {
    expect((await settings(false))?.plan).toBe('auto');
  });
});

describe('pg adapter on a caller-owned Pool', () => {
  it('applies the shared row parsing and leaves the Pool open on close()', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const db = pgDb(pool);
      expect((await db.query('select 5::int8 as a')).rows).toEqual([{ a: 5 }]);
      await db.close();
      expect((await pool.query('select 6::int8 as a')).rows).toEqual([{ a: '6' }]);
    } finally {
      await pool.end();
    }
  });
});

describe('neon-ws on the real server', () => {
  it('two concurrent clients with FOR UPDATE SKIP LOCKED get disjoint rows', async () => {
    const db = dbs['neon-ws'];
    await db.exec!(`create table jobs (id int primary key); insert into jobs select generate_series(1, 10);`);
    const claim = `select id from jobs order by id limit 3 for update skip locked`;
    const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

    let aLocked!: () => void;
    let bDone!: () => void;
    const aHasLocked = new Promise<void>((r) => (aLocked = r));
    const bHasClaimed = new Promise<void>((r) => (bDone = r));
    // A keeps its rows locked until B has claimed; B would block on them without SKIP LOCKED
    // (lock_timeout turns that into an error instead of a hang).
    const a = db.transaction!(async (tx) => {
      const r = await tx.query<{ id: number }>(claim);
      aLocked();
      await bHasClaimed;
      return ids(r.rows);
    });
    await aHasLocked;
    const b = db.transaction!(async (tx) => {
      await tx.query(`set local lock_timeout = '5s'`);
      const r = await tx.query<{ id: number }>(claim);
      bDone();
      return ids(r.rows);
    });
    const [got, other] = await Promise.all([a, b]);
    expect(got).toEqual([1, 2, 3]);
    expect(other).toEqual([4, 5, 6]);
  });
});

describe('wsproxy', () => {
  it('refuses non-loopback targets on both endpoints', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/v1?address=10.1.2.3:5432`);
    await expect(new Promise((_, reject) => ws.on('error', reject))).rejects.toThrow(/403/);

    const remote = neonHttpDb({
      connectionString: 'postgres://postgres:postgres@10.1.2.3:5432/postgres',
      fetchEndpoint: `http://127.0.0.1:${proxy.port}/sql`,
    });
    await expect(remote.query('select 1')).rejects.toThrow(/HTTP status 403/);

    const noAddress = new WebSocket(`ws://127.0.0.1:${proxy.port}/v1`);
    await expect(new Promise((_, reject) => noAddress.on('error', reject))).rejects.toThrow(/400/);
  });

  it('counts tunnels and closes them with the pool', async () => {
    const before = proxy.stats();
    const db = neonPoolDb({ connectionString: url, max: 2, wsProxy: `127.0.0.1:${proxy.port}`, webSocketConstructor: WebSocket });
    await Promise.all([db.query('select pg_sleep(0.05)'), db.query('select pg_sleep(0.05)')]);
    expect(proxy.stats()).toEqual({ open: before.open + 2, total: before.total + 2 });
    await db.close();
    await vi.waitFor(() => expect(proxy.stats().open).toBe(before.open));
  });

  it('configureNeonForLocal points pools without their own settings at the proxy', async () => {
    configureNeonForLocal(`127.0.0.1:${proxy.port}`);
    const db = neonPoolDb({ connectionString: url, webSocketConstructor: WebSocket });
    try {
      expect((await db.query('select current_database() as d')).rows).toEqual([{ d: scratch }]);
    } finally {
      await db.close();
    }
  });

  it('rejects a delayMs that is not a number >= 0', async () => {
    await expect(startWsProxy({ delayMs: Number.NaN })).rejects.toThrow(RangeError);
  });

  it('delays each direction by delayMs and keeps message order', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const delayMs = 40;
    const slow = await startWsProxy({ delayMs });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${slow.port}/v1?address=127.0.0.1:${echoPort}`);
      await new Promise((r) => ws.on('open', r));
      const sent = Array.from({ length: 20 }, (_, i) => `m${i};`).join('');
      let received = '';
      let firstReply = 0;
      const done = new Promise<void>((resolve) =>
        ws.on('message', (data) => {
          firstReply ||= performance.now();
          received += String(data);
          if (received.length >= sent.length) resolve();
        }),
      );
      const start = performance.now();
      for (let i = 0; i < 20; i++) ws.send(Buffer.from(`m${i};`));
      await done;
      expect(received).toBe(sent);
      expect(firstReply - start).toBeGreaterThanOrEqual(delayMs);
      ws.close();
    } finally {
      await slow.close();
      await new Promise((r) => echo.close(r));
    }
  });
});

describe('connect()', () => {
  it('rejects malformed DSNs with a ConfigError naming the source, never the password', async () => {
    const cases = [
      'mysql://u:s3cret@127.0.0.1/db',
      'postgres://u:s3cret@127.0.0.1:99999/db',
      'postgres://u:s3cr#et@127.0.0.1/db',
      'u:s3cret@127.0.0.1/db',
      'postgres://u:s3cret@/db',
    ];
    for (const dsn of cases) {
      const err = await connect(dsn, { source: 'DATABASE_URL' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, dsn).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe('DATABASE_URL');
      expect((err as ConfigError).message).toMatch(/^DATABASE_URL: /);
      expect((err as ConfigError).message).not.toMatch(/s3cr/);
    }
  });

  it('rejects a driver that does not fit the DSN', async () => {
    await expect(connect(url, { driver: 'pglite' })).rejects.toBeInstanceOf(ConfigError);
    await expect(connect('pglite://memory', { driver: 'pg' })).rejects.toBeInstanceOf(ConfigError);
    await expect(connect(url, { driver: 'mysql' as DriverName })).rejects.toMatchObject({ variable: 'driver' });
    await expect(connect(url, { max: 0 })).rejects.toMatchObject({ variable: 'max' });
  });

  it('pglite://<path> keeps data on disk across opens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reproq-pglite-'));
    try {
      const first = await connect(`pglite://${dir}`);
      await first.exec!(`create table kept (id int); insert into kept values (7);`);
      await first.close();
      const second = await connect(`pglite://${dir}`);
      expect((await second.query('select id from kept')).rows).toEqual([{ id: 7 }]);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
