/**
 * Upstream's task allow-list: a task path must start with one of the prefixes; `*` allows all;
 * an empty list means upstream's defaults. A plain prefix test, so `myapp.tasks.` does not admit
 * `myapp.tasks_bypass`.
 */
export const DEFAULT_ALLOWED_TASK_MODULES: readonly string[] = ['myapp.tasks.', 'tasks.'];

export function parseAllowList(raw: string | readonly string[] | undefined): string[] {
  const items = typeof raw === 'string' ? raw.split(',') : (raw ?? []);
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}

export function isAllowed(taskPath: string, prefixes: readonly string[]): boolean {
  const effective = prefixes.length > 0 ? prefixes : DEFAULT_ALLOWED_TASK_MODULES;
  return effective.some((p) => p === '*' || taskPath.startsWith(p));
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
