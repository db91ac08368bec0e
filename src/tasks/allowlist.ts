import type { Logger } from '../logger.ts';
import { DEBUG_TASKS } from './debug.ts';
import type { TaskRegistry } from './registry.ts';

/**
 * Upstream's task allow-list (`ALLOWED_TASK_MODULES`): a task path must start with one of the
 * prefixes; `*` allows all. A plain prefix test, so `myapp.tasks.` does not admit
 * `myapp.tasks_bypass`. When no list is set, the registry's own paths are allowed: upstream's
 * worker derives its list from the tasks it discovered, and a drain only ever runs registered
 * tasks. (Upstream's last-resort default, `myapp.tasks.,tasks.`, would fail every other task with
 * `security_violation`.)
 */
export function parseAllowList(raw: string | readonly string[] | undefined): string[] {
  const items = typeof raw === 'string' ? raw.split(',') : (raw ?? []);
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The prefix test of an explicit list. */
export function isAllowed(taskPath: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => p === '*' || taskPath.startsWith(p));
}

/**
 * Whether a drain may run a task: the one place the rule is applied. An explicit list decides;
 * with none (empty), a registered path is allowed.
 */
export function mayRun(taskPath: string, configured: readonly string[], registry: TaskRegistry): boolean {
  return configured.length === 0 ? registry.get(taskPath) !== undefined : isAllowed(taskPath, configured);
}

export interface AllowListReport {
  /** `registry` when no list is set: every registered task may run. */
  source: 'configured' | 'registry';
  /** Registered tasks (the user's) the explicit list rejects: they would end FAILED with security_violation. */
  rejected: string[];
  /** The built-in upstream debug tasks the list rejects (`reproq stress-test` rows would fail). */
  rejectedBuiltins: string[];
}

export function allowListReport(configured: readonly string[], registry: TaskRegistry): AllowListReport {
  const source = configured.length === 0 ? 'registry' : 'configured';
  const builtins = new Set<unknown>(DEBUG_TASKS);
  const out = registry.paths().filter((p) => !mayRun(p, configured, registry));
  return {
    source,
    rejected: out.filter((p) => !builtins.has(registry.get(p))),
    rejectedBuiltins: out.filter((p) => builtins.has(registry.get(p))),
  };
}

/**
 * At startup (worker, drain, serve, and the Worker/Lambda/Vercel apps): warns when an explicit
 * allow-list rejects tasks the registry has, which would otherwise only show as failed tasks.
 */
export function warnAllowList(configured: readonly string[], registry: TaskRegistry, log: Logger): AllowListReport {
  const report = allowListReport(configured, registry);
  if (report.rejected.length > 0) {
    log.warn('ALLOWED_TASK_MODULES rejects registered tasks: they will fail with security_violation', {
      allowed: configured.join(','),
      rejected: report.rejected,
      fix: 'add their modules to ALLOWED_TASK_MODULES (reproq allowlist --write), or unset it to allow every registered task',
    });
  }
  return report;
}

/** The smallest prefix list that admits every registered path: each path's module part plus a dot. */
export function allowListFor(taskPaths: readonly string[]): string[] {
  const modules = new Set<string>();
  for (const path of taskPaths) {
    const cut = path.lastIndexOf('.');
    modules.add(cut > 0 ? path.slice(0, cut + 1) : path);
  }
  return [...modules].sort();
}
