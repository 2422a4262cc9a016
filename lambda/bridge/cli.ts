#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, WorkspaceId, type BridgeConfig } from './config';
import { runCycle, type CycleReport } from './cycle';
import { doctorCommand } from './doctor/command';
import { consoleLogger, type BridgeLogger } from './logger';
import { createCycleDeps, createWarmCaches, resolveRemoteWrite } from './runtime';

interface BridgeOptions {
  once?: boolean;
  dryRun?: boolean;
  config?: string;
  remoteWriteUrl?: string;
  workspace?: string;
  stateDir?: string;
  now?: number;
  resetState?: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** A whole CLI run may retry remote writes for this long. */
const CLI_WRITE_BUDGET_MS = 5 * 60 * 1000;

function parseInstant(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected an ISO 8601 time or epoch milliseconds');
  return ms;
}

function configFor(options: BridgeOptions, env: NodeJS.ProcessEnv): BridgeConfig {
  if (options.remoteWriteUrl && options.workspace) throw new ConfigError('--remote-write-url and --workspace conflict: give one (a workspace id resolves to its own remote-write URL)');
  const overrides: NodeJS.ProcessEnv = { ...env };
  if (options.remoteWriteUrl) overrides.INFERWATCH_REMOTE_WRITE_URL = options.remoteWriteUrl;
  if (options.stateDir) overrides.INFERWATCH_STATE_DIR = options.stateDir;
  const config = loadConfig(overrides, options.config);
  if (options.workspace !== undefined) {
    const parsed = WorkspaceId.safeParse(options.workspace);
    if (!parsed.success) throw new ConfigError(`--workspace ${options.workspace}: ${parsed.error.issues[0]?.message ?? 'not an AMP workspace id'}`);
  }
  // Flags beat the file: a one-off preview or a different receiver without editing it. Either flag replaces both keys of the file.
  const target = options.remoteWriteUrl
    ? { url: options.remoteWriteUrl, workspaceId: undefined }
    : options.workspace
      ? { url: undefined, workspaceId: options.workspace }
      : { url: config.remoteWrite.url, workspaceId: config.remoteWrite.workspaceId };
  return {
    ...config,
    remoteWrite: { ...config.remoteWrite, ...target },
    state: options.stateDir ? { type: 'file', directory: options.stateDir } : config.state,
  };
}

function summary(report: CycleReport, dryRun: boolean): string {
  if (!report.window) return 'nothing to do: no new settled period since the last cycle';
  const window = `${new Date(report.window.start).toISOString()} .. ${new Date(report.window.end).toISOString()}`;
  const rejected = Object.entries(report.rejected).map(([reason, n]) => `${n} ${reason}`);
  return [
    `${dryRun ? 'would write' : 'wrote'} ${report.samples} samples in ${report.series} series (${report.batches} request${report.batches === 1 ? '' : 's'})`,
    `for ${window}`,
    `from ${report.metricsDiscovered} CloudWatch metrics, ${report.queries} queries in ${report.getMetricDataCalls} GetMetricData call${report.getMetricDataCalls === 1 ? '' : 's'}`,
    ...(report.replayedBatches > 0 ? [`after replaying ${report.replayedBatches} journaled request(s)`] : []),
    ...(rejected.length > 0 ? [`rejected: ${rejected.join(', ')}`] : []),
    ...(report.alreadyStored > 0 ? [`${report.alreadyStored} samples found already stored by a retry (a lost response; nothing missing)`] : []),
    ...(report.skippedTooOld > 0 ? [`not written: ${report.skippedTooOld} datapoints older than the receiver accepts (remoteWrite.maxSampleAge; counters carried their sums)`] : []),
  ].join('; ');
}

/** Resolves the workspace and builds the clients once; each call runs one cycle with a fresh remote-write budget. */
async function cycleRunner(fileConfig: BridgeConfig, options: BridgeOptions, logger: BridgeLogger): Promise<() => Promise<CycleReport>> {
  const offset = options.now === undefined ? 0 : options.now - Date.now();
  let deadline = 0;
  let resetOnce = Boolean(options.resetState);
  const caches = createWarmCaches();
  // A dry run writes nothing, so it needs no workspace.
  const { config, workspace } = options.dryRun ? { config: fileConfig, workspace: undefined } : await resolveRemoteWrite(fileConfig, caches);
  if (workspace) logger.info('writing to AMP workspace', { workspaceId: workspace.workspaceId, alias: workspace.alias, remoteWriteUrl: workspace.remoteWriteUrl });
  const { deps, catalog } = createCycleDeps(
    config,
    { logger, env: process.env, caches, deadline: () => deadline, now: () => Date.now() + offset, output: (text) => process.stdout.write(text) },
    !options.dryRun,
  );
  return async () => {
    deadline = Date.now() + CLI_WRITE_BUDGET_MS;
    const report = await runCycle(config, catalog, deps, { dryRun: options.dryRun, resetState: resetOnce });
    resetOnce = false;
    process.stderr.write(`inferwatch: ${summary(report, Boolean(options.dryRun))}\n`);
    return report;
  };
}

export function buildProgram(): Command {
  const program = new Command('inferwatch').description('SageMaker and Neuron metrics from CloudWatch into Prometheus remote write');
  program
    .command('bridge')
    .description('run the CloudWatch -> Prometheus bridge: one cycle with --once, else one cycle per period until interrupted')
    .option('--once', 'run a single cycle and exit')
    .option('--dry-run', 'print the Prometheus text exposition of what would be written; write and commit nothing')
    .option('-c, --config <file>', 'YAML or JSON config file (default: $INFERWATCH_CONFIG_FILE, else JSON in $INFERWATCH_CONFIG, else built-in defaults)')
    .option('--remote-write-url <url>', 'remote-write URL (overrides remoteWrite.url and remoteWrite.workspaceId)')
    .option('--workspace <id>', 'AMP workspace id, ws-… (overrides remoteWrite.workspaceId and remoteWrite.url); resolved with DescribeWorkspace')
    .option('--state-dir <dir>', 'keep state in this local directory (overrides state)')
    .option('--now <time>', 'evaluate windows as if it were this time (ISO 8601 or epoch ms); for replays and tests', parseInstant)
    .option('--reset-state', 'start over: move the stored state aside (kept beside it) and count from the receiver\'s empty slate')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (options: BridgeOptions) => {
      const logger = consoleLogger(options.logLevel);
      const config = configFor(options, process.env);
      const runCycleOnce = await cycleRunner(config, options, logger);
      if (options.once || options.dryRun) {
        await runCycleOnce();
        return;
      }
      logger.info('running one cycle per period; Ctrl-C to stop', { period: config.period });
      let stopping = false;
      process.once('SIGINT', () => (stopping = true));
      process.once('SIGTERM', () => (stopping = true));
      while (!stopping) {
        try {
          await runCycleOnce();
        } catch (error) {
          if (error instanceof ConfigError) throw error;
          logger.error('cycle failed; the next cycle retries the same window', { error: (error as Error).message });
        }
        const waitUntil = Date.now() + config.period * 1000;
        while (!stopping && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 250));
      }
    });
  program.addCommand(doctorCommand());
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: Error) => {
      process.stderr.write(`inferwatch: ${error instanceof ConfigError ? 'invalid configuration: ' : ''}${error.message}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    });
}
