import { GET_METRIC_DATA_USD_PER_1000_METRICS } from '../contract/constants';
import type { Catalog } from '../lambda/bridge/catalog/catalog';
import { metricClass, type MetricClass } from '../lambda/bridge/cloudwatch/freshness';
import { PUBLISHED_WITH_TRAFFIC } from '../lambda/bridge/cloudwatch/idle';
import { STATISTICS_PER_BILLED_METRIC, type PlanPeriods } from '../lambda/bridge/cloudwatch/plan';
import { LATENCY_MODES, type LatencyMode } from '../contract/latency';
import type { PromQlMapping } from '../lambda/bridge/sources/promql/mapping';

/**
 * List prices (USD, us-east-1) the estimate uses, in one place. Source: the AWS pricing pages named below, read
 * 2026-11-29. Other regions and volume tiers differ; the estimate applies the first tier throughout, so above the
 * first tier it is an upper bound.
 */
export const PRICES = {
  source: 'https://aws.amazon.com/cloudwatch/pricing/ and https://aws.amazon.com/prometheus/pricing/ (us-east-1 list prices, read 2026-11-29)',
  /**
   * CloudWatch GetMetricData: per 1,000 metrics requested. "You can request up to five statistics for the same metric
   * in a single GetMetricData API request. Additional statistics are billed as an additional metric": the estimate
   * shows both readings (per statistic, and per metric with up to five statistics); `inferwatch cost --actual` tells
   * which one an account's bill follows.
   */
  getMetricDataPer1000Metrics: GET_METRIC_DATA_USD_PER_1000_METRICS,
  /** CloudWatch Metric Streams: per 1,000 metric updates; 1-5 extra statistics (percentiles) of a metric are one more update. */
  metricStreamsPer1000Updates: 0.003,
  /** AMP: per 10 million samples ingested, the first 2 billion samples a month. */
  ampPer10MillionSamples: 0.9,
} as const;

const MINUTES_PER_MONTH = 30 * 24 * 60;

/** What a fleet asks of CloudWatch and AMP, per cycle and per minute. */
export interface FleetLoad {
  /** GetMetricData queries one cycle makes (one per metric, dimensions and statistic): the metrics billed per statistic. */
  readonly queries: number;
  /**
   * The metrics one cycle is billed for if CloudWatch bills "up to five statistics for the same metric in a single
   * GetMetricData API request" as one: ceil(statistics / 5) per metric (the plan keeps a metric's statistics in one call).
   */
  readonly queriesFiveStats: number;
  /** Queries of every metric and statistic (what a scraper reads each time), when `queries` is an average over cycles that read less. @default queries */
  readonly everyMetricQueries?: number;
  /** Metric updates a metric stream would send a minute for the same metrics and statistics. */
  readonly streamUpdatesPerMinute: number;
  /** Series the bridge writes (CloudWatch queries and SageMaker metadata). */
  readonly bridgeSeries: number;
  /** Samples the bridge writes per period: a high-resolution series read at its own resolution writes several. @default bridgeSeries */
  readonly bridgeSamplesPerPeriod?: number;
  /** Series the collectors write from the hosts, and how often (seconds). */
  readonly hostSeries: number;
  readonly hostScrapeSeconds: number;
}

/** SageMaker metadata series per variant: info, instances current/desired, weight current/desired. */
export const METADATA_SERIES_PER_VARIANT = 5;

/** Extra statistics a metric stream sends beside the standard ones: percentiles, and TC (a histogram's buckets). */
const EXTRA_STATISTIC = /^(p\d|TC\()/;

/** Metric-stream updates a minute for one metric read with these statistics: 1, plus 1 for every 5 extra statistics. */
export function streamUpdates(stats: readonly string[]): number {
  return 1 + Math.ceil(new Set(stats.filter((s) => EXTRA_STATISTIC.test(s))).size / 5);
}

/** The load of `variants` real-time production variants with this catalog, every listed SageMaker metric of a real-time endpoint present. */
export function variantLoad(catalog: Catalog, variants: number): Pick<FleetLoad, 'queries' | 'queriesFiveStats' | 'streamUpdatesPerMinute' | 'bridgeSeries'> {
  let queries = 0;
  let fiveStats = 0;
  let series = 0;
  let updates = 0;
  for (const [namespace, metrics] of catalog.listedMetrics(true)) {
    if (namespace !== 'AWS/SageMaker' && namespace !== '/aws/sagemaker/Endpoints') continue;
    for (const metric of metrics) {
      const mapping = catalog.resolve(namespace, metric);
      const stats = mapping.series.map((s) => s.stat);
      // One query per statistic: a histogram's +Inf bucket and _count share SampleCount.
      queries += new Set(stats).size;
      fiveStats += Math.ceil(new Set(stats).size / STATISTICS_PER_BILLED_METRIC);
      series += mapping.series.length;
      updates += streamUpdates(stats);
    }
  }
  return { queries: queries * variants, queriesFiveStats: fiveStats * variants, streamUpdatesPerMinute: updates * variants, bridgeSeries: (series + METADATA_SERIES_PER_VARIANT) * variants };
}

/** What one real-time variant costs a month in each latency mode, the bridge running every `scheduleMinutes`. */
export interface LatencyModeCost {
  readonly mode: LatencyMode;
  readonly queries: number;
  /** Metrics billed a cycle under the five-statistics reading. */
  readonly queriesFiveStats: number;
  readonly series: number;
  /** GetMetricData billed per statistic. */
  readonly cloudwatchUsd: number;
  /** GetMetricData billed per metric with up to five statistics. */
  readonly cloudwatchUsdFiveStats: number;
  readonly ampUsd: number;
}

export function latencyModeCosts(catalogFor: (mode: LatencyMode) => Catalog, scheduleMinutes: number, periodSeconds: number): LatencyModeCost[] {
  return LATENCY_MODES.map((mode) => {
    const load = variantLoad(catalogFor(mode), 1);
    const [perStatistic, perMetric] = estimateCost({ ...load, hostSeries: 0, hostScrapeSeconds: 60 }, scheduleMinutes, periodSeconds);
    return {
      mode,
      queries: load.queries,
      queriesFiveStats: load.queriesFiveStats,
      series: load.bridgeSeries,
      cloudwatchUsd: perStatistic?.cloudwatchUsd ?? 0,
      cloudwatchUsdFiveStats: perMetric?.cloudwatchUsd ?? 0,
      ampUsd: perStatistic?.ampUsd ?? 0,
    };
  });
}

/** The latency modes side by side, per real-time variant and month, for `inferwatch cost` and the bench. */
export function formatLatencyModeCosts(costs: readonly LatencyModeCost[], current: LatencyMode): string {
  const usd = (n: number) => `$${n.toFixed(3)}`;
  const rows = [
    ['latency', 'queries a cycle', 'metrics (5 stats)', 'series', 'CloudWatch per stat', 'per metric', 'AMP', 'total / variant-month (per stat / per metric)'],
    ...costs.map((c) => [
      `${c.mode}${c.mode === current ? ' (configured)' : ''}`,
      String(c.queries),
      String(c.queriesFiveStats),
      String(c.series),
      usd(c.cloudwatchUsd),
      usd(c.cloudwatchUsdFiveStats),
      usd(c.ampUsd),
      `${usd(c.cloudwatchUsd + c.ampUsd)} / ${usd(c.cloudwatchUsdFiveStats + c.ampUsd)}`,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/**
 * The samples per period that reading high-resolution metrics at their own resolution (config `highResolution`) adds
 * to `variants` real-time variants: each such series writes `period / resolution` samples instead of one. The
 * queries, and so the GetMetricData bill, stay the same.
 */
export function highResolutionExtraSamples(catalog: Catalog, variants: number, periods: PlanPeriods): number {
  if (!periods.highResolution) return 0;
  let extra = 0;
  for (const [namespace, metrics] of catalog.listedMetrics(true)) {
    if (namespace !== 'AWS/SageMaker' && namespace !== '/aws/sagemaker/Endpoints') continue;
    for (const metric of metrics) {
      const { series, resolution } = catalog.resolve(namespace, metric);
      if (resolution !== undefined && resolution < periods.period) extra += series.length * (periods.period / resolution - 1);
    }
  }
  return extra * variants;
}

export interface CostLine {
  readonly approach: string;
  readonly cloudwatch: string;
  readonly cloudwatchUsd: number;
  readonly amp: string;
  readonly ampUsd: number;
}

/**
 * A month (30 days) of the bridge at `scheduleMinutes` and `periodSeconds`, beside a YACE-style exporter scraping
 * every 60 s and CloudWatch Metric Streams, all at the same resolution: AMP ingests the same samples in all three,
 * except the extra samples of high-resolution metrics the bridge reads at their own period (`bridgeSamplesPerPeriod`),
 * which a 60 s scrape and a stream (one value a minute) do not deliver.
 */
export function estimateCost(load: FleetLoad, scheduleMinutes: number, periodSeconds: number): CostLine[] {
  const ampOf = (bridgeSamplesPerPeriod: number) => {
    const samples = (bridgeSamplesPerPeriod * (MINUTES_PER_MONTH * 60)) / periodSeconds + (load.hostSeries * (MINUTES_PER_MONTH * 60)) / load.hostScrapeSeconds;
    return { amp: `${formatCount(samples)} samples, ${formatCount(load.bridgeSeries + load.hostSeries)} active series`, ampUsd: (samples / 1e7) * PRICES.ampPer10MillionSamples };
  };
  const { amp, ampUsd } = ampOf(load.bridgeSeries);
  const ours = ampOf(load.bridgeSamplesPerPeriod ?? load.bridgeSeries);
  const getMetricData = (everyMinutes: number, perCycle: number, reading: string) => {
    const metrics = perCycle * (MINUTES_PER_MONTH / everyMinutes);
    return { text: `${formatCount(metrics)} metrics requested (GetMetricData, ${reading})`, usd: (metrics / 1000) * PRICES.getMetricDataPer1000Metrics };
  };
  const bridge = getMetricData(scheduleMinutes, load.queries, 'billed per statistic');
  const bridgeFiveStats = getMetricData(scheduleMinutes, load.queriesFiveStats, 'billed per metric, up to 5 statistics');
  const yace = getMetricData(1, load.everyMetricQueries ?? load.queries, 'billed per statistic');
  const updates = load.streamUpdatesPerMinute * MINUTES_PER_MONTH * (60 / Math.max(60, periodSeconds));
  return [
    { approach: `inferwatch bridge, every ${scheduleMinutes} min`, cloudwatch: bridge.text, cloudwatchUsd: bridge.usd, ...ours },
    { approach: `inferwatch bridge, every ${scheduleMinutes} min`, cloudwatch: bridgeFiveStats.text, cloudwatchUsd: bridgeFiveStats.usd, ...ours },
    { approach: 'YACE-style scrape every 60 s', cloudwatch: yace.text, cloudwatchUsd: yace.usd, amp, ampUsd },
    {
      approach: 'CloudWatch Metric Streams (+ Firehose, not priced)',
      cloudwatch: `${formatCount(updates)} metric updates`,
      cloudwatchUsd: (updates / 1000) * PRICES.metricStreamsPer1000Updates,
      amp,
      ampUsd,
    },
  ];
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} billion`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} million`;
  return String(Math.round(n));
}

/** The estimate as a table, with the price source under it. */
export function formatCost(lines: readonly CostLine[]): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const rows = [['approach', 'CloudWatch', '', 'AMP ingestion', '', 'total / month'], ...lines.map((l) => [l.approach, l.cloudwatch, usd(l.cloudwatchUsd), l.amp, usd(l.ampUsd), usd(l.cloudwatchUsd + l.ampUsd)])];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const table = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
  return `${table}\n\nPrices: ${PRICES.source}; 30-day month, first volume tier.`;
}

/**
 * Firehose, which a metric stream needs: Direct PUT ingestion per GB (us-east-1, first 500 TB a month), read
 * 2026-12-04 from https://aws.amazon.com/firehose/pricing/. A stream's JSON update is counted at 500 bytes, a lower
 * bound (one metric, its four statistics, dimensions and a timestamp): the stream's price here is never overstated.
 */
export const FIREHOSE = { perGb: 0.029, bytesPerUpdate: 500 } as const;

/** One class of a real-time variant's metrics: what one read of it requests, and the series it writes. */
export interface ClassLoad {
  /** Queries (statistics): the metrics billed per statistic. */
  readonly queries: number;
  /** Metrics billed under the five-statistics reading. */
  readonly fiveStats: number;
  readonly series: number;
  /** Metric-stream updates a minute for the same metrics and statistics. */
  readonly streamUpdates: number;
  /** SageMaker publishes them only for periods with traffic: an idle variant reads none (its sentinel instead) and writes none. */
  readonly withTraffic: boolean;
  /**
   * Idle, they are read through their variant's sentinel (false: read anyway, as the bridge reads a variant whose
   * `Invocations` is not listed). @default true
   */
  readonly readThroughSentinel?: boolean;
}

/** A real-time variant's load by metric class and traffic, with this catalog (every listed real-time metric present). */
export function variantClasses(catalog: Catalog, present: (namespace: string, metric: string) => boolean = () => true): Array<ClassLoad & { readonly metricClass: MetricClass }> {
  const out = new Map<string, ClassLoad & { metricClass: MetricClass }>();
  for (const [namespace, metrics] of catalog.listedMetrics(true)) {
    if (namespace !== 'AWS/SageMaker' && namespace !== '/aws/sagemaker/Endpoints') continue;
    for (const metric of metrics) {
      if (!present(namespace, metric)) continue;
      const mapping = catalog.resolve(namespace, metric);
      const stats = new Set(mapping.series.map((s) => s.stat));
      const metricClassOf = metricClass(namespace, mapping);
      const withTraffic = namespace === 'AWS/SageMaker' && PUBLISHED_WITH_TRAFFIC.has(metric);
      const id = `${metricClassOf}|${withTraffic}`;
      const before = out.get(id) ?? { metricClass: metricClassOf, withTraffic, queries: 0, fiveStats: 0, series: 0, streamUpdates: 0 };
      out.set(id, {
        ...before,
        queries: before.queries + stats.size,
        fiveStats: before.fiveStats + Math.ceil(stats.size / STATISTICS_PER_BILLED_METRIC),
        series: before.series + mapping.series.length,
        streamUpdates: before.streamUpdates + streamUpdates(mapping.series.map((s) => s.stat)),
      });
    }
  }
  return [...out.values()];
}

/** How the bridge reads: which levers are on. */
export interface ReadLevers {
  /** Idle variants through a sentinel (`idleVariants: sentinel`). */
  readonly idleSentinel: boolean;
  /** Read interval per class, seconds (`readIntervals`); 0 is every cycle. */
  readonly intervals: Readonly<Record<MetricClass, number>>;
}

/** Everything every cycle: the bridge before idle variants and read intervals. */
export const EVERY_CYCLE: ReadLevers = { idleSentinel: false, intervals: { counters: 0, latency: 0, utilization: 0, other: 0 } };

/** Cycles between two reads of a class: a class is read when waiting one more cycle would leave it older than its interval. */
export function cyclesPerRead(intervalSeconds: number, scheduleMinutes: number): number {
  return Math.max(1, Math.floor(intervalSeconds / (scheduleMinutes * 60)));
}

/** What one real-time variant costs a month, under both readings of the billing rule. */
export interface VariantMonth {
  readonly perStatisticUsd: number;
  readonly fiveStatsUsd: number;
  readonly ampUsd: number;
}

/**
 * A month of one real-time variant idle a fraction `idle` of the time (no request at all): read in full when busy,
 * through one sentinel query (`Invocations` `SampleCount`, one metric under either reading) when idle with the
 * sentinel on; each class every `cyclesPerRead` cycles. An idle variant writes no invocation, error or latency
 * samples (SageMaker publishes none); its instance metrics and metadata go on.
 */
export function variantMonth(catalog: Catalog, levers: ReadLevers, idle: number, scheduleMinutes: number, periodSeconds: number): VariantMonth {
  return monthOf(variantCycle(catalog, levers, idle, scheduleMinutes), scheduleMinutes, periodSeconds);
}

/** A month of cycles like this one. */
export function monthOf(cycle: AverageCycle, scheduleMinutes: number, periodSeconds: number): VariantMonth {
  const cycles = MINUTES_PER_MONTH / scheduleMinutes;
  const samples = (cycle.samplesPerPeriod * MINUTES_PER_MONTH * 60) / periodSeconds;
  const usd = (metrics: number) => ((metrics * cycles) / 1000) * PRICES.getMetricDataPer1000Metrics;
  return { perStatisticUsd: usd(cycle.perStatistic), fiveStatsUsd: usd(cycle.fiveStats), ampUsd: (samples / 1e7) * PRICES.ampPer10MillionSamples };
}

/** One real-time variant's average cycle: metrics requested under both readings, and the samples it writes a period. */
export function variantCycle(
  catalog: Catalog,
  levers: ReadLevers,
  idle: number,
  scheduleMinutes: number,
  /** Only the metrics a fleet publishes (the bench's stand-in fleet). @default every listed real-time metric */
  present?: (namespace: string, metric: string) => boolean,
): AverageCycle {
  return averageCycle({ classes: variantClasses(catalog, present), sentinels: 1, metadataSeries: METADATA_SERIES_PER_VARIANT }, levers, idle, scheduleMinutes);
}

/** What a fleet reads, by metric class and traffic: the loads summed over its metrics, and the variants that have a sentinel. */
export interface FleetClasses {
  readonly classes: ReadonlyArray<ClassLoad & { readonly metricClass: MetricClass }>;
  /** Variants an idle cycle reads through one sentinel query (their `Invocations` is listed). */
  readonly sentinels: number;
  /** SageMaker metadata series, written whatever the traffic. */
  readonly metadataSeries: number;
}

/** An average cycle: metrics requested under both readings, and the samples written a period. */
export interface AverageCycle {
  readonly perStatistic: number;
  readonly fiveStats: number;
  readonly samplesPerPeriod: number;
}

/**
 * The average cycle of a fleet idle a fraction `idle` of the time (no request at all): metrics published only with
 * traffic are read when busy, and through one sentinel query per variant (`Invocations` `SampleCount`, one metric
 * under either reading) when idle with the sentinel on; each class every `cyclesPerRead` cycles. An idle variant
 * writes no invocation, error or latency samples (SageMaker publishes none); its instance metrics and metadata go on.
 */
export function averageCycle(fleet: FleetClasses, levers: ReadLevers, idle: number, scheduleMinutes: number): AverageCycle {
  let perStatistic = levers.idleSentinel ? idle * fleet.sentinels : 0;
  let fiveStats = perStatistic;
  let series = fleet.metadataSeries;
  let idleSeries = fleet.metadataSeries;
  for (const load of fleet.classes) {
    const share = 1 / cyclesPerRead(levers.intervals[load.metricClass], scheduleMinutes);
    const readShare = load.withTraffic && levers.idleSentinel && load.readThroughSentinel !== false ? share * (1 - idle) : share;
    perStatistic += load.queries * readShare;
    fiveStats += load.fiveStats * readShare;
    series += load.series;
    if (!load.withTraffic) idleSeries += load.series;
  }
  return { perStatistic, fiveStats, samplesPerPeriod: series * (1 - idle) + idleSeries * idle };
}

/** A metric stream carrying the same statistics for one variant a month: its list price, Firehose ingestion, and AMP. */
export function streamVariantMonth(catalog: Catalog, idle: number, periodSeconds: number): number {
  return streamMonth(variantFleet(catalog), idle, periodSeconds);
}

/** A metric stream carrying the same statistics for a fleet a month: its list price, Firehose ingestion, and AMP. */
export function streamMonth(fleet: FleetClasses, idle: number, periodSeconds: number): number {
  let updates = 0;
  for (const load of fleet.classes) updates += load.streamUpdates * (load.withTraffic ? 1 - idle : 1);
  const perMonth = updates * MINUTES_PER_MONTH * (60 / Math.max(60, periodSeconds));
  const firehose = ((perMonth * FIREHOSE.bytesPerUpdate) / 1e9) * FIREHOSE.perGb;
  const amp = monthOf(averageCycle(fleet, EVERY_CYCLE, idle, 1), 1, periodSeconds).ampUsd;
  return (perMonth / 1000) * PRICES.metricStreamsPer1000Updates + firehose + amp;
}

/** One real-time variant with every listed real-time metric, as `FleetClasses`. */
export function variantFleet(catalog: Catalog): FleetClasses {
  return { classes: variantClasses(catalog), sentinels: 1, metadataSeries: METADATA_SERIES_PER_VARIANT };
}

/** The levers one at a time and together, a month, at each idle fraction. */
export interface LeverRow {
  readonly idle: number;
  readonly lever: string;
  readonly month: VariantMonth;
  /** A metric stream carrying the same statistics, with Firehose and AMP. */
  readonly streamUsd: number;
}

/** The lever rows of a fleet: one real-time variant (`variantFleet`), or a discovered fleet. */
export function leverRows(fleet: FleetClasses, configured: ReadLevers, idles: readonly number[], scheduleMinutes: number, periodSeconds: number): LeverRow[] {
  const rows: LeverRow[] = [];
  for (const idle of idles) {
    const streamUsd = streamMonth(fleet, idle, periodSeconds);
    const month = (levers: ReadLevers) => monthOf(averageCycle(fleet, levers, idle, scheduleMinutes), scheduleMinutes, periodSeconds);
    rows.push({ idle, lever: 'every metric every cycle (before)', month: month(EVERY_CYCLE), streamUsd });
    rows.push({ idle, lever: 'idle variants through a sentinel, alone', month: month({ ...EVERY_CYCLE, idleSentinel: true }), streamUsd });
    rows.push({ idle, lever: 'read intervals per class, alone', month: month({ ...EVERY_CYCLE, intervals: configured.intervals }), streamUsd });
    rows.push({ idle, lever: 'both (the configuration)', month: month(configured), streamUsd });
  }
  return rows;
}

/** The lever rows as a table: both billing readings with AMP, and a metric stream beside them; `scope` says what a row prices. */
export function formatLeverRows(rows: readonly LeverRow[], scope = 'Per real-time variant and 30-day month'): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const table = [
    ['idle', 'how the bridge reads', 'per statistic + AMP', 'per metric (5 stats) + AMP', 'metric stream + Firehose + AMP'],
    ...rows.map((r) => [`${Math.round(r.idle * 100)} %`, r.lever, usd(r.month.perStatisticUsd + r.month.ampUsd), usd(r.month.fiveStatsUsd + r.month.ampUsd), usd(r.streamUsd)]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  const text = table.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
  return `${text}\n\n${scope}. Metric stream: its list price, Firehose ingestion at ${FIREHOSE.bytesPerUpdate} bytes an update (a lower bound), the same AMP samples.`;
}

/** What the PromQL source adds per LLM-serving instance and per GPU, from its mapping (`promql-metrics.yaml`). */
export interface PromQlCost {
  /** Series one inference engine (vLLM) writes per instance: its counters and gauges, and each histogram's buckets, `_sum`, `_count`. */
  readonly seriesPerEngine: number;
  /** Series each GPU writes (the DCGM metrics). */
  readonly seriesPerGpu: number;
  /** AMP ingestion a month of one engine's series, and of one GPU's, at the period. */
  readonly ampUsdPerEngine: number;
  readonly ampUsdPerGpu: number;
}

export function promQlCost(mapping: PromQlMapping, periodSeconds: number): PromQlCost {
  // An engine's old and new names for one metric write one series: count each family once.
  const seriesOf = (metrics: PromQlMapping['metrics']) => [...new Map(metrics.map((m) => [m.name, m.buckets ? m.buckets.highest - m.buckets.lowest + 4 : 1])).values()].reduce((a, b) => a + b, 0);
  const seriesPerEngine = seriesOf(mapping.metrics.filter((m) => m.constLabels.engine === 'vllm'));
  const seriesPerGpu = seriesOf(mapping.metrics.filter((m) => m.source.startsWith('DCGM_')));
  const usd = (series: number) => ((series * MINUTES_PER_MONTH * 60) / periodSeconds / 1e7) * PRICES.ampPer10MillionSamples;
  return { seriesPerEngine, seriesPerGpu, ampUsdPerEngine: usd(seriesPerEngine), ampUsdPerGpu: usd(seriesPerGpu) };
}

/** The PromQL source's share, with what it assumes: CloudWatch's published preview pricing, and AMP's per sample. */
export function formatPromQlCost(cost: PromQlCost, periodSeconds: number): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  return [
    `PromQL source (SageMaker detailed observability; promql.enabled, on where the account has the metrics), a month at period ${periodSeconds} s:`,
    `  CloudWatch: $0.00. Its PromQL queries are in public preview and free of charge; after the preview CloudWatch bills OTLP ingestion per GB with "no per-metric or API charges" (CloudWatch "Query metrics with PromQL" and OTel metrics pages), which the account pays whether or not the bridge reads. Assumed to stay so: no PromQL query price is published.`,
    `  Calls: one GetLabels a discovery (every promql.discoveryInterval), one GetSeries per mapped metric the account has, and per cycle one query_range per selection of at most promql.maxSeriesPerQuery - 1 series.`,
    `  AMP: ${cost.seriesPerEngine} series per vLLM instance (${usd(cost.ampUsdPerEngine)}) and ${cost.seriesPerGpu} per GPU (${usd(cost.ampUsdPerGpu)}), plus the node and scaling series (node_cpu_seconds_total: one per CPU and mode).`,
  ].join('\n');
}
