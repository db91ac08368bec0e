/**
 * Node loader for the migration files. The .sql files in /migrations are the source of truth; they are read
 * from disk at run time rather than bundled, because `migrate()` is an operator task run from Node
 * (`reproq migrate`). Workers and other edge bundles never import this module.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INDEX_SET_MIGRATIONS, type IndexSet, type Migration } from '../migrate.ts';
import { packagePath } from '../package-root.ts';

/** <package root>/migrations. */
export const MIGRATIONS_DIR = packagePath('migrations');

/** Every `NNNN_name.sql` in `dir`, sorted by name; the migration name is the file name without `.sql`. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^[0-9]{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({ name: file.slice(0, -'.sql'.length), sql: await readFile(join(dir, file), 'utf8') })),
  );
}

/** The opt-in file in <dir>/opt-in that installs an index set (see `lightIndexes` in MigrateOptions). */
export async function loadIndexMigration(set: IndexSet, dir: string = MIGRATIONS_DIR): Promise<Migration> {
  const name = INDEX_SET_MIGRATIONS[set];
  return { name, sql: await readFile(join(dir, 'opt-in', `${name}.sql`), 'utf8') };
}
