import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyDbError, describeError } from '../src/db/errors.ts';
import { ADMIN_URL } from './support/urls.ts';

/** Real errors from a real server, so the classification is checked against what drivers throw. */
async function errorOf(sql: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } catch (err) {
    return err;
  } finally {
    await client.end();
  }
  throw new Error(`statement did not fail: ${sql}`);
}

describe('classifyDbError', () => {
  it('names data errors, programming errors and outages for what they are', async () => {
    expect(classifyDbError(await errorOf(`SELECT '"\\u0000"'::jsonb`))).toMatchObject({ kind: 'data', code: '22P05' });
    expect(classifyDbError(await errorOf(`SELECT 2147483647::int + 1`))).toMatchObject({ kind: 'data', code: '22003' });
    expect(classifyDbError(await errorOf(`SELECT * FROM no_such_table`))).toMatchObject({ kind: 'program', code: '42P01' });
    expect(classifyDbError(await errorOf(`SELECT pg_terminate_backend(pg_backend_pid())`))).toMatchObject({ kind: 'transient' });
    const refused = await new pg.Client({ host: '127.0.0.1', port: 1 }).connect().catch((e: unknown) => e);
    expect(classifyDbError(refused)).toEqual({ kind: 'transient', message: expect.stringContaining('ECONNREFUSED') });
    expect(classifyDbError({ code: '40P01', message: 'deadlock detected' }).kind).toBe('transient');
    expect(classifyDbError({ code: '57P01', message: 'terminating connection' }).kind).toBe('transient');
  });
});

describe('describeError', () => {
  it('never prints [object Object]', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError({ type: 'error', error: new Error('socket hang up') })).toBe('socket hang up');
    expect(describeError({ type: 'error', message: 'ws closed' })).toBe('ws closed');
    expect(describeError({ type: 'close' })).toBe('{"type":"close"}');
    expect(describeError(Object.create(null))).toBe('unknown error (an object with no message)');
    const cyclic: Record<string, unknown> = { type: 'error' };
    cyclic.self = cyclic;
    expect(describeError(cyclic)).toBe('error event');
    expect(describeError('plain')).toBe('plain');
    expect(describeError(42)).toBe('42');
  });
});
