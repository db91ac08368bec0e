import { describe, expect, it } from 'vitest';
import { enqueue, enqueueMany, type EnqueueInput } from '../src/enqueue.ts';
import { ValidationError } from '../src/errors.ts';
import { specJson } from '../src/spec/build.ts';
import { sha256Hex } from '../src/spec/hash.ts';
import { MAX_JSON_DEPTH, parseInstant } from '../src/storable.ts';
import { useTestDb } from './support/db.ts';
import { row } from './support/queue.ts';

const t = useTestDb('pg', 'task_runs');

function nested(depth: number, leaf: unknown = 1, wrap: (v: unknown) => unknown = (v) => [v]): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
}

const count = async () => (await row<{ n: number }>(t.db, 'SELECT count(*)::int AS n FROM task_runs')).n;

async function refused(input: EnqueueInput | EnqueueInput[]): Promise<ValidationError> {
  const err = await (Array.isArray(input) ? enqueueMany(t.db, input) : enqueue(t.db, input)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('enqueue refuses what the database or Django cannot take, naming the exact field', () => {
  const task = { taskPath: 'tasks.echo' };
  it.each([
    ['expiresInSeconds 1e308', { expiresInSeconds: 1e308 }, 'expiresInSeconds', /100 years/],
    ['expiresInSeconds 1e12', { expiresInSeconds: 1e12 }, 'expiresInSeconds', /100 years/],
    ['expiresInSeconds 0', { expiresInSeconds: 0 }, 'expiresInSeconds', /greater than 0|>0/],
    ['expiresAt as epoch ms', { expiresAt: 8.64e15 }, 'expiresAt', /got a number/],
    ['expiresAt in year 10000', { expiresAt: new Date('+010000-01-01T00:00:00Z') }, 'expiresAt', /outside 1\.\.9999/],
    ['runAfter delaySeconds 1e300', { runAfter: { delaySeconds: 1e300 } }, 'runAfter.delaySeconds', /100 years/],
    ['runAfter delaySeconds -1', { runAfter: { delaySeconds: -1 } }, 'runAfter.delaySeconds', /negative/],
    ['runAfter with an extra key', { runAfter: { delaySeconds: 1, at: 2 } }, 'runAfter', /at/],
    ['args nested 2,000 deep', { args: [nested(2000)] }, `args${'.0'.repeat(MAX_JSON_DEPTH)}`, /deeper than 100/],
    ['kwargs nested 100,000 deep', { kwargs: { x: nested(100_000, 1, (v) => ({ a: v })) } }, `kwargs.x${'.a'.repeat(MAX_JSON_DEPTH - 1)}`, /deeper/],
    ['metadata nested 2,000 deep', { metadata: { x: nested(2000) } }, `metadata.x${'.0'.repeat(MAX_JSON_DEPTH - 1)}`, /deeper/],
    ['U+0000 in a kwargs value', { kwargs: { note: 'a\u0000b' } }, 'kwargs.note', /U\+0000/],
    ['U+0000 in a nested args key', { args: [1, 2, { 'x\u0000': 1 }] }, 'args.2.x\u0000', /key contains U\+0000/],
    ['U+0000 in args deep inside', { args: [1, 2, { x: ['ok', 'n\u0000'] }] }, 'args.2.x.1', /U\+0000/],
    ['U+0000 in metadata', { metadata: { note: '\u0000' } }, 'metadata.note', /U\+0000/],
    ['U+0000 in lockKey', { lockKey: 'k\u0000' }, 'lockKey', /U\+0000/],
    ['U+0000 in backendAlias', { backendAlias: 'b\u0000' }, 'backendAlias', /U\+0000/],
    ['U+0000 in codeRef', { codeRef: '\u0000' }, 'codeRef', /U\+0000/],
    ['a lone surrogate in metadata', { metadata: { x: '\ud800' } }, 'metadata.x', /surrogate/],
    ['a lone surrogate in kwargs', { kwargs: { x: 'a\udc00' } }, 'kwargs.x', /surrogate/],
    ['an integer beyond 2^53 in metadata', { metadata: { n: 2 ** 63 } }, 'metadata.n', /2\^53/],
    ['Infinity in args', { args: [Infinity] }, 'args.0', /Infinity/],
    ['a Map in kwargs', { kwargs: { m: new Map() as never } }, 'kwargs.m', /Map/],
    ['undefined in args', { args: [undefined as never] }, 'args.0', /undefined/],
    ['concurrencyLimit 2^31', { concurrencyLimit: 2 ** 31 }, 'concurrencyLimit', /2147483647/],
    ['lockKey of 10,000 characters', { lockKey: 'k'.repeat(10_000) }, 'lockKey', /500/],
    ['concurrencyKey of 10,000 characters', { concurrencyKey: 'k'.repeat(10_000) }, 'concurrencyKey', /500/],
    ['backendAlias of 10,000 characters', { backendAlias: 'b'.repeat(10_000) }, 'backendAlias', /200/],
    ['metadata over the payload limit', { metadata: { s: 'x'.repeat(1_100_000) } }, 'metadata', /over the 1048576-byte limit/],
  ] as [string, Partial<EnqueueInput>, string, RegExp][])('%s', async (_name, extra, field, message) => {
    const err = await refused({ ...task, ...extra });
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(await count()).toBe(0);
  });

  it('a bulk item names its index, and nothing of the batch is written', async () => {
    const err = await refused([{ ...task, args: [1] }, { ...task, kwargs: { note: 'a\u0000' } }]);
    expect(err.field).toBe('[1].kwargs.note');
    expect(await count()).toBe(0);
  });

  it(`JSON ${MAX_JSON_DEPTH} levels deep is accepted`, async () => {
    await enqueue(t.db, { ...task, args: [nested(MAX_JSON_DEPTH - 2)] as never });
    expect(await count()).toBe(1);
  });
});

describe('runAfter and expiresAt take only unambiguous instants', () => {
  const task = { taskPath: 'tasks.echo' };

  it.each([
    [true, /got a boolean/],
    [0, /got a number/],
    [1735732800000, /got a number/],
    [[2025], /got an array/],
    ['2025-01-01T12:00:00', /has no time zone: add Z/],
    ['2025-01-01 12:00:00', /is not an ISO-8601 instant/],
    ['2025-01-01', /has no time zone/],
    ['2025-01-01T12:00:00.123456Z', /below the millisecond/],
    ['2025-02-30T12:00:00Z', /is not an ISO-8601 instant/],
    ['2025-01-01T12:00:00z', /is not an ISO-8601 instant/],
    ['next tuesday', /is not an ISO-8601 instant/],
    [new Date(Number.NaN), /not a valid date/],
    [new Date('0000-06-01T00:00:00Z'), /year 0 \(UTC\) is outside 1\.\.9999/],
  ] as [unknown, RegExp][])('refuses %j', async (value, message) => {
    for (const field of ['runAfter', 'expiresAt'] as const) {
      const err = await refused({ ...task, [field]: value } as EnqueueInput);
      expect(err.field).toBe(field);
      expect(err.message).toMatch(message);
    }
    expect(await count()).toBe(0);
  });

  it.each([
    ['2025-01-01T12:00:00Z', '2025-01-01T12:00:00.000Z'],
    ['2025-01-01T12:00:00+02:00', '2025-01-01T10:00:00.000Z'],
    ['2025-01-01T12:00:00.250-05:30', '2025-01-01T17:30:00.250Z'],
    ['2025-01-01T12:00:00.123000+00:00', '2025-01-01T12:00:00.123Z'],
    ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
  ])('accepts %s as %s, in the column and in the spec', async (text, iso) => {
    const r = await enqueue(t.db, { ...task, runAfter: text, expiresAt: text });
    const stored = await row<{ run_after: Date; expires_at: Date; spec: { run_after: string } }>(
      t.db,
      'SELECT run_after, expires_at, spec_json AS spec FROM task_runs WHERE result_id = $1',
      [r.resultId],
    );
    expect(new Date(stored.run_after).toISOString()).toBe(iso);
    expect(new Date(stored.expires_at).toISOString()).toBe(iso);
    expect(new Date(stored.spec.run_after).toISOString()).toBe(iso);
  });

  it('a Date and {delaySeconds} still work, and the rule is the one parseInstant states', async () => {
    const at = new Date('2030-01-01T00:00:00Z');
    const r = await enqueue(t.db, { ...task, runAfter: at });
    expect(new Date((await row<{ r: Date }>(t.db, 'SELECT run_after AS r FROM task_runs WHERE result_id = $1', [r.resultId])).r)).toEqual(at);
    const now = new Date('2026-01-01T00:00:00Z');
    const d = await enqueue(t.db, { ...task, args: [2], runAfter: { delaySeconds: 90 } }, { now: () => now });
    expect(new Date((await row<{ r: Date }>(t.db, 'SELECT run_after AS r FROM task_runs WHERE result_id = $1', [d.resultId])).r).toISOString()).toBe('2026-01-01T00:01:30.000Z');
    expect(parseInstant('2025-01-01T12:00:00')).toMatch(/no time zone/);
  });
});

describe('a string holding a backslash and u0000 is ordinary text', () => {
  it('enqueues, reads back unchanged, and hashes as Django (Python) does', async () => {
    const input = { taskPath: 'tasks.echo', args: ['\\u0000', 'C:\\u0000dir'], kwargs: { note: '\\u0000', path: '\\\\u0000' } };
    const r = await enqueue(t.db, input);
    const stored = await row<{ spec_json: { args: unknown; kwargs: unknown }; spec_hash: string }>(
      t.db,
      'SELECT spec_json, spec_hash FROM task_runs WHERE result_id = $1',
      [r.resultId],
    );
    expect(stored.spec_json.args).toEqual(input.args);
    expect(stored.spec_json.kwargs).toEqual(input.kwargs);
    // test/spec-hash.test.ts checks this spec's canonical bytes against Python's json.dumps.
    expect(stored.spec_hash.trim()).toBe(await sha256Hex(specJson(input)));
    expect(r.specHash).toBe(stored.spec_hash.trim());
  });
});
