import path from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

/**
 * Ends the run with one line per reason tests were skipped for (`ctx.skip(reason)`, see
 * test/support/needs.ts), which the default reporter does not show.
 */
export default class SkipReasons implements Reporter {
  private readonly skipped = new Map<string, string[]>();

  onTestCaseResult(test: TestCase): void {
    const result = test.result();
    if (result.state !== 'skipped' || !result.note) return;
    const key = `${path.relative(process.cwd(), test.module.moduleId)}: ${result.note}`;
    this.skipped.set(key, [...(this.skipped.get(key) ?? []), test.name]);
  }

  onTestRunEnd(): void {
    for (const [key, names] of this.skipped) {
      console.log(`skipped ${names.length === 1 ? `"${names[0]}"` : `${names.length} tests`} in ${key}`);
    }
  }
}
