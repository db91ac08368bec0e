import { spawnSync } from 'node:child_process';
import type { TestContext } from 'vitest';

/** CI=true (what .ci/run runs under): every tool the suite can use is installed, so nothing may skip. */
export const IN_CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

/** Whether `command args` runs and exits 0 on this machine. */
export function hasCommand(command: string, args: readonly string[] = ['--version']): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/**
 * Call first in a test that needs something a plain machine may lack (pg_cron, systemd-analyze,
 * promtool, pgbouncer, python3): where it is missing the test skips, and the run ends with the
 * one-line `reason` (test/support/skip-reasons.ts prints it). Under CI=true it fails instead.
 */
export function needs(ctx: TestContext, present: boolean, reason: string): void {
  if (present) return;
  if (IN_CI) throw new Error(`${reason} (CI=true: .ci/run installs it, so this fails instead of skipping)`);
  ctx.skip(reason);
}
