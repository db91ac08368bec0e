/**
 * Renders the README's command reference from the commander definitions, so the two cannot drift:
 * `npm run docs:cli` rewrites the block between the markers, and test/cli-docs.test.ts fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from './program.ts';

export const START = '<!-- cli-reference:start: generated from --help by `npm run docs:cli`; edit src/cli/commands instead -->';
export const END = '<!-- cli-reference:end -->';
export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** Fixed width, so the text does not depend on the terminal that generated it. */
const WIDTH = 110;

export function renderCliReference(): string {
  const sections: string[] = [];
  const visit = (cmd: Command, name: string) => {
    cmd.configureHelp({ helpWidth: WIDTH });
    sections.push(`#### \`${name}\`\n\n\`\`\`text\n${cmd.helpInformation().trimEnd()}\n\`\`\``);
    for (const sub of cmd.commands) visit(sub, `${name} ${sub.name()}`);
  };
  visit(buildProgram(), 'reproq');
  return `${START}\n${sections.join('\n\n')}\n${END}`;
}

/** The README with its reference block replaced by a fresh rendering. */
export function withFreshReference(readme: string): string {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from === -1 || to === -1) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return readme.slice(0, from) + renderCliReference() + readme.slice(to + END.length);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(README, withFreshReference(readFileSync(README, 'utf8')));
}
