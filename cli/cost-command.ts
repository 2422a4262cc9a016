import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Command, InvalidArgumentError } from 'commander';
import { SERIES_PER_NEURON_HOST } from '../contract/constants';
import { instrumentAwsClient } from '../lambda/bridge/aws-calls';
import { Catalog } from '../lambda/bridge/catalog/catalog';
import { DiscoveryCache, discoverMetrics, type DiscoveredMetric } from '../lambda/bridge/cloudwatch/discovery';
import { metricClass, type MetricClass } from '../lambda/bridge/cloudwatch/freshness';
import { PUBLISHED_WITH_TRAFFIC, TrafficSplit } from '../lambda/bridge/cloudwatch/idle';
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
  averageCycle,
  variantFleet,
  type FleetClasses,
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

/** A fleet's load in the estimate's terms, the loads its lever table is made of, and what the estimate is of. */
interface Estimated {
  readonly load: Omit<FleetLoad, 'hostSeries' | 'hostScrapeSeconds'>;
  /** The fleet the lever table prices, what it is (`per real-time variant`), and the table's note on it. */
  readonly fleet: FleetClasses;
  readonly scope: string;
  readonly scopeNote: string;
  readonly summary: string;
}

/** The SageMaker production variants (endpoint and variant) the metrics are of. */
function variantsOf(metrics: readonly DiscoveredMetric[]): number {
  const variants = new Set<string>();
  for (const m of metrics) {
    if (m.namespace !== 'AWS/SageMaker') continue;
    const endpoint = m.dimensions.find((d) => d.Name === 'EndpointName')?.Value;
    const variant = m.dimensions.find((d) => d.Name === 'VariantName')?.Value;
    if (endpoint !== undefined && variant !== undefined) variants.add(JSON.stringify([endpoint, variant]));
  }
  return variants.size;
}

/**
 * The discovered metrics by class and traffic, as the bridge splits them: a variant whose `Invocations` is listed is
 * read through its sentinel when idle (TrafficSplit); every other metric is read whatever the traffic.
 */
export function discoveredClasses(metrics: readonly DiscoveredMetric[], plan: QueryPlan, catalog: Catalog, variants: number): FleetClasses {
  const split = new TrafficSplit(metrics, () => false);
  const buckets = new Map<string, { metricClass: MetricClass; withTraffic: boolean; readThroughSentinel: boolean; metrics: DiscoveredMetric[] }>();
  const add = (metric: DiscoveredMetric, readThroughSentinel: boolean) => {
    const mapping = catalog.resolve(metric.namespace, metric.metricName);
    const c = metricClass(metric.namespace, mapping);
    const withTraffic = metric.namespace === 'AWS/SageMaker' && PUBLISHED_WITH_TRAFFIC.has(metric.metricName);
    const id = `${c}|${withTraffic}|${readThroughSentinel}`;
    const bucket = buckets.get(id) ?? { metricClass: c, withTraffic, readThroughSentinel, metrics: [] };
    bucket.metrics.push(metric);
    buckets.set(id, bucket);
  };
  for (const group of split.groups.values()) for (const metric of group.metrics) add(metric, true);
  for (const metric of split.always) add(metric, false);
  const classes = [...buckets.values()].map(({ metrics: list, ...bucket }) => {
    const part = plan.subset(list);
    const updates = list.reduce((n, m) => n + streamUpdates(catalog.resolve(m.namespace, m.metricName).series.map((s) => s.stat)), 0);
    return { ...bucket, queries: part.size, fiveStats: part.billedFiveStats, series: part.seriesCount, streamUpdates: updates };
  });
  return { classes, sentinels: split.groups.size, metadataSeries: METADATA_SERIES_PER_VARIANT * variants };
}

/** The load measured from ListMetrics, with the configured levers and the first idle fraction applied. */
async function discoveredEstimate(catalog: Catalog, config: ReturnType<typeof loadConfig>, flags: CostFlags, cloudwatch: CloudWatchClient): Promise<Estimated> {
  const metrics = await discoverMetrics(cloudwatch, config.namespaces, new DiscoveryCache(), Date.now(), 0, new ApiCallCounter());
  const plan = new QueryPlan(metrics, catalog, {}, config.maxLabelValueLength, { period: config.period, highResolution: config.highResolution });
  const variants = variantsOf(metrics);
  const fleet = discoveredClasses(metrics, plan, catalog, variants);
  const idle = flags.idle[0] ?? 0;
  const cycle = averageCycle(fleet, leversOf(config), idle, flags.scheduleMinutes);
  // High-resolution series read at their own period write several samples a period, whatever the levers.
  const extra = plan.samplesPerPeriod - plan.seriesCount;
  const load = {
    queries: cycle.perStatistic,
    queriesFiveStats: cycle.fiveStats,
    everyMetricQueries: plan.size,
    streamUpdatesPerMinute: fleet.classes.reduce((n, c) => n + c.streamUpdates, 0),
    bridgeSeries: plan.seriesCount + fleet.metadataSeries,
    bridgeSamplesPerPeriod: cycle.samplesPerPeriod + extra,
  };
  const summary =
    `discovered ${metrics.length} CloudWatch metrics in ${config.namespaces.join(', ')} (${variants} production variants): ${plan.size} queries a cycle when every metric is read, ${plan.billedFiveStats} metrics of up to 5 statistics; ` +
    `with the levers applied ${round(load.queries)} queries a cycle on average (${round(load.queriesFiveStats)} metrics of up to 5 statistics)${leversText(config, idle, fleet.sentinels)}${extra > 0 ? `, high-resolution metrics at their own period (+${extra} samples a period)` : ''}`;
  const scope = `for the discovered fleet (${variants} production variants, ${metrics.length} CloudWatch metrics)`;
  return { load, fleet, scope, scopeNote: `For the discovered fleet, a 30-day month`, summary };
}

/** The load of `--variants N` real-time variants with every listed real-time metric, with the levers and the first idle fraction applied. */
function countedEstimate(catalog: Catalog, config: ReturnType<typeof loadConfig>, flags: CostFlags): Estimated {
  const variants = flags.variants ?? flags.endpoints;
  if (variants === undefined) throw new UsageError('give the fleet: --endpoints N and/or --variants N (and --neuron-hosts N), or --discover');
  const base = variantLoad(catalog, variants);
  const extra = highResolutionExtraSamples(catalog, variants, { period: config.period, highResolution: config.highResolution });
  const idle = flags.idle[0] ?? 0;
  // What the configured levers read in an average cycle, with the first idle fraction given.
  const cycle = variantCycle(catalog, leversOf(config), idle, flags.scheduleMinutes);
  const load = { ...base, everyMetricQueries: base.queries, queries: cycle.perStatistic * variants, queriesFiveStats: cycle.fiveStats * variants, bridgeSamplesPerPeriod: cycle.samplesPerPeriod * variants + extra };
  const highResolution = extra > 0 ? `, high-resolution metrics at their own period (+${extra} samples a period)` : '';
  const summary = `${variants} production variants (${round(load.queries)} queries a cycle on average, ${round(load.queriesFiveStats)} metrics of up to 5 statistics), ${flags.neuronHosts} Neuron hosts, period ${config.period} s${leversText(config, idle)}${highResolution}`;
  return { load, fleet: variantFleet(catalog), scope: 'per real-time variant', scopeNote: 'Per real-time variant and 30-day month', summary };
}

/** Which levers the estimate applied: the idle fraction with the sentinel setting (and how many a discovered fleet has), and the read intervals. */
function leversText(config: ReturnType<typeof loadConfig>, idle: number, sentinels?: number): string {
  const through = config.idleVariants === 'sentinel' && sentinels !== undefined ? `, read through ${sentinels} sentinel${sentinels === 1 ? '' : 's'} when idle` : '';
  return `, ${Math.round(idle * 100)} % of the time idle (idleVariants: ${config.idleVariants}${through}), read intervals ${formatIntervals(config.readIntervals)}`;
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
      const estimated = flags.discover
        ? await discoveredEstimate(catalog, config, flags, instrumentAwsClient(new CloudWatchClient({ region: config.region }), consoleLogger('warn')))
        : countedEstimate(catalog, config, flags);
      const { load } = estimated;
      process.stdout.write(`${estimated.summary}\n\n`);
      const lines = estimateCost({ ...load, hostSeries: SERIES_PER_NEURON_HOST * flags.neuronHosts, hostScrapeSeconds: flags.hostScrapeSeconds }, flags.scheduleMinutes, config.period);
      process.stdout.write(`${formatCost(lines)}\n`);
      process.stdout.write(`\n${lambdaBillText(load.bridgeSeries, flags, config.region)}\n`);
      const modes = latencyModeCosts((mode) => Catalog.withDefaults(config.catalog, config.namingProfile, config.neuronNamespace, mode), flags.scheduleMinutes, config.period);
      if (flags.idle.length > 1 || flags.idle[0] !== 0) {
        const rows = leverRows(estimated.fleet, leversOf(config), flags.idle, flags.scheduleMinutes, config.period);
        process.stdout.write(`\nIdle variants and read intervals, each lever alone and together, ${estimated.scope}:\n${formatLeverRows(rows, estimated.scopeNote)}\n`);
      }
      if (config.promql.enabled) process.stdout.write(`\n${formatPromQlCost(promQlCost(loadPromQlMapping(), config.period), config.period)}\n`);
      process.stdout.write(`\nLatency as histogram (fleet-wide p99 with histogram_quantile), summary (per-series quantiles) or both, per real-time variant:\n${formatLatencyModeCosts(modes, config.latency)}\n`);
    });
}
