import fc from 'fast-check';
import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { readSpec } from '../src/drain/spec-input.ts';
import { appError, storableEntry, storableJsonText, storableText } from '../src/outcome.ts';
import { defineTask } from '../src/tasks/registry.ts';

const at = new Date('2026-01-01T00:00:00Z');
/** What PostgreSQL text and jsonb refuse. */
const unstorable = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('storable text', () => {
  it('replaces U+0000 and lone surrogates with U+FFFD, keeps pairs, and changes nothing else', () => {
    expect(storableText('a\0b\ud800c\udc00d😀')).toBe('a\uFFFDb\uFFFDc\uFFFDd😀');
    expect(storableText('\ud800\ud83d\ude00')).toBe('\uFFFD😀');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const fixed = storableText(s);
        expect(fixed).not.toMatch(unstorable);
        expect(fixed.length).toBe(s.length);
        if (!unstorable.test(s)) expect(fixed).toBe(s);
      }),
    );
  });

  it('in JSON text: the escapes JSON.stringify writes are replaced exactly where storableText would', () => {
    expect(storableJsonText(JSON.stringify('a\\u0000b')).replaced).toBe(0); // a backslash followed by "u0000" is text
    expect(storableJsonText(JSON.stringify({ 'k\0': '\\\0' }))).toEqual({ text: '{"k\uFFFD":"\\\\\uFFFD"}', replaced: 2 });
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.string({ unit: 'binary' })), (value, strings) => {
        const input = { value, strings, [strings.join('')]: strings };
        const { text } = storableJsonText(JSON.stringify(input));
        expect(JSON.parse(text)).toEqual(fixDeep(JSON.parse(JSON.stringify(input))));
      }),
    );
  });
});

/** storableText applied to every string and key of a JSON value. */
function fixDeep(v: unknown): unknown {
  if (typeof v === 'string') return storableText(v);
  if (Array.isArray(v)) return v.map(fixDeep);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [storableText(k), fixDeep(x)]));
  return v;
}

describe('errors_json entries', () => {
  it('are capped per field and list what was changed', () => {
    const e = storableEntry({ at: at.toISOString(), kind: 'app_error', message: 'é'.repeat(10_000), traceback: 't'.repeat(40_000), worker_id: 'w'.repeat(3000) });
    expect(new TextEncoder().encode(e.message).byteLength).toBe(8192);
    expect(e.traceback).toHaveLength(32 * 1024);
    expect(e.worker_id).toHaveLength(2048);
    expect(e.altered).toEqual(['message: cut to 8192 of 20000 bytes', 'traceback: cut to 32768 of 40000 bytes', 'worker_id: cut to 2048 of 3000 bytes']);
    expect(storableEntry({ at: '', kind: 'invalid_spec', message: 'fine' })).toEqual({ at: '', kind: 'invalid_spec', message: 'fine' });
  });

  it('appError never throws, whatever is thrown, and always yields a storable entry', () => {
    const hostile = [
      Object.create(null),
      Object.assign(Object.create(null), { message: 'm\0' }),
      { toString: () => { throw new Error('x'); } },
      Symbol('s'),
      new Proxy({}, { get: () => { throw new Error('get'); }, getPrototypeOf: () => { throw new Error('proto'); } }),
      new (class extends Error { override get message(): string { throw new Error('m'); } })(),
      Object.defineProperty(new Error('n'), 'name', { get: () => { throw new Error('name'); } }),
      Object.defineProperty(new Error('n'), 'name', { value: { not: 'a string' } }),
    ];
    for (const err of hostile) {
      const e = storableEntry(appError(err, 1, 'w', at));
      expect(e.kind).toBe('app_error');
      expect(typeof e.message).toBe('string');
      expect(typeof e.exception_class).toBe('string');
      expect(JSON.stringify(e)).not.toMatch(/\\u0000/);
    }
    fc.assert(fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withMap: true, withSet: true }), (err) => {
      expect(() => storableEntry(appError(err, 1, 'w', at))).not.toThrow();
    }));
  });
});

describe('reading a spec', () => {
  const strict = defineTask({ path: 't.strict', handler: () => null });
  const lossless = defineTask({ path: 't.lossless', numbers: 'lossless', handler: () => null });

  it('refuses numbers a double cannot hold, naming each path, and accepts 1.0 (the same double as 1)', () => {
    expect(readSpec(strict, '{"args": [1.0, 0.1, 9007199254740991], "kwargs": {"a b": {"c": [1.5e300]}}}')).toEqual({
      error: expect.stringMatching(/1 number\(s\) JavaScript cannot represent exactly: kwargs\["a b"\]\.c\[0\] \(1\.5e300: truncate_float\)/),
    });
    expect(readSpec(strict, '{"args": [1.0, 0.1, 9007199254740991, "12345678901234567890"]}')).toMatchObject({ args: [1, 0.1, 9007199254740991, '12345678901234567890'] });
  });

  it('gives a lossless task LosslessNumbers with the spelling kept', () => {
    const r = readSpec(lossless, '{"args": [1.0], "kwargs": {"big": 9007199254740993}}') as { args: unknown[]; kwargs: Record<string, unknown> };
    expect(r.args[0]).toEqual(new LosslessNumber('1.0'));
    expect(String(r.kwargs.big)).toBe('9007199254740993');
  });

  it('says what is wrong with a spec of the wrong shape', () => {
    expect(readSpec(strict, 'null')).toEqual({ error: 'spec_json is not a JSON object (got null)' });
    expect(readSpec(strict, '{"args": {}}')).toEqual({ error: 'spec_json.args is not a list (got an object)' });
    expect(readSpec(lossless, '{"kwargs": 3}')).toEqual({ error: 'spec_json.kwargs is not an object (got a number)' });
    expect(readSpec(strict, '{}')).toEqual({ spec: {}, args: [], kwargs: {} });
  });
});
