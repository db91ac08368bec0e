import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { parseDocument } from 'yaml';
import { ConfigError } from '../../errors.ts';
import { allowListFor } from '../../tasks/allowlist.ts';
import { oneOf } from '../args.ts';
import { findConfigFile, readConfigFile } from '../config-file.ts';
import { commandConfig, loadTasks, output } from '../context.ts';

export function registerAllowlist(program: Command): void {
  program
    .command('allowlist')
    .description('compute ALLOWED_TASK_MODULES from the tasks module (one prefix per module, as upstream)')
    .option('--tasks <path>', 'tasks module (default: REPROQ_TASKS, then tasks in the config file)')
    .option('--config <file>', 'config file to read, and to update with --write')
    .option('--format <fmt>', 'env (ALLOWED_TASK_MODULES=…) | plain', oneOf(['env', 'plain'] as const), 'env')
    .option('--show-tasks', 'list the task paths found')
    .option('--write', 'set worker.allowed_task_modules in the config file (YAML comments are kept)')
    .option('--json', 'print {tasks, allowed, written} as JSON')
    .action(async (flags: { tasks?: string; config?: string; format: 'env' | 'plain'; showTasks?: boolean; write?: boolean; json?: boolean }) => {
      // Where to write is checked first: with no config file, the next step is `reproq init`, not the tasks module.
      const file = flags.write ? findConfigFile(flags.config) : undefined;
      if (flags.write && file === undefined) {
        throw new ConfigError('--write', 'no config file to write (reproq.yaml, reproq.toml or .reproq.*): run `reproq init` first, or pass --config FILE');
      }
      const cfg = commandConfig(flags);
      const registry = await loadTasks(flags.tasks ?? cfg.config.tasks);
      const tasks = registry.paths();
      const allowed = allowListFor(tasks);
      let written: string | null = null;
      if (file !== undefined) {
        writeAllowList(file, allowed);
        readConfigFile(file); // the rewritten file must still load
        written = file;
      }
      output(flags.json, { tasks, allowed, written }, () => {
        const lines: string[] = [];
        if (flags.showTasks) lines.push('Task paths:', ...tasks.map((t) => `  - ${t}`));
        if (written) lines.push(`Updated allowlist in ${written}`);
        lines.push(flags.format === 'env' ? `ALLOWED_TASK_MODULES=${allowed.join(',')}` : allowed.join(','));
        return lines.join('\n');
      });
    });
}

/** Sets worker.allowed_task_modules in place: YAML through its document (comments survive), TOML re-emitted. */
function writeAllowList(file: string, allowed: string[]): void {
  const text = readFileSync(file, 'utf8');
  if (/\.ya?ml$/i.test(file)) {
    const doc = parseDocument(text);
    doc.setIn(['worker', 'allowed_task_modules'], doc.createNode(allowed, { flow: true }));
    writeFileSync(file, doc.toString());
    return;
  }
  // smol-toml keeps no comments; upstream's TOML writer loses them too.
  const data = parseToml(text) as Record<string, unknown>;
  const worker = (data.worker ??= {}) as Record<string, unknown>;
  worker.allowed_task_modules = allowed;
  writeFileSync(file, `${stringifyToml(data)}\n`);
}
