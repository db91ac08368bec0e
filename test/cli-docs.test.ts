import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, withFreshReference } from '../src/cli/docs.ts';

describe('README command reference', () => {
  it('matches --help of every command (regenerate with `npm run docs:cli`)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toBe(withFreshReference(readme));
  });
});
