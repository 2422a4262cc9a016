import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Command, InvalidArgumentError } from 'commander';
import { SERIES_PER_NEURON_HOST } from '../contract/constants';
import { instrumentAwsClient } from '../lambda/bridge/aws-calls';
import { Catalog } from '../lambda/bridge/catalog/catalog';
import { DiscoveryCache, discoverMetrics } from '../lambda/bridge/cloudwatch/discovery';
import { QueryPlan } from '../lambda/bridge/cloudwatch/plan';
import { UsageError } from '../contract/errors';
import { loadConfig } from '../lambda/bridge/config';
import { estimateCost, formatCost, formatLatencyModeCosts, highResolutionExtraSamples, latencyModeCosts, METADATA_SERIES_PER_VARIANT, streamUpdates, variantLoad, type FleetLoad } from './cost';
import { consoleLogger } from '../lambda/bridge/logger';
import { ApiCallCounter } from '../lambda/bridge/self-metrics';

interface CostFlags {
  config?: string;
  endpoints?: number;
  variants?: number;
  neuronHosts: number;
  scheduleMinutes: number;
  hostScrapeSeconds: number;
  discover?: boolean;
}

function count(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number (got "${value}")`);
    return Number(value);
  };
}

/** The load measured from ListMetrics: the queries the bridge would plan, and the variants seen. */
async function discoveredLoad(catalog: Catalog, config: ReturnType<typeof loadConfig>, cloudwatch: CloudWatchClient): Promise<{ load: Omit<FleetLoad, 'hostSeries' | 'hostScrapeSeconds'>; summary: string }> {
  const metrics = await discoverMetrics(cloudwatch, config.namespaces, new DiscoveryCache(), Date.now(), 0, new ApiCallCounter());
  const plan = new QueryPlan(metrics, catalog, {}, config.maxLabelValueLength, { period: config.period, highResolution: config.highResolution });
  const variants = new Set(
    metrics
      .filter((m) => m.namespace === 'AWS/SageMaker')
      .map((m) => {
        const d = Object.fromEntries(m.dimensions.map((x) => [x.Name, x.Value]));
        return d.EndpointName && d.VariantName ? `${d.EndpointName}/${d.VariantName}` : undefined;
      })
      .filter((v) => v !== undefined),
  ).size;
  const streamUpdatesPerMinute = metrics.reduce((n, m) => n + streamUpdates(catalog.resolve(m.namespace, m.metricName).series.map((s) => s.stat)), 0);
  return {
    load: {
      queries: plan.size,
      queriesFiveStats: plan.billedFiveStats,
      streamUpdatesPerMinute,
      bridgeSeries: plan.seriesCount + METADATA_SERIES_PER_VARIANT * variants,
      bridgeSamplesPerPeriod: plan.samplesPerPeriod + METADATA_SERIES_PER_VARIANT * variants,
    },
    summary: `discovered ${metrics.length} CloudWatch metrics in ${config.namespaces.join(', ')} (${variants} production variants): ${plan.size} queries a cycle, ${plan.billedFiveStats} metrics of up to 5 statistics`,
  };
}

/** `inferwatch cost`: a month's CloudWatch and AMP bill for a fleet, beside the alternatives. */
export function costCommand(): Command {
  return new Command('cost')
    .description('estimate the monthly CloudWatch and AMP bill of a fleet: the bridge beside a YACE-style 60 s scrape and Metric Streams')
    .option('--endpoints <n>', 'SageMaker endpoints (one variant each unless --variants)', count('--endpoints'))
    .option('--variants <n>', 'production variants, all endpoints together', count('--variants'))
    .option('--neuron-hosts <n>', 'Inferentia hosts enrolled for the collector', count('--neuron-hosts'), 0)
    .option('--schedule-minutes <n>', 'minutes between bridge runs', count('--schedule-minutes'), 5)
    .option('--host-scrape-seconds <n>', "the collector's scrape interval", count('--host-scrape-seconds'), 30)
    .option('--discover', 'count the metrics with ListMetrics in the configured region instead (no GetMetricData)')
    .option('-c, --config <file>', 'bridge config: its period, namespaces and catalog')
    .action(async (flags: CostFlags) => {
      const config = loadConfig(process.env, flags.config);
      const catalog = Catalog.withDefaults(config.catalog, config.namingProfile, config.neuronNamespace, config.latency);
      if (flags.scheduleMinutes < 1) throw new UsageError('--schedule-minutes must be at least 1');
      let load: Omit<FleetLoad, 'hostSeries' | 'hostScrapeSeconds'>;
      if (flags.discover) {
        const cloudwatch = instrumentAwsClient(new CloudWatchClient({ region: config.region }), consoleLogger('warn'));
        const found = await discoveredLoad(catalog, config, cloudwatch);
        load = found.load;
        process.stdout.write(`${found.summary}\n\n`);
      } else {
        const variants = flags.variants ?? flags.endpoints;
        if (variants === undefined) throw new UsageError('give the fleet: --endpoints N and/or --variants N (and --neuron-hosts N), or --discover');
        const base = variantLoad(catalog, variants);
        const extra = highResolutionExtraSamples(catalog, variants, { period: config.period, highResolution: config.highResolution });
        load = { ...base, bridgeSamplesPerPeriod: base.bridgeSeries + extra };
        const highResolution = extra > 0 ? `, high-resolution metrics at their own period (+${extra} samples a period)` : '';
        process.stdout.write(`${variants} production variants (${load.queries} queries a cycle, ${load.queriesFiveStats} metrics of up to 5 statistics), ${flags.neuronHosts} Neuron hosts, period ${config.period} s${highResolution}\n\n`);
      }
      const lines = estimateCost({ ...load, hostSeries: SERIES_PER_NEURON_HOST * flags.neuronHosts, hostScrapeSeconds: flags.hostScrapeSeconds }, flags.scheduleMinutes, config.period);
      process.stdout.write(`${formatCost(lines)}\n`);
      const modes = latencyModeCosts((mode) => Catalog.withDefaults(config.catalog, config.namingProfile, config.neuronNamespace, mode), flags.scheduleMinutes, config.period);
      process.stdout.write(`\nLatency as histogram (fleet-wide p99 with histogram_quantile), summary (per-series quantiles) or both, per real-time variant:\n${formatLatencyModeCosts(modes, config.latency)}\n`);
    });
}
