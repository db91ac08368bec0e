/**
 * Files this package ships beside its code (migrations/, bin/), found from this module: the
 * nearest directory above it with a package.json is the package root, whether this runs from
 * src/ in a clone or from dist/src/ in node_modules. Node-only; edge bundles never import it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

export const PACKAGE_ROOT = findRoot();

/** An absolute path inside the package, e.g. `packagePath('migrations')`. */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}
