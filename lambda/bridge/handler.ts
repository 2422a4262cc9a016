import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { BridgeConfig } from '../../contract/bridge-config';
import { forShard } from './config';
import { runCycle } from './cycle';
import { AnotherRunError } from './state/store';
import { loadDeployedConfig } from './deployed-config';
import { redactingLogger, type BridgeLogger } from './logger';
import { createCycleDeps, createWarmCaches, resolveRemoteWrite } from './runtime';

const powertools = new Logger({ serviceName: 'inferwatch-bridge' });
const logger: BridgeLogger = redactingLogger({
  debug: (message, extra) => powertools.debug(message, extra ?? {}),
  info: (message, extra) => powertools.info(message, extra ?? {}),
  warn: (message, extra) => powertools.warn(message, extra ?? {}),
  error: (message, extra) => powertools.error(message, extra ?? {}),
});
/** EMF metrics for the CloudWatch alarms that watch the bridge itself (the Prometheus self-metrics need the bridge to work). */
const metrics = new Metrics({ namespace: 'inferwatch', serviceName: 'inferwatch-bridge' });
// Parsed once per container: a bad config fails the first invocation loudly, before any API call.
const config = loadDeployedConfig(process.env);
const caches = createWarmCaches();

/** The EMF dimension the CloudWatchBridge construct's per-shard lag alarms select. */
export const SHARD_DIMENSION = 'Shard';

/** Stop starting remote-write retries this long before Lambda's timeout, so the cycle can still journal and report. */
const SAFETY_MARGIN_MS = 5_000;

/** Epoch ms after which this invocation starts no remote-write retry; set at each invocation. */
let deadline = 0;
/** Clients, state store and catalog, built once per shard and reused by warm invocations. */
const runtimes = new Map<string, { shardConfig: BridgeConfig } & ReturnType<typeof createCycleDeps>>();

async function shardRuntime(index: number, count: number, functionArn: string) {
  const key = `${index}/${count}`;
  let runtime = runtimes.get(key);
  if (!runtime) {
    // A workspace id becomes its URL here, before the cycle exists: a workspace that is not ACTIVE costs no CloudWatch call.
    const shardConfig = (await resolveRemoteWrite(forShard(config, index, count), caches)).config;
    const accountId = functionArn.split(':')[4];
    runtime = { shardConfig, ...createCycleDeps(shardConfig, { logger, env: process.env, caches, accountId, deadline: () => deadline }, true) };
    runtimes.set(key, runtime);
  }
  return runtime;
}

/** What an invocation returns: a skipped run is one that found another run of its shard at work. */
export interface BridgeResult {
  readonly samples: number;
  readonly highWaterMark?: string;
  readonly skipped?: true;
}

/** What EventBridge Scheduler sends: the shard this invocation serves. */
export interface BridgeEvent {
  readonly shard?: number;
  readonly shards?: number;
}

/** Scheduled by EventBridge Scheduler: one bridge cycle per invocation. */
export async function handler(event: BridgeEvent | undefined, context: Context): Promise<BridgeResult> {
  deadline = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
  const shard = event?.shard ?? config.shard.index;
  const { shardConfig, deps, catalog } = await shardRuntime(shard, event?.shards ?? config.shard.count, context.invokedFunctionArn);
  // Per shard, so the lag alarm of a stopped shard cannot be kept quiet by the others (publishing clears it again).
  metrics.addDimension(SHARD_DIMENSION, String(shard));
  try {
    const report = await runCycle(shardConfig, catalog, deps).catch((error: unknown) => {
      if (!(error instanceof AnotherRunError)) throw error;
      return error;
    });
    if (report instanceof AnotherRunError) {
      // A duplicate delivery: the other run does the work. Failing here would fire the Errors and DeadLetters alarms.
      logger.info('skipped: another run of this shard is at work', { shard, reason: report.message });
      metrics.addMetric('CyclesSkipped', MetricUnit.Count, 1);
      return { samples: 0, skipped: true };
    }
    if (report.highWaterMark !== undefined) metrics.addMetric('BridgeLagSeconds', MetricUnit.Seconds, (Date.now() - report.highWaterMark) / 1000);
    metrics.addMetric('SamplesWritten', MetricUnit.Count, report.samples);
    return { samples: report.samples, highWaterMark: report.highWaterMark === undefined ? undefined : new Date(report.highWaterMark).toISOString() };
  } finally {
    metrics.publishStoredMetrics();
  }
}
