import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliDsn, findConfigFile, loadCliConfig, readConfigFile } from '../src/cli/config-file.ts';
import { ConfigError } from '../src/errors.ts';

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(tmpdir(), 'reproq-cfg-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(d, name), text);
  return d;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('config file layer', () => {
  it('discovers upstream names in order, REPROQ_CONFIG before them and --config before both', () => {
    const d = dir({ 'reproq.toml': '', '.reproq.yaml': '', 'other.yml': '' });
    expect(findConfigFile(undefined, {}, d)).toBe('reproq.toml');
    expect(findConfigFile(undefined, { REPROQ_CONFIG: 'other.yml' }, d)).toBe('other.yml');
    expect(findConfigFile('.reproq.yaml', { REPROQ_CONFIG: 'other.yml' }, d)).toBe('.reproq.yaml');
    expect(findConfigFile(undefined, {}, dir({}))).toBeUndefined();
    expect(errorOf(() => findConfigFile('missing.yaml', {}, d)).message).toMatch(/--config: config file not found: missing.yaml/);
  });

  it("reads an upstream file: empty values are unset, executor-only keys are ignored, sources carry lines", () => {
    const d = dir({
      'reproq.yaml': ['dsn: "postgres://u:secret@db/app"', 'worker:', '  dsn: ""', '  python_bin: python3', '  concurrency: 4', '  queues: [a, b]'].join('\n'),
    });
    const file = readConfigFile('reproq.yaml', d);
    expect(file.ignored).toEqual(['worker.python_bin']);
    expect(file.values).toEqual({ dsn: 'postgres://u:secret@db/app', worker: { concurrency: 4, queues: ['a', 'b'] } });
    expect(file.lineOf('worker.queues')).toBe(6);
  });

  it.each([
    ['reproq.yaml', 'worker:\n  concurency: 3\n', 'reproq.yaml:2', /worker\.concurency: unknown key/],
    ['reproq.yaml', 'beat:\n  interval: 5x\n', 'reproq.yaml:2', /beat\.interval/],
    ['reproq.yaml', 'worker: [1\n', 'reproq.yaml:', /invalid YAML/],
    ['reproq.toml', 'dsn = "x"\n[worker]\nconcurrency = "many"\n', 'reproq.toml:3', /worker\.concurrency/],
    ['reproq.toml', '[metrics]\nport = 1\nnope = 2\n', 'reproq.toml:3', /metrics\.nope: unknown key/],
    ['reproq.toml', '[worker]\nqueues = [\n', 'reproq.toml:', /invalid TOML/],
    ['reproq.json', '{}', 'reproq.json', /unsupported config extension/],
  ])('%s with %j fails naming %s', (name, text, where, message) => {
    const err = errorOf(() => readConfigFile(name, dir({ [name]: text })));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable.startsWith(where)).toBe(true);
    expect(err.message).toMatch(message);
  });

  it('layers defaults < file < env < flags; --dsn beats DATABASE_URL beats the file, whatever its key', () => {
    const d = dir({ 'reproq.yaml': 'worker:\n  dsn: postgres://file/w\n  concurrency: 4\n  queues: [q]\n' });
    const cwd = process.cwd();
    process.chdir(d);
    try {
      const env = { DATABASE_URL: 'postgres://env/db', QUEUE_NAMES: 'e1,e2' };
      const cfg = loadCliConfig({ env, flags: [{ key: 'worker.concurrency', flag: '--concurrency', value: 7 }] });
      expect(cfg.config.worker).toMatchObject({ concurrency: 7, queues: ['e1', 'e2'] });
      expect(cfg.sources['worker.concurrency']).toBe('flag:--concurrency');
      expect(cfg.sources['worker.queues']).toBe('env:QUEUE_NAMES');
      expect(cliDsn(cfg)).toEqual({ dsn: 'postgres://env/db', source: 'env:DATABASE_URL' });
      expect(cliDsn(loadCliConfig({ env: {} }))).toEqual({ dsn: 'postgres://file/w', source: 'file:reproq.yaml:2' });
      const flagged = loadCliConfig({ env, flags: [{ key: 'dsn', flag: '--dsn', value: 'postgres://flag/db' }] });
      expect(cliDsn(flagged)?.dsn).toBe('postgres://flag/db');
    } finally {
      process.chdir(cwd);
    }
  });
});
