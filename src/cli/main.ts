import { CommanderError } from 'commander';
import { describeError } from '../db/errors.ts';
import { ConfigError, ReproqError, ValidationError } from '../errors.ts';
import { NO_SCHEMA_HINT } from './context.ts';
import { buildProgram } from './program.ts';

/** Exit codes follow upstream: 0 ok, 1 runtime or config error, 2 usage error. */
const program = buildProgram();
ignoreClosedStdout();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err, program.opts<{ verbose?: boolean }>().verbose === true);
}

function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // Help and version "errors" are normal exits.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof ValidationError) {
    console.error(`reproq: invalid ${err.message}`);
    return 2;
  }
  if (err instanceof ConfigError || err instanceof ReproqError) {
    console.error(`reproq: ${err.message}`);
    return 1;
  }
  const e = err as Error & { code?: string };
  const message = describeDbError(e);
  console.error(`reproq: ${message}`);
  if (verbose && e?.stack) console.error(e.stack);
  return 1;
}

/**
 * `reproq … | head` closes the pipe before we finish writing: the reader has what it wanted, so the command
 * goes on without printing (a worker keeps working) instead of dying of an unhandled EPIPE.
 */
function ignoreClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.stdout.write = (() => true) as typeof process.stdout.write;
  });
}

/** One line for the common "cannot reach the database" cases, instead of a driver stack trace. */
function describeDbError(e: Error & { code?: string; address?: string; port?: number }): string {
  switch (e?.code) {
    case '42P01':
      // undefined_table: a database nobody migrated (or the wrong one).
      return `${e.message}: ${NO_SCHEMA_HINT}`;
    case 'ECONNREFUSED':
      return `cannot reach the database at ${e.address ?? '?'}:${e.port ?? '?'} (connection refused)`;
    case 'ENOTFOUND':
      return `cannot reach the database: host not found (${e.message})`;
    case '28P01':
    case '28000':
      return `the database refused the credentials: ${e.message}`;
    case '3D000':
      return `the database does not exist: ${e.message}`;
    default:
      return describeError(e);
  }
}
