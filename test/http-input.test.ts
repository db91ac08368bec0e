import { describe, expect, it } from 'vitest';
import { createApp } from '../src/http/app.ts';
import { silentLogger } from '../src/logger.ts';
import { MAX_JSON_DEPTH } from '../src/storable.ts';
import { useTestDb } from './support/db.ts';
import { TOKEN, bearer, dbSnapshot, httpConfig, testRegistry } from './support/http.ts';

const t = useTestDb('pg', 'task_runs, reproq_workers, periodic_tasks');

const app = () => createApp({ config: httpConfig(), registry: testRegistry(), db: t.db, logger: silentLogger });

/** The body as text, so values JSON.stringify would change (a lone surrogate) are sent as written. */
const post = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...bearer(TOKEN) }, body });

function nested(depth: number, open: string, close: string, leaf = '1'): string {
  return `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
}

describe('POST /enqueue: client input that answered 503 "database unavailable" now answers 4xx naming the field', () => {
  it.each([
    ['expiresInSeconds 1e308', '{"taskPath":"tasks.echo","expiresInSeconds":1e308}', 'expiresInSeconds'],
    ['expiresInSeconds 1e12', '{"taskPath":"tasks.echo","expiresInSeconds":1e12}', 'expiresInSeconds'],
    ['expiresAt as a number (8.64e15 ms)', '{"taskPath":"tasks.echo","expiresAt":8.64e15}', 'expiresAt'],
    ['args nested 2,000 deep', `{"taskPath":"tasks.echo","args":[${nested(2000, '[', ']')}]}`, `args${'.0'.repeat(MAX_JSON_DEPTH)}`],
    ['kwargs nested 2,000 deep', `{"taskPath":"tasks.echo","kwargs":{"x":${nested(2000, '{"a":', '}')}}}`, `kwargs.x${'.a'.repeat(MAX_JSON_DEPTH - 1)}`],
    ['metadata nested 2,000 deep', `{"taskPath":"tasks.echo","metadata":{"x":${nested(2000, '[', ']')}}}`, `metadata.x${'.0'.repeat(MAX_JSON_DEPTH - 1)}`],
    ['U+0000 in metadata', '{"taskPath":"tasks.echo","metadata":{"note":"a\\u0000b"}}', 'metadata.note'],
    ['a lone surrogate in metadata', '{"taskPath":"tasks.echo","metadata":{"x":"\\ud800"}}', 'metadata.x'],
    ['U+0000 in backendAlias', '{"taskPath":"tasks.echo","backendAlias":"b\\u0000"}', 'backendAlias'],
    ['concurrencyLimit 2^31', '{"taskPath":"tasks.echo","concurrencyLimit":2147483648}', 'concurrencyLimit'],
  ])('%s → 400', async (_name, body, field) => {
    const before = await dbSnapshot(t.db);
    const res = await app().request('/enqueue', post(body));
    const answer = (await res.json()) as { error: { code: string; field: string; message: string } };
    expect(res.status, answer.error.message).toBe(400);
    expect(answer.error).toMatchObject({ code: 'invalid_input', field });
    expect(await dbSnapshot(t.db)).toBe(before);
  });

  it.each([
    ['runAfter true', '{"taskPath":"tasks.echo","runAfter":true}', 'runAfter', /got a boolean/],
    ['runAfter 0', '{"taskPath":"tasks.echo","runAfter":0}', 'runAfter', /got a number/],
    ['runAfter [2025]', '{"taskPath":"tasks.echo","runAfter":[2025]}', 'runAfter', /got an array/],
    ['a naive runAfter', '{"taskPath":"tasks.echo","runAfter":"2025-01-01T12:00:00"}', 'runAfter', /no time zone/],
    ['a naive expiresAt', '{"taskPath":"tasks.echo","expiresAt":"2025-01-01T12:00:00"}', 'expiresAt', /no time zone/],
    ['U+0000 in kwargs', '{"taskPath":"tasks.echo","kwargs":{"note":"\\u0000"}}', 'kwargs.note', /U\+0000/],
    ['a lockKey of 10,000 characters', JSON.stringify({ taskPath: 'tasks.echo', lockKey: 'k'.repeat(10_000) }), 'lockKey', /500/],
    ['a bulk item', '[{"taskPath":"tasks.echo"},{"taskPath":"tasks.echo","args":[1,2,{"x":"\\u0000"}]}]', '[1].args.2.x', /U\+0000/],
  ])('%s → 400 naming the exact field (was accepted or misnamed)', async (_name, body, field, message) => {
    const before = await dbSnapshot(t.db);
    const res = await app().request('/enqueue', post(body));
    const answer = (await res.json()) as { error: { field: string; message: string } };
    expect(res.status).toBe(400);
    expect(answer.error.field).toBe(field);
    expect(answer.error.message).toMatch(message);
    expect(await dbSnapshot(t.db)).toBe(before);
  });

  it('a string with a literal backslash-u0000 is accepted (it was refused as U+0000)', async () => {
    const res = await app().request('/enqueue', post('{"taskPath":"tasks.echo","kwargs":{"note":"\\\\u0000"}}'));
    expect(res.status).toBe(201);
    const stored = await t.db.query<{ note: string }>(`SELECT spec_json->'kwargs'->>'note' AS note FROM task_runs`);
    expect(stored.rows).toEqual([{ note: '\\u0000' }]);
  });
});

describe('database errors are answered by their kind', () => {
  it('a missing table is a 500 that says to migrate, without the driver text', async () => {
    await t.db.query('ALTER TABLE task_runs RENAME TO task_runs_elsewhere');
    try {
      const res = await app().request('/enqueue', post('{"taskPath":"tasks.echo"}'));
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(JSON.parse(text).error).toMatchObject({ code: 'schema_missing', message: expect.stringContaining('reproq migrate') });
      expect(text).not.toMatch(/relation|does not exist|task_runs/);
    } finally {
      await t.db.query('ALTER TABLE task_runs_elsewhere RENAME TO task_runs');
    }
  });

  it('data the database still refuses is a 422 naming the constraint, not a 503', async () => {
    // A site rule the input checks do not know.
    await t.db.query(`ALTER TABLE task_runs ADD CONSTRAINT site_no_evil_lock CHECK (lock_key IS DISTINCT FROM 'evil') NOT VALID`);
    try {
      const before = await dbSnapshot(t.db);
      const res = await app().request('/enqueue', post('{"taskPath":"tasks.echo","lockKey":"evil"}'));
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'rejected_by_database', field: 'site_no_evil_lock' });
      expect(await dbSnapshot(t.db)).toBe(before);
    } finally {
      await t.db.query('ALTER TABLE task_runs DROP CONSTRAINT site_no_evil_lock');
    }
  });
});
