#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, UsageError } from '../contract/errors';
import { redactText } from '../lambda/bridge/redact';
import { bridgeCommand } from './bridge-command';
import { configCommand } from './config-command';
import { costCommand } from './cost-command';
import { doctorCommand } from './doctor/command';
import { nodeSupportNotice } from './node-support';

/** Usage errors (unknown option, bad flag value) and configuration errors exit 2; a failed cycle exits 1. */
export const EXIT_USAGE = 2;
export const EXIT_FAILED = 1;

/** The package's version, from the package.json next to the sources (tsx) or the build output (dist/). */
export function packageVersion(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'inferwatch' && pkg.version) return pkg.version;
    } catch {
      // not here; look one directory up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command('inferwatch')
    .description('SageMaker and Neuron metrics from CloudWatch into Prometheus remote write')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Usage errors must not exit 1 (that means "the cycle failed"): commander throws, main() picks the code.
    .exitOverride();
  for (const command of [bridgeCommand(), doctorCommand(), configCommand(), costCommand()]) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
    program.addCommand(command);
  }
  return program;
}

let quietOnClosedStdout = false;

/**
 * `inferwatch bridge --dry-run | head`: once the reader has gone, nothing more can be shown, so the command ends
 * quietly (exit 0) instead of with an EPIPE stack trace. A dry run commits nothing, so stopping anywhere is safe.
 */
function endQuietlyWhenStdoutCloses(): void {
  if (quietOnClosedStdout) return;
  quietOnClosedStdout = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    process.stderr.write(`inferwatch: cannot write to stdout: ${error.message}\n`);
    process.exit(EXIT_FAILED);
  });
}

/** Runs the CLI; resolves to the exit code. Commander has already printed its own usage errors. */
export async function main(argv: readonly string[]): Promise<number> {
  endQuietlyWhenStdoutCloses();
  const notice = nodeSupportNotice(process.version, process.env, argv);
  if (notice !== undefined) process.stderr.write(`${notice}\n`);
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    const message = redactText((error as Error).message);
    process.stderr.write(`inferwatch: ${error instanceof ConfigError ? 'invalid configuration: ' : ''}${message}\n`);
    return error instanceof ConfigError || error instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
  }
}

if (require.main === module) {
  // Success lets stdout drain on its own; a failure must not wait for open sockets.
  void main(process.argv).then((code) => (code === 0 ? (process.exitCode = 0) : process.exit(code)));
}
