import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Command, InvalidArgumentError } from 'commander';
import { SERIES_PER_NEURON_HOST } from '../contract/constants';
import { instrumentAwsClient } from '../lambda/bridge/aws-calls';
import { Catalog } from '../lambda/bridge/catalog/catalog';
import { DiscoveryCache, discoverMetrics } from '../lambda/bridge/cloudwatch/discovery';
import { QueryPlan } from '../lambda/bridge/cloudwatch/plan';
import { UsageError } from '../contract/errors';
import { loadConfig } from '../lambda/bridge/config';
import {
  estimateCost,
  formatCost,
  formatLatencyModeCosts,
  formatLeverRows,
  formatPromQlCost,
  promQlCost,
  highResolutionExtraSamples,
  latencyModeCosts,
  leverRows,
  METADATA_SERIES_PER_VARIANT,
  streamUpdates,
  variantCycle,
  variantLoad,
  type FleetLoad,
  type ReadLevers,
} from './cost';
import { loadPromQlMapping } from '../lambda/bridge/sources/promql/mapping';
import { consoleLogger } from '../lambda/bridge/logger';
import { ApiCallCounter } from '../lambda/bridge/self-metrics';
import { noAuth, sigv4Auth, type Authorizer } from '../lambda/bridge/remote-write/client';
import { rawQuery } from '../lambda/bridge/remote-write/query';
import { queryUrlFor, resolveAuthorizer, sigv4Credentials, workspaceRegion } from '../lambda/bridge/runtime';
import { countedDays, formatReconciliation, reconcile, utcDay, variantsByDay } from './cost-actual';
import { COST_EXPLORER_LOOKBACK_MONTHS, CostExplorer } from './cost-explorer';
import { DEFAULT_BRIDGE_MEMORY_MIB, SAMPLES_PER_VARIANT_PERIOD } from '../contract/bridge-capacity';
import { estimatedLambdaBill, formatLambdaBill } from './cost-lambda';

interface CostFlags {
  actual?: boolean;
  days: number;
  queryUrl?: string;
  config?: string;
  endpoints?: number;
  variants?: number;
  neuronHosts: number;
  scheduleMinutes: number;
  hostScrapeSeconds: number;
  discover?: boolean;
  memoryMib: number;
  shards: number;
  idle: number[];
}

function fractions(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim().replace(/%$/, '')) / (v.trim().endsWith('%') ? 100 : 1));
  if (list.length === 0 || list.some((f) => !(f >= 0 && f <= 1))) throw new InvalidArgumentError(`--idle takes fractions from 0 to 1 (or percentages), comma-separated (got "${value}")`);
  return list;
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

const DAY_MS = 86_400_000;

function leversOf(config: ReturnType<typeof loadConfig>): ReadLevers {
  return { idleSentinel: config.idleVariants === 'sentinel', intervals: config.readIntervals };
}

function formatIntervals(intervals: Readonly<Record<string, number>>): string {
  return Object.entries(intervals)
    .map(([name, seconds]) => `${name} ${seconds === 0 ? 'every cycle' : `${seconds / 60} min`}`)
    .join(', ');
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Where the bridge's self-metrics can be read back: the flag, the config's query URL, or the workspace's. */
function receiver(config: ReturnType<typeof loadConfig>, flags: CostFlags): { url: string; authorize: Authorizer } {
  const region = workspaceRegion(config);
  const workspace = config.remoteWrite.workspaceId;
  const url =
    flags.queryUrl ??
    config.remoteWrite.queryUrl ??
    queryUrlFor(config.remoteWrite.url) ??
    (workspace ? `https://aps-workspaces.${region}.amazonaws.com/workspaces/${workspace}/api/v1/query` : undefined);
  if (url === undefined) throw new UsageError('--actual reads the bridge\'s own count from the receiver: pass --query-url (…/api/v1/query), or set "remoteWrite.workspaceId", "remoteWrite.url" or "remoteWrite.queryUrl" in the config');
  const auth = config.remoteWrite.auth;
  // The CLI user's credentials sign for AMP, never the bridge's writer role.
  if (workspace !== undefined || auth?.type === 'sigv4') return { url, authorize: sigv4Auth(region, sigv4Credentials(undefined, region)) };
  if (flags.queryUrl !== undefined && auth === undefined) return { url, authorize: noAuth() };
  return { url, authorize: auth === undefined ? noAuth() : resolveAuthorizer(config, process.env) };
}

/** The first day Cost Explorer's 14-month daily lookback still holds, `YYYY-MM-DD`. */
function oldestDay(today: number): string {
  const d = new Date(today);
  d.setUTCMonth(d.getUTCMonth() - COST_EXPLORER_LOOKBACK_MONTHS);
  return utcDay(d.getTime());
}

/** `inferwatch cost --actual`: the account's GetMetricData bill per day beside the bridge's own count. */
async function actualCost(config: ReturnType<typeof loadConfig>, flags: CostFlags): Promise<void> {
  const to = Math.floor(Date.now() / DAY_MS) * DAY_MS; // today is not over: whole UTC days only
  const from = to - flags.days * DAY_MS;
  if (utcDay(from) < oldestDay(to)) throw new UsageError(`--days ${flags.days} reaches before ${oldestDay(to)}: Cost Explorer keeps ${COST_EXPLORER_LOOKBACK_MONTHS} months of daily data`);
  const { url, authorize } = receiver(config, flags);
  const query = rawQuery(url, authorize);
  const [counted, variants] = await Promise.all([countedDays(query, config.region, from, to), variantsByDay(query, config.region, from, to)]);
  const ran = [...counted].filter(([, c]) => c.perStatistic > 0).map(([day]) => day);
  if (ran.length === 0) throw new UsageError(`the receiver at ${url} has no inferwatch_bridge_cloudwatch_metrics_requested_total for region ${config.region} in the last ${flags.days} day(s): did the bridge run there?`);
  const first = ran.reduce((a, b) => (a < b ? a : b));
  // Cost Explorer's end date is exclusive: `to` is tomorrow's first day after the last whole day.
  const billed = await new CostExplorer().getMetricDataUsage(config.region, first, utcDay(to));
  const days = Array.from({ length: Math.round((to - Date.parse(first)) / DAY_MS) }, (_, i) => utcDay(Date.parse(first) + i * DAY_MS));
  process.stdout.write(`${formatReconciliation(reconcile(billed, counted, variants, days), config.region)}\n`);
}

/** `inferwatch cost`: a month's CloudWatch and AMP bill for a fleet, beside the alternatives. */
/** The bridge Lambda's own bill for the fleet, from the measured CPU at its memory's share. */
function lambdaBillText(bridgeSeries: number, flags: Pick<CostFlags, 'shards' | 'memoryMib' | 'scheduleMinutes'>, region: string): string {
  if (flags.shards < 1) throw new UsageError('--shards must be at least 1');
  // The measured CPU is per histogram variant: a fleet counts as its series in those (summaries and hosts count for less).
  const variantsEquivalent = Math.ceil(bridgeSeries / SAMPLES_PER_VARIANT_PERIOD);
  const lambda = estimatedLambdaBill({ variants: variantsEquivalent, shards: flags.shards, memoryMiB: flags.memoryMib, scheduleMinutes: flags.scheduleMinutes, region });
  const perShard = Math.ceil(variantsEquivalent / flags.shards);
  return formatLambdaBill(lambda.bill, `(a steady cycle of ${perShard} variant${perShard === 1 ? '' : 's'} a shard, from the measured CPU at the function's share)`);
}

export function costCommand(): Command {
  return new Command('cost')
    .description('estimate the monthly CloudWatch and AMP bill of a fleet: the bridge beside a YACE-style 60 s scrape and Metric Streams')
    .option('--endpoints <n>', 'SageMaker endpoints (one variant each unless --variants)', count('--endpoints'))
    .option('--variants <n>', 'production variants, all endpoints together', count('--variants'))
    .option('--neuron-hosts <n>', 'Inferentia hosts enrolled for the collector', count('--neuron-hosts'), 0)
    .option('--schedule-minutes <n>', 'minutes between bridge runs', count('--schedule-minutes'), 5)
    .option('--host-scrape-seconds <n>', "the collector's scrape interval", count('--host-scrape-seconds'), 30)
    .option('--idle <fractions>', 'the share of the time variants have no traffic (0-1 or %, comma-separated for a table of the levers)', fractions, [0])
    .option('--discover', 'count the metrics with ListMetrics in the configured region instead (no GetMetricData)')
    .option('--memory-mib <n>', "the bridge Lambda's memory (its CPU share, and so each cycle's duration)", count('--memory-mib'), DEFAULT_BRIDGE_MEMORY_MIB)
    .option('--shards <n>', 'bridge shards the fleet is split over', count('--shards'), 1)
    .option('-c, --config <file>', 'bridge config: its period, namespaces and catalog')
    .option('--actual', "the measured bill instead: Cost Explorer's daily GetMetricData metrics (needs ce:GetCostAndUsage) beside the bridge's own count, read from the receiver")
    .option('--days <n>', 'with --actual: whole UTC days to look back (Cost Explorer keeps 14 months)', count('--days'), 14)
    .option('--query-url <url>', "with --actual: the receiver's Prometheus query endpoint (…/api/v1/query); default from the config's remoteWrite")
    .action(async (flags: CostFlags) => {
      const config = loadConfig(process.env, flags.config);
      if (flags.actual) {
        if (flags.days < 1) throw new UsageError('--days must be at least 1');
        await actualCost(config, flags);
        return;
      }
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
        // What the configured levers read in an average cycle, with the first idle fraction given.
        const cycle = variantCycle(catalog, leversOf(config), flags.idle[0] ?? 0, flags.scheduleMinutes);
        load = { ...base, everyMetricQueries: base.queries, queries: cycle.perStatistic * variants, queriesFiveStats: cycle.fiveStats * variants, bridgeSamplesPerPeriod: cycle.samplesPerPeriod * variants + extra };
        const highResolution = extra > 0 ? `, high-resolution metrics at their own period (+${extra} samples a period)` : '';
        const idle = `, ${Math.round((flags.idle[0] ?? 0) * 100)} % of the time idle (idleVariants: ${config.idleVariants}), read intervals ${formatIntervals(config.readIntervals)}`;
        process.stdout.write(
          `${variants} production variants (${round(load.queries)} queries a cycle on average, ${round(load.queriesFiveStats)} metrics of up to 5 statistics), ${flags.neuronHosts} Neuron hosts, period ${config.period} s${idle}${highResolution}\n\n`,
        );
      }
      const lines = estimateCost({ ...load, hostSeries: SERIES_PER_NEURON_HOST * flags.neuronHosts, hostScrapeSeconds: flags.hostScrapeSeconds }, flags.scheduleMinutes, config.period);
      process.stdout.write(`${formatCost(lines)}\n`);
      process.stdout.write(`\n${lambdaBillText(load.bridgeSeries, flags, config.region)}\n`);
      const modes = latencyModeCosts((mode) => Catalog.withDefaults(config.catalog, config.namingProfile, config.neuronNamespace, mode), flags.scheduleMinutes, config.period);
      if (flags.idle.length > 1 || flags.idle[0] !== 0) {
        process.stdout.write(`\nIdle variants and read intervals, each lever alone and together, per real-time variant:\n${formatLeverRows(catalog, leverRows(catalog, leversOf(config), flags.idle, flags.scheduleMinutes, config.period), config.period)}\n`);
      }
      if (config.promql.enabled) process.stdout.write(`\n${formatPromQlCost(promQlCost(loadPromQlMapping(), config.period), config.period)}\n`);
      process.stdout.write(`\nLatency as histogram (fleet-wide p99 with histogram_quantile), summary (per-series quantiles) or both, per real-time variant:\n${formatLatencyModeCosts(modes, config.latency)}\n`);
    });
}
