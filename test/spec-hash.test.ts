import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.ts';
import { pythonIsoformat, specJson, type SpecInput } from '../src/spec/build.ts';
import { canonicalJson, CanonicalJsonError, PyFloat, type CanonicalValue } from '../src/spec/canonical.ts';
import { sha256Hex, specHash, transientUtf8 } from '../src/spec/hash.ts';
import {
  goPeriodicSpecBytes,
  goPeriodicSpecHash,
  parsePeriodicPayload,
  PeriodicPayloadError,
  RawJson,
  type PeriodicSpecFields,
} from '../src/spec/periodic.ts';
import { hasCommand, needs } from './support/needs.ts';

/** Upstream's spec_hash test vector (contracts/spec_hash.json and its sha256), committed as data. */
const contracts = fileURLToPath(new URL('./fixtures/', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Python oracle: one python3 process per batch. Markers carry what JSON cannot say losslessly
// (ints beyond 2^53, floats vs ints, datetimes); Python's json.loads keeps integers as ints.
// ---------------------------------------------------------------------------------------------

const PY_CANONICAL = String.raw`
import sys, json, hashlib, datetime

def hook(d):
    if len(d) == 1:
        if '__int__' in d: return int(d['__int__'])
        if '__float__' in d: return float(d['__float__'])
        if '__dt__' in d: return datetime.datetime.fromisoformat(d['__dt__'].replace('Z', '+00:00'))
    return d

class DjangoLikeEncoder(json.JSONEncoder):
    # DjangoJSONEncoder's datetime branch (Django is not installed here).
    def default(self, o):
        if isinstance(o, datetime.datetime):
            r = o.isoformat()
            if o.microsecond:
                r = r[:23] + r[26:]
            if r.endswith('+00:00'):
                r = r[:-6] + 'Z'
            return r
        return super().default(o)

cases = json.loads(sys.stdin.buffer.read().decode('utf-8'), object_hook=hook)
out = []
for c in cases:
    s = json.dumps(c, sort_keys=True, separators=(',', ':'), ensure_ascii=False, cls=DjangoLikeEncoder)
    out.append([s, hashlib.sha256(s.encode('utf-8')).hexdigest()])
sys.stdout.write(json.dumps(out))
`;

const PY_ISOFORMAT = String.raw`
import sys, json, datetime
ms = json.loads(sys.stdin.read())
epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
sys.stdout.write(json.dumps([(epoch + datetime.timedelta(milliseconds=m)).isoformat() for m in ms]))
`;

function runPython<T>(script: string, input: unknown): T {
  const r = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python3 exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function toOracle(v: CanonicalValue): unknown {
  if (typeof v === 'bigint') return { __int__: v.toString() };
  if (typeof v === 'number' && !Number.isInteger(v)) return { __float__: String(v) };
  if (v instanceof PyFloat) return { __float__: Object.is(v.value, -0) ? '-0.0' : String(v.value) };
  if (v instanceof Date) return { __dt__: v.toISOString() };
  if (Array.isArray(v)) return v.map(toOracle);
  if (typeof v === 'object' && v !== null) {
    // fromEntries defines keys, so a generated "__proto__" stays an own key.
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toOracle(x as CanonicalValue)]));
  }
  return v;
}

async function compareWithPython(cases: readonly CanonicalValue[], seed: number): Promise<void> {
  const expected = runPython<[string, string][]>(PY_CANONICAL, cases.map(toOracle));
  expect(expected).toHaveLength(cases.length);
  for (let i = 0; i < cases.length; i++) {
    const [pyText, pyHash] = expected[i]!;
    const ours = canonicalJson(cases[i]!);
    if (ours !== pyText) {
      expect.fail(`seed ${seed}, case ${i}: ${JSON.stringify(toOracle(cases[i]!))}\n ours: ${ours}\n python: ${pyText}`);
    }
    expect(await specHash(cases[i]!)).toBe(pyHash);
  }
}

/**
 * specJson against Python: its text must be what json.dumps writes of the spec read back (plain
 * JSON reads back losslessly), and what canonicalJson writes of it.
 */
async function compareSpecsWithPython(inputs: readonly SpecInput<CanonicalValue>[], seed: number): Promise<void> {
  const texts = inputs.map(specJson);
  const specs = texts.map((text) => JSON.parse(text) as CanonicalValue);
  await compareWithPython(specs, seed);
  for (let i = 0; i < texts.length; i++) expect(texts[i]).toBe(canonicalJson(specs[i]!));
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const special = fc.constantFrom(
  '"', '\\', '/', '\u2028', '\u2029', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u0001', '\u001f', '\u007f',
  '\u0085', '\u00a0', '\ufeff', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}',
  '<', '>', '&', 'é', '中', ' ',
);
const char = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }),
  special,
);
const text = fc.string({ unit: char, maxLength: 12 });
// Short keys sharing prefixes, around the UTF-16 vs code point boundary (U+E000.. vs astral).
const key = fc.oneof(
  fc.string({ unit: char, maxLength: 4 }),
  fc.constantFrom('a', 'ab', 'b', 'B', '', '\ue000', '\uffff', '\u{1f600}', '\u{10000}', 'a\ue000', 'a\u{1f600}', '__proto__'),
);
const plainLeaf: fc.Arbitrary<CanonicalValue> = fc.oneof(
  text,
  fc.maxSafeInteger(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const pyDate = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
const extendedLeaf: fc.Arbitrary<CanonicalValue> = fc.oneof(
  plainLeaf,
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  finite.map((x) => new PyFloat(x)),
  finite.filter((x) => !Number.isInteger(x)),
  pyDate,
);

function tree(leaf: fc.Arbitrary<CanonicalValue>): fc.Arbitrary<CanonicalValue> {
  const { node } = fc.letrec<{ node: CanonicalValue; arr: CanonicalValue[]; obj: Record<string, CanonicalValue> }>((tie) => ({
    node: fc.oneof({ maxDepth: 4, depthIdentifier: 'json' }, leaf, tie('arr'), tie('obj')),
    arr: fc.array(tie('node'), { maxLength: 5 }),
    obj: fc.dictionary(key, tie('node'), { maxKeys: 6 }),
  }));
  return node;
}

const specArb = fc
  .record({
    taskPath: text,
    args: fc.array(tree(plainLeaf), { maxLength: 4 }),
    kwargs: fc.dictionary(key, tree(plainLeaf), { maxKeys: 5 }),
    takesContext: fc.boolean(),
    queueName: text,
    priority: fc.integer({ min: -100, max: 100 }),
    lockKey: fc.option(text),
    concurrencyKey: fc.option(text),
    concurrencyLimit: fc.nat(),
    runAfter: fc.option(pyDate),
    timeoutSeconds: fc.integer({ min: 1, max: 604800 }),
    maxAttempts: fc.integer({ min: 1, max: 1000 }),
    codeRef: fc.option(text),
    pipLockHash: fc.option(text),
  })
  .map((input): SpecInput<CanonicalValue> => input);

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const sample = <T,>(arb: fc.Arbitrary<T>, n: number, offset: number) => fc.sample(arb, { numRuns: n, seed: seed + offset });

// ---------------------------------------------------------------------------------------------

describe('contract vector (contracts/spec_hash.json)', () => {
  const fixture = readFileSync(path.join(contracts, 'spec_hash.json'), 'utf8').trimEnd();
  const fixtureHash = readFileSync(path.join(contracts, 'spec_hash.sha256'), 'utf8').trim();

  it('canonicalJson reproduces the file bytes and specHash its sha256', async () => {
    const parsed = JSON.parse(fixture) as CanonicalValue;
    expect(canonicalJson(parsed)).toBe(fixture);
    expect(await specHash(parsed)).toBe(fixtureHash);
    expect(await sha256Hex(fixture)).toBe(fixtureHash);
  });

  it('specJson writes the same bytes from enqueue-style inputs', async () => {
    const text = specJson({
      taskPath: 'contracts.example_task',
      args: [1, { nested: true }],
      kwargs: { amount: '12.34', notes: 'hello', token: '123e4567-e89b-12d3-a456-426614174000' },
      priority: 5,
      lockKey: 'user:123',
      concurrencyKey: 'account:42',
      concurrencyLimit: 2,
      runAfter: new Date('2025-01-01T12:00:00Z'),
      codeRef: 'abc123',
      pipLockHash: 'deadbeef',
    });
    expect(text).toBe(fixture);
    expect(await sha256Hex(text)).toBe(fixtureHash);
  });
});

const NO_PYTHON = 'python3 (the oracle for Python json.dumps) is not installed (Debian: apt-get install python3; .ci/run does)';
const HAS_PYTHON = hasCommand('python3');

describe('canonicalJson against Python json.dumps (property, one python3 per batch)', () => {
  beforeEach((ctx) => needs(ctx, HAS_PYTHON, NO_PYTHON));
  it('plain JSON values: unicode strings, safe ints, bools, null, nesting (400 cases)', async () => {
    await compareWithPython(sample(tree(plainLeaf), 400, 1), seed);
  });

  it('Django v1 specs from specJson (200 cases)', async () => {
    await compareSpecsWithPython(sample(specArb, 200, 2), seed);
  });

  it('bigint, PyFloat, non-integral numbers and Dates (300 cases)', async () => {
    await compareWithPython(sample(tree(extendedLeaf), 300, 3), seed);
  });

  it('keys sort by code point, not UTF-16 unit', async () => {
    const obj = { '\u{1f600}': 1, '\ue000': 2, b: 3, a: 4, ab: 5, '\uffff': 6, '\u{10000}': 7 };
    expect(canonicalJson(obj)).toBe('{"a":4,"ab":5,"b":3,"\ue000":2,"\uffff":6,"\u{10000}":7,"\u{1f600}":1}');
    await compareWithPython([obj], seed);
  });

  it('escapes only quote, backslash and C0 controls; / and U+2028 stay raw', async () => {
    const s = '"\\/\u2028\u2029\n\r\t\b\f\u0000\u001f\u007f<>&é\u{1f600}';
    expect(canonicalJson(s)).toBe('"\\"\\\\/\u2028\u2029\\n\\r\\t\\b\\f\\u0000\\u001f\u007f<>&é\u{1f600}"');
    await compareWithPython([s, { [s]: s }], seed);
  });

  it('a literal backslash followed by u0000 is ordinary text, escaped as Python escapes it', async () => {
    const input = { taskPath: 'tasks.echo', args: ['\\u0000', 'C:\\u0000dir'], kwargs: { note: '\\u0000', path: '\\\\u0000' } };
    expect(specJson(input)).toContain('"args":["\\\\u0000","C:\\\\u0000dir"]');
    await compareSpecsWithPython([input], seed);
  });

  it('pythonIsoformat matches datetime.isoformat() of aware UTC datetimes', () => {
    const dates = [
      ...sample(pyDate, 200, 4),
      new Date('2025-01-01T12:00:00Z'),
      new Date('2025-01-01T12:00:00.001Z'),
      new Date('0001-01-01T00:00:00Z'),
    ];
    const expected = runPython<string[]>(PY_ISOFORMAT, dates.map((d) => d.getTime()));
    expect(dates.map(pythonIsoformat)).toEqual(expected);
    expect(pythonIsoformat(new Date('2025-01-01T12:00:00.123Z'))).toBe('2025-01-01T12:00:00.123000+00:00');
    expect(pythonIsoformat(new Date('2025-01-01T12:00:00Z'))).toBe('2025-01-01T12:00:00+00:00');
  });

  it('Date values use the DjangoJSONEncoder form', () => {
    expect(canonicalJson(new Date('2025-01-01T12:00:00.123Z'))).toBe('"2025-01-01T12:00:00.123Z"');
    expect(canonicalJson(new Date('2025-01-01T12:00:00Z'))).toBe('"2025-01-01T12:00:00Z"');
  });
});

describe('numbers', () => {
  const table: [CanonicalValue, string][] = [
    [0.1, '0.1'],
    [1e-5, '1e-05'],
    [new PyFloat(1e16), '1e+16'],
    [123.456, '123.456'],
    [1.5, '1.5'],
    [-2.5, '-2.5'],
    [0.0001, '0.0001'],
    [1e-7, '1e-07'],
    [1.5e-10, '1.5e-10'],
    [5e-324, '5e-324'],
    [new PyFloat(1), '1.0'],
    [new PyFloat(100), '100.0'],
    [new PyFloat(1e15), '1000000000000000.0'],
    [new PyFloat(123456789012345680000), '1.2345678901234568e+20'],
    [new PyFloat(1.7976931348623157e308), '1.7976931348623157e+308'],
    [new PyFloat(0), '0.0'],
    [new PyFloat(-0), '-0.0'],
    [1, '1'],
    [-0, '0'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [-Number.MAX_SAFE_INTEGER, '-9007199254740991'],
    [2n ** 64n, '18446744073709551616'],
    [-(10n ** 30n), '-1000000000000000000000000000000'],
  ];

  it.each(table)('%s → %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('the float table agrees with Python repr', async (ctx) => {
    needs(ctx, HAS_PYTHON, NO_PYTHON);
    await compareWithPython(
      table.map(([v]) => v),
      seed,
    );
  });

  it('integral JS numbers are Python ints; PyFloat is the float marker', () => {
    expect(canonicalJson({ sleep_seconds: 0, ratio: 1 })).toBe('{"ratio":1,"sleep_seconds":0}');
    expect(canonicalJson({ ratio: new PyFloat(1) })).toBe('{"ratio":1.0}');
    expect(JSON.stringify({ ratio: new PyFloat(1.5) })).toBe('{"ratio":1.5}');
  });

  it.each([
    ['2^53', 2 ** 53],
    ['1e16', 1e16],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['PyFloat(-Infinity)', new PyFloat(Number.NEGATIVE_INFINITY)],
    ['PyFloat(NaN)', new PyFloat(Number.NaN)],
  ])('%s is refused with a typed error', (_name, value) => {
    expect(() => canonicalJson({ kwargs: { x: [value as CanonicalValue] } })).toThrow(CanonicalJsonError);
  });
});

describe('refused values', () => {
  class Thing {}
  const sparse: unknown[] = [1];
  sparse[2] = 3;
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: [string, unknown, string][] = [
    ['undefined', { a: undefined }, 'a'],
    ['a function', [() => 1], '0'],
    ['a symbol', { s: Symbol('x') }, 's'],
    ['a Map', { m: new Map() }, 'm'],
    ['a Set', [new Set()], '0'],
    ['a class instance', { kwargs: { t: new Thing() } }, 'kwargs.t'],
    ['a sparse array hole', { a: sparse }, 'a.1'],
    ['a cycle', cyclic, 'self'],
    ['a lone surrogate', { args: ['ok', 'x\ud800y'] }, 'args.1'],
    ['a lone surrogate in a key', { ['\udc00']: 1 }, '\udc00'],
    ['an invalid Date', { d: new Date(Number.NaN) }, 'd'],
    ['a Date before year 1', { d: new Date('-000001-01-01T00:00:00Z') }, 'd'],
    ['undefined at the root', undefined, '$'],
  ];

  it.each(cases)('%s', (_name, value, field) => {
    let caught: unknown;
    try {
      canonicalJson(value as CanonicalValue);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CanonicalJsonError);
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as CanonicalJsonError).field).toBe(field);
  });

  it('a surrogate pair is fine; a lone one is refused by sha256Hex too', async () => {
    expect(canonicalJson('\ud83d\ude00')).toBe('"\u{1f600}"');
    await expect(sha256Hex('\ud83d')).rejects.toThrow(CanonicalJsonError);
  });

  it('null-prototype objects are plain objects', () => {
    const o = Object.assign(Object.create(null) as Record<string, CanonicalValue>, { b: 1, a: 2 });
    expect(canonicalJson(o)).toBe('{"a":2,"b":1}');
  });
});

describe('specJson', () => {
  it('is canonicalJson of the spec it writes, with every key (1,000 cases, no Python needed)', () => {
    for (const input of sample(specArb, 1000, 5)) {
      const text = specJson(input);
      const spec = JSON.parse(text) as Record<string, CanonicalValue>;
      expect(text).toBe(canonicalJson(spec));
      expect(Object.keys(spec)).toHaveLength(13);
    }
  });

  it('writes Django\'s defaults', () => {
    expect(specJson({ taskPath: 't', queueName: '' })).toBe(
      '{"args":[],"concurrency_key":null,"concurrency_limit":0,"exec":{"max_attempts":3,"timeout_seconds":900},"kwargs":{},' +
        '"lock_key":null,"priority":0,"provenance":{"code_ref":null,"pip_lock_hash":null},"queue_name":"default",' +
        '"run_after":null,"takes_context":false,"task_path":"t","v":1}',
    );
  });

  const refusals: [string, SpecInput<CanonicalValue>, string][] = [
    ['a lone surrogate in args', { taskPath: 't', args: ['ok', 'x\ud800'] }, 'args.1'],
    ['a nested NaN in kwargs', { taskPath: 't', kwargs: { a: [Number.NaN] } }, 'kwargs.a.0'],
    ['an undefined argument', { taskPath: 't', args: [undefined as unknown as CanonicalValue] }, 'args.0'],
    ['a lone surrogate in the task path', { taskPath: 't\udc00' }, 'task_path'],
    ['a lone surrogate in code_ref', { taskPath: 't', codeRef: '\ud800' }, 'provenance.code_ref'],
    ['a fractional priority', { taskPath: 't', priority: 1.5 }, 'priority'],
    ['an unsafe max_attempts', { taskPath: 't', maxAttempts: 2 ** 60 }, 'max_attempts'],
    ['an invalid run_after', { taskPath: 't', runAfter: new Date(Number.NaN) }, 'run_after'],
  ];

  it.each(refusals)('%s names its key', (_name, input, field) => {
    // `field` is ValidationError's: the refusal is the caller's, never a TypeError.
    expect(() => specJson(input)).toThrow(expect.objectContaining({ field }));
  });
});

describe('sha256Hex', () => {
  it('matches node:crypto on UTF-8 text and on bytes', async () => {
    for (const s of ['', 'abc', 'é\u{1f600}\u2028', 'x'.repeat(100_000)]) {
      const want = createHash('sha256').update(s, 'utf8').digest('hex');
      expect(await sha256Hex(s)).toBe(want);
      expect(await sha256Hex(new TextEncoder().encode(s))).toBe(want);
    }
  });

  it('transientUtf8 gives TextEncoder\'s bytes, for a text short enough to reuse its buffer or not', () => {
    for (const s of ['', 'abc', 'é\u{1f600}\u2028', 'é'.repeat(16_000), 'é'.repeat(17_000), 'x'.repeat(100_000)]) {
      expect(Buffer.from(transientUtf8(s)).equals(Buffer.from(new TextEncoder().encode(s)))).toBe(true);
    }
  });
});

describe('Go beat periodic spec bytes (reproq-worker §5c)', () => {
  const base: PeriodicSpecFields = {
    taskPath: 'myapp.pt',
    args: [1],
    kwargs: { a: 1 },
    queueName: 'default',
    priority: 0,
    concurrencyKey: null,
    concurrencyLimit: 0,
    periodicName: 'test_pt',
    scheduledAt: new Date('2026-01-01T12:00:00Z'),
    maxAttempts: 3,
  };
  const goHash = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

  it('reproduces the documented example exactly', async () => {
    const want =
      '{"task_path":"myapp.pt","args":[1],"kwargs":{"a":1},"queue_name":"default","priority":0,"concurrency_key":null,' +
      '"concurrency_limit":0,"periodic_name":"test_pt","scheduled_at":"2026-01-01T12:00:00Z","exec":{"timeout_seconds":900,"max_attempts":3}}';
    expect(goPeriodicSpecBytes(base)).toBe(want);
    expect(await goPeriodicSpecHash(base)).toBe(goHash(want));
  });

  it('TestPeriodicSpecJSONKeys spec: field order, concurrency key, fraction truncated', () => {
    const bytes = goPeriodicSpecBytes({
      taskPath: 'app.tasks.sample',
      args: [1],
      kwargs: { k: 'v' },
      queueName: 'default',
      priority: 2,
      concurrencyKey: 'user:1',
      concurrencyLimit: 3,
      periodicName: 'nightly',
      scheduledAt: new Date('2025-01-01T00:00:00.999Z'),
      maxAttempts: 4,
    });
    expect(bytes).toBe(
      '{"task_path":"app.tasks.sample","args":[1],"kwargs":{"k":"v"},"queue_name":"default","priority":2,' +
        '"concurrency_key":"user:1","concurrency_limit":3,"periodic_name":"nightly","scheduled_at":"2025-01-01T00:00:00Z",' +
        '"exec":{"timeout_seconds":900,"max_attempts":4}}',
    );
    expect(Object.keys(JSON.parse(bytes) as object)).toEqual([
      'task_path', 'args', 'kwargs', 'queue_name', 'priority', 'concurrency_key', 'concurrency_limit', 'periodic_name', 'scheduled_at', 'exec',
    ]);
  });

  it('normalises an empty queue and max_attempts <= 0 like Go', () => {
    const bytes = goPeriodicSpecBytes({ ...base, queueName: '', maxAttempts: 0 });
    expect(bytes).toContain('"queue_name":"default"');
    expect(bytes).toContain('"max_attempts":3}}');
    expect(goPeriodicSpecBytes({ ...base, maxAttempts: -2 })).toContain('"max_attempts":3}}');
  });

  it('HTML-escapes < > & U+2028 U+2029 in Go strings and in args/kwargs', () => {
    const bytes = goPeriodicSpecBytes({
      ...base,
      taskPath: 'a<b>&c',
      periodicName: 'p\u2028\u2029',
      concurrencyKey: 'k&"\\\n\u0001\u007f/',
      args: ['<script>', { '<k>': '&amp;' }],
      kwargs: { s: 'line\u2028sep\u2029' },
    });
    expect(bytes).toBe(
      '{"task_path":"a\\u003cb\\u003e\\u0026c","args":["\\u003cscript\\u003e",{"\\u003ck\\u003e":"\\u0026amp;"}],' +
        '"kwargs":{"s":"line\\u2028sep\\u2029"},"queue_name":"default","priority":0,' +
        '"concurrency_key":"k\\u0026\\"\\\\\\n\\u0001\u007f/","concurrency_limit":0,"periodic_name":"p\\u2028\\u2029",' +
        '"scheduled_at":"2026-01-01T12:00:00Z","exec":{"timeout_seconds":900,"max_attempts":3}}',
    );
  });

  it('orders nested object keys like jsonb text (UTF-8 length, then bytes)', () => {
    // Expected text is PostgreSQL 15's `'…'::jsonb::text` for the same value, compacted by hand.
    const kwargs = {
      bb: 1,
      a: 2,
      ab: 3,
      é: 4,
      c: { zz: 1, y: 2 },
      x: '<a&b>\u2028\n\u0001\u007f/',
      n: [1.5e300, 1e-7, -0, 0.1, 100, 1.5],
      '\u{1f600}': 5,
      '\ue000': 6,
      zz: 7,
    };
    const bytes = goPeriodicSpecBytes({ ...base, args: [{ b: 1, a: [{ dd: 1, c: 2 }] }], kwargs });
    expect(bytes).toContain(
      `"args":[{"a":[{"c":2,"dd":1}],"b":1}],` +
        `"kwargs":{"a":2,"c":{"y":2,"zz":1},"n":[15${'0'.repeat(299)},0.0000001,0,0.1,100,1.5],` +
        `"x":"\\u003ca\\u0026b\\u003e\\u2028\\n\\u0001\u007f/","ab":3,"bb":1,"zz":7,"é":4,"\ue000":6,"\u{1f600}":5},`,
    );
  });

  it('RawJson (jsonb text) keeps number text verbatim and is compacted like Go', () => {
    const bytes = goPeriodicSpecBytes({
      ...base,
      args: new RawJson('[1.50, "a b <&>", {"k": [1, 2]}]'),
      kwargs: new RawJson('{"a": 1.0, "s": "x\\"y\u2028"}'),
    });
    expect(bytes).toContain('"args":[1.50,"a b \\u003c\\u0026\\u003e",{"k":[1,2]}],"kwargs":{"a":1.0,"s":"x\\"y\\u2028"},');
    expect(() => goPeriodicSpecBytes({ ...base, args: new RawJson('[1,') })).toThrow(CanonicalJsonError);
  });

  it('passes null args/kwargs through and rejects non-integers', () => {
    expect(goPeriodicSpecBytes({ ...base, args: null, kwargs: null })).toContain('"args":null,"kwargs":null,');
    expect(() => goPeriodicSpecBytes({ ...base, priority: 1.5 })).toThrow(ValidationError);
  });
});

describe('parsePeriodicPayload (reproq-worker periodic_test)', () => {
  it.each<[string, unknown, unknown, unknown]>([
    ['envelope', { args: [1, 'a'], kwargs: { k: 'v' } }, [1, 'a'], { k: 'v' }],
    ['args only', { args: [true] }, [true], {}],
    ['kwargs only', { kwargs: { a: 2 } }, [], { a: 2 }],
    ['bare array', ['x', 3], ['x', 3], {}],
    ['bare object', { flag: true }, [], { flag: true }],
    ['default {}', {}, [], {}],
    ['no payload', undefined, [], {}],
    ['envelope ignores other keys', { args: [1], queue: 'x' }, [1], {}],
    ['envelope null args pass through', { args: null, kwargs: null }, null, null],
    ['bare null decodes as args', null, null, {}],
  ])('%s', (_name, payload, args, kwargs) => {
    expect(parsePeriodicPayload(payload)).toEqual({ args, kwargs });
  });

  it.each<[string, unknown, RegExp]>([
    ['a string ("nope")', 'nope', /invalid payload JSON/],
    ['a number', 5, /invalid payload JSON/],
    ['a boolean', true, /invalid payload JSON/],
    ['envelope args not an array', { args: { a: 1 } }, /invalid periodic args/],
    ['envelope kwargs not an object', { args: [], kwargs: [1] }, /invalid periodic kwargs/],
  ])('%s is an error', (_name, payload, message) => {
    let caught: unknown;
    try {
      parsePeriodicPayload(payload);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PeriodicPayloadError);
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as PeriodicPayloadError).field).toBe('payload_json');
    expect((caught as Error).message).toMatch(message);
  });
});
