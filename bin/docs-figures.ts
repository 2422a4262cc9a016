#!/usr/bin/env node
// `npm run docs:figures`: reruns every command the documentation quotes and rewrites its block, so a figure in the
// README or docs/ is always what the command prints today. `--check` rewrites nothing and exits 1 when a block is
// stale (test/docs/figures.test.ts runs the same check).
//
// A quoted command sits between markers; the block between them is generated, never edited by hand:
//
//   <!-- figures: npx inferwatch cost --variants 100 -->
//   ```text
//   $ npx inferwatch cost --variants 100
//   …its output…
//   ```
//   <!-- /figures -->
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const MARKED = /<!-- figures: (.+?) -->\n[\s\S]*?<!-- \/figures -->/g;
const COMMAND = 'npx inferwatch ';

/** The markdown files that may quote a command: the README and the reference in docs/. */
export function documents(root = ROOT): string[] {
  return [join(root, 'README.md'), ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(root, 'docs', f))];
}

/**
 * The command's output as the reader would get it from a clone: the repository's `inferwatch`, run from the root,
 * with no bridge config in the environment (the figures are the defaults' unless the command names a file).
 */
export function runQuoted(command: string, root = ROOT): string {
  if (!command.startsWith(COMMAND)) throw new Error(`docs:figures: "${command}" is not an inferwatch command (quote only "${COMMAND}…")`);
  const args = command.slice(COMMAND.length).split(/\s+/).filter(Boolean);
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  delete env.INFERWATCH_CONFIG;
  delete env.INFERWATCH_CONFIG_FILE;
  const run = spawnSync(process.execPath, [join(root, 'bin', 'inferwatch.js'), ...args], { cwd: root, encoding: 'utf8', env });
  if (run.status !== 0) throw new Error(`docs:figures: "${command}" exited ${run.status}: ${run.stderr.trim()}`);
  return run.stdout;
}

/** The block as generated: the command after a prompt, then exactly what it printed. */
export function block(command: string, output: string): string {
  return `<!-- figures: ${command} -->\n\`\`\`text\n$ ${command}\n${output.endsWith('\n') ? output : `${output}\n`}\`\`\`\n<!-- /figures -->`;
}

export interface Figures {
  readonly file: string;
  readonly current: string;
  readonly generated: string;
}

/** Every marked block of one file, rerun. */
export function regenerate(file: string, root = ROOT): Figures {
  const current = readFileSync(file, 'utf8');
  const generated = current.replace(MARKED, (_whole, command: string) => block(command, runQuoted(command, root)));
  return { file, current, generated };
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  let stale = 0;
  for (const file of documents()) {
    const figures = regenerate(file);
    if (figures.generated === figures.current) continue;
    stale += 1;
    if (check) process.stderr.write(`docs:figures: ${relative(ROOT, file)} quotes output that its commands no longer print; run npm run docs:figures\n`);
    else {
      writeFileSync(file, figures.generated);
      process.stdout.write(`docs:figures: rewrote ${relative(ROOT, file)}\n`);
    }
  }
  return check && stale > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
