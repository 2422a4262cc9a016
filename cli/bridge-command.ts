import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { HttpUrl, WorkspaceId, type BridgeConfig } from '../contract/bridge-config';
import { ConfigError, UsageError } from '../contract/errors';
import { loadConfig } from '../lambda/bridge/config';
import { runCycle, type CycleReport } from '../lambda/bridge/cycle';
import { consoleLogger, LOG_LEVELS, type BridgeLogger, type LogLevel } from '../lambda/bridge/logger';
import { createCycleDeps, createWarmCaches, resolveRemoteWrite } from '../lambda/bridge/runtime';

interface BridgeOptions {
  once?: boolean;
  dryRun?: boolean;
  config?: string;
  remoteWriteUrl?: string;
  workspace?: string;
  stateDir?: string;
  now?: number;
  resetState?: boolean;
  logLevel: LogLevel;
}

/** A whole CLI run may retry remote writes for this long. */
const CLI_WRITE_BUDGET_MS = 5 * 60 * 1000;

/** CloudWatch keeps 15 months of data; nothing before 2009 (its launch year) can be a sensible replay time. */
const EARLIEST_NOW = Date.UTC(2009, 0, 1);
/** Windows in the future only read empty periods; a day of clock skew is the most a replay can mean. */
const LATEST_NOW_AHEAD_MS = 24 * 3600 * 1000;
const NOW_FORM = 'expected an ISO 8601 time such as 2026-01-31T12:00:00Z, or epoch milliseconds such as 1769860800000';

export function parseInstant(value: string, wallClock = Date.now()): number {
  const trimmed = value.trim();
  const ms = /^-?\d+$/.test(trimmed) ? Number(trimmed) : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`"${value}" is not a time: ${NOW_FORM}`);
  if (/^\d+$/.test(trimmed) && ms > 0 && ms < EARLIEST_NOW && ms * 1000 >= EARLIEST_NOW) {
    throw new InvalidArgumentError(`${value} looks like epoch seconds; ${NOW_FORM} (here ${ms * 1000})`);
  }
  if (ms < EARLIEST_NOW) throw new InvalidArgumentError(`${value} is before 2009-01-01: ${NOW_FORM}`);
  if (ms > wallClock + LATEST_NOW_AHEAD_MS) throw new InvalidArgumentError(`${value} is more than a day in the future (${new Date(ms).toISOString()}): ${NOW_FORM}`);
  return ms;
}

/**
 * Creates a directory one level at a time. Node 20's recursive mkdirSync never returns for a path under a filesystem
 * that refuses new entries (/proc/iw spins at 100 % CPU); a plain mkdir of each missing level fails at once instead.
 */
function makeDirectory(directory: string): void {
  const missing: string[] = [];
  for (let dir = resolve(directory); ; dir = dirname(dir)) {
    try {
      if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (dirname(dir) === dir) break;
      missing.unshift(dir);
    }
  }
  for (const dir of missing) mkdirSync(dir);
}

/**
 * A local state directory that cannot be written would fail the cycle after its GetMetricData calls, which
 * CloudWatch bills: find out first, by creating the directory and a probe file in it.
 */
export function checkStateDirectory(directory: string): void {
  const probe = join(directory, `.inferwatch-probe-${process.pid}`);
  try {
    makeDirectory(directory);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    throw new ConfigError(
      `state directory ${directory} is not usable (${(error as Error).message}): nothing was read from CloudWatch; fix its permissions, or pass --state-dir (config key "state.directory") naming a writable directory`,
    );
  }
}

function configFor(options: BridgeOptions, env: NodeJS.ProcessEnv): BridgeConfig {
  if (options.remoteWriteUrl && options.workspace) throw new UsageError('--remote-write-url and --workspace conflict: give one (a workspace id resolves to its own remote-write URL)');
  if (options.remoteWriteUrl !== undefined) {
    const url = HttpUrl.safeParse(options.remoteWriteUrl);
    if (!url.success) throw new ConfigError(`--remote-write-url: ${url.error.issues[0]?.message ?? 'not a URL'}`);
  }
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
  if (!options.dryRun && fileConfig.state.type === 'file') checkStateDirectory(fileConfig.state.directory);
  // A dry run writes nothing, so it needs no workspace.
  const { config, workspace } = options.dryRun ? { config: fileConfig, workspace: undefined } : await resolveRemoteWrite(fileConfig, caches, undefined, logger);
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

/** `inferwatch bridge`: one cycle with --once, else one cycle per period until interrupted. */
export function bridgeCommand(): Command {
  return new Command('bridge')
    .description('run the CloudWatch -> Prometheus bridge: one cycle with --once, else one cycle per period until interrupted')
    .option('--once', 'run a single cycle and exit')
    .option('--dry-run', 'print the Prometheus text exposition of what would be written; write and commit nothing')
    .option('-c, --config <file>', 'YAML or JSON config file (default: $INFERWATCH_CONFIG_FILE, else JSON in $INFERWATCH_CONFIG, else built-in defaults)')
    .option('--remote-write-url <url>', 'remote-write URL (overrides remoteWrite.url and remoteWrite.workspaceId)')
    .option('--workspace <id>', 'AMP workspace id, ws-… (overrides remoteWrite.workspaceId and remoteWrite.url); resolved with DescribeWorkspace')
    .option('--state-dir <dir>', 'keep state in this local directory (overrides state)')
    .option('--now <time>', 'evaluate windows as if it were this time (ISO 8601 or epoch ms); for replays and tests', (value) => parseInstant(value))
    .option('--reset-state', 'start over: move the stored state aside (kept beside it) and count from the receiver\'s empty slate')
    .addOption(new Option('--log-level <level>', 'debug logs each AWS call and remote-write request with its timing').choices(LOG_LEVELS).default('info'))
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
}
