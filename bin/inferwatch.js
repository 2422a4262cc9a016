#!/usr/bin/env node
// The `inferwatch` command. In a clone (TypeScript sources and tsx present, no build needed) it runs the sources,
// so it never runs a stale build; in the packed package (no sources, no tsx) it runs the compiled dist/.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'cli', 'main.ts');

function hasTsx() {
  try {
    require.resolve('tsx/cjs', { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

let cli;
if (existsSync(source) && hasTsx()) {
  require(require.resolve('tsx/cjs', { paths: [root] }));
  cli = require(source);
} else {
  cli = require(join(root, 'dist', 'cli', 'main.js'));
}
cli.main(process.argv).then((code) => {
  // Success lets stdout drain on its own; a failure must not wait for open sockets.
  if (code === 0) process.exitCode = 0;
  else process.exit(code);
});
