import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BridgeConfigSchema } from '../../contract/bridge-config';
import { CatalogNamespaceSchema, type CatalogNamespace } from '../../contract/catalog-schema';

/** The bridge's metric classes (config `readIntervals`), each read at its own interval. */
export const BRIDGE_CLASSES = ['counters', 'latency', 'utilization', 'other'] as const;
export type BridgeClass = (typeof BRIDGE_CLASSES)[number];

/**
 * Where a series comes from, which decides how often it arrives: a bridge class; `cycle`, what the bridge writes
 * every cycle whatever `readIntervals` say (SageMaker API metadata, the PromQL source's series, its self-metrics);
 * `scrape`, what the collector scrapes on the hosts.
 */
export const SERIES_SOURCES = [...BRIDGE_CLASSES, 'cycle', 'scrape'] as const;
export type SeriesSource = (typeof SERIES_SOURCES)[number];

export interface SourceTiming {
  /** Seconds between two writes of the source's data (a class's read interval in whole schedules; the scrape interval). */
  readonly everySeconds: number;
  /** How far its newest sample may trail real time, seconds: for bridge data, everySeconds plus settle plus one period. */
  readonly lagSeconds: number;
}

export type SourceTimings = Readonly<Record<SeriesSource, SourceTiming>>;

/** What decides one workload's timings: its bridge's schedule and config, and its collector's scrape interval. */
export interface WorkloadReads {
  readonly scheduleSeconds: number;
  readonly settleSeconds: number;
  readonly periodSeconds: number;
  readonly readIntervals: Readonly<Record<BridgeClass, number>>;
  readonly scrapeIntervalSeconds: number;
}

/**
 * One workload's timings. A class is read in the cycle where waiting one more would leave its newest period older
 * than its interval (lambda/bridge/cloudwatch/freshness.ts), so every whole number of schedules in the interval, and
 * at least every schedule. Collector data arrives within seconds of its scrape: its lag is the scrape interval.
 */
export function sourceTimings(reads: WorkloadReads): SourceTimings {
  const schedule = reads.scheduleSeconds;
  const bridge = (every: number): SourceTiming => ({ everySeconds: every, lagSeconds: every + reads.settleSeconds + reads.periodSeconds });
  const ofClass = (c: BridgeClass) => bridge(Math.max(1, Math.floor(reads.readIntervals[c] / schedule)) * schedule);
  return {
    counters: ofClass('counters'),
    latency: ofClass('latency'),
    utilization: ofClass('utilization'),
    other: ofClass('other'),
    cycle: bridge(schedule),
    scrape: { everySeconds: reads.scrapeIntervalSeconds, lagSeconds: reads.scrapeIntervalSeconds },
  };
}

/** The bridge's defaults: a 5-minute schedule, its default config, a 30-second scrape. */
export const DEFAULT_WORKLOAD_READS: WorkloadReads = (() => {
  const config = BridgeConfigSchema.parse({});
  return { scheduleSeconds: 300, settleSeconds: config.settle, periodSeconds: config.period, readIntervals: config.readIntervals, scrapeIntervalSeconds: 30 };
})();

/** 480 s for counters (5-minute schedule, 120 s settle, 60 s period); 780 s for latency and utilisation read every 10 minutes. */
export const DEFAULT_SOURCE_TIMINGS: SourceTimings = sourceTimings(DEFAULT_WORKLOAD_READS);

/** The slowest of several workloads, source by source: one rule serves every workload, so it must suit the slowest. */
export function slowestTimings(timings: readonly SourceTimings[]): SourceTimings {
  if (timings.length === 0) return DEFAULT_SOURCE_TIMINGS;
  const slowest = (s: SeriesSource): SourceTiming => ({
    everySeconds: Math.max(...timings.map((t) => t[s].everySeconds)),
    lagSeconds: Math.max(...timings.map((t) => t[s].lagSeconds)),
  });
  return Object.fromEntries(SERIES_SOURCES.map((s) => [s, slowest(s)])) as Record<SeriesSource, SourceTiming>;
}

/** Series names (and name prefixes) that no data file lists, by source. */
const WRITTEN_EVERY_CYCLE = {
  // lambda/bridge/sagemaker/metadata.ts METADATA_FAMILIES (a test checks they agree).
  names: [
    'aws_sagemaker_endpoint_info',
    'aws_sagemaker_variant_instances',
    'aws_sagemaker_variant_weight',
    'aws_sagemaker_inference_component_info',
    'aws_sagemaker_inference_component_desired_copies',
    'aws_sagemaker_inference_component_current_copies',
  ],
  // The bridge's self-metrics (lambda/bridge/self-metrics.ts).
  prefixes: ['inferwatch_bridge_'],
};
/** The collector's own `up` and the TorchServe metrics; neuron-monitor's names are in the catalog too (the bridge reads them from CloudWatch). */
const SCRAPED = { names: ['up'], prefixes: ['ts_'] };

/** lib/ and lambda/ sit side by side in the checkout and in dist/. */
const LAMBDA_BRIDGE = join(__dirname, '..', '..', 'lambda', 'bridge');
const CATALOG_FILE = join(LAMBDA_BRIDGE, 'catalog', 'default-catalog.yaml');
const PROMQL_FILE = join(LAMBDA_BRIDGE, 'sources', 'promql', 'promql-metrics.yaml');

const CatalogFile = z.object({ namespaces: z.array(CatalogNamespaceSchema) });
const PromQlFile = z.object({ metrics: z.array(z.object({ name: z.string(), type: z.enum(['counter', 'gauge', 'histogram']) }).passthrough()) });

const INSTANCE_NAMESPACES = new Set(['/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents']);

/**
 * The class the bridge reads a CloudWatch metric at, as its metricClass decides from the series the metric becomes
 * (all the catalog lines of that metric together): instance metrics by namespace; timings by a summary,
 * a quantile or bucket, or a `_sum` and a `_count` together (a gauge merely named `..._count` is no timing);
 * counters; everything else.
 */
function catalogClass(namespace: string, lines: ReadonlyArray<CatalogNamespace['metrics'][number]>): BridgeClass {
  if (INSTANCE_NAMESPACES.has(namespace)) return 'utilization';
  const named = (suffix: string) => lines.some((line) => line.name.endsWith(suffix));
  const timingLine = lines.some((line) => line.type === 'summary' || line.constLabels.quantile !== undefined || line.constLabels.le !== undefined);
  if (timingLine || (named('_sum') && named('_count'))) return 'latency';
  return lines.every((line) => line.type === 'counter') ? 'counters' : 'other';
}

/** A namespace's catalog lines by the CloudWatch metric they read. */
function byCloudWatchMetric(lines: CatalogNamespace['metrics']): Map<string, Array<CatalogNamespace['metrics'][number]>> {
  const out = new Map<string, Array<CatalogNamespace['metrics'][number]>>();
  for (const line of lines) out.set(line.metric, [...(out.get(line.metric) ?? []), line]);
  return out;
}

/**
 * The series of a family. A summary that is also a histogram (latency mode `both`) writes its quantiles apart, as
 * `<base>_quantile_seconds` (lambda/bridge/catalog/catalog.ts quantileFamilyName).
 */
function familyNames(name: string, type: string): string[] {
  if (type !== 'summary' && type !== 'histogram') return [name];
  const quantiles = name.endsWith('_seconds') ? `${name.slice(0, -'_seconds'.length)}_quantile_seconds` : `${name}_quantile`;
  return [name, `${name}_sum`, `${name}_count`, `${name}_bucket`, quantiles];
}

/** Which sources write each series name, and the name prefixes of whole sources. */
export class SeriesIndex {
  private readonly names = new Map<string, Set<SeriesSource>>();
  private readonly prefixes: Array<[string, SeriesSource]> = [];

  /** The built-in catalog, `catalog` (workloads' own entries, merged over it), the PromQL source's mapping and the fixed names. */
  constructor(catalog: readonly CatalogNamespace[] = []) {
    const builtIn = CatalogFile.parse(parseYaml(readFileSync(CATALOG_FILE, 'utf8'))).namespaces;
    for (const namespace of [...builtIn, ...catalog]) {
      for (const lines of byCloudWatchMetric(namespace.metrics).values()) {
        const cls = catalogClass(namespace.namespace, lines);
        for (const line of lines) for (const name of familyNames(line.name, line.type)) this.add(name, cls);
      }
    }
    for (const metric of PromQlFile.parse(parseYaml(readFileSync(PROMQL_FILE, 'utf8'))).metrics) for (const name of familyNames(metric.name, metric.type)) this.add(name, 'cycle');
    for (const name of WRITTEN_EVERY_CYCLE.names) this.add(name, 'cycle');
    for (const name of SCRAPED.names) this.add(name, 'scrape');
    for (const prefix of WRITTEN_EVERY_CYCLE.prefixes) this.prefixes.push([prefix, 'cycle']);
    for (const prefix of SCRAPED.prefixes) this.prefixes.push([prefix, 'scrape']);
  }

  /** The sources of a series name; empty when none is known to write it. */
  sourcesOf(name: string): ReadonlySet<SeriesSource> {
    const found = new Set(this.names.get(name));
    for (const [prefix, source] of this.prefixes) if (name.startsWith(prefix)) found.add(source);
    return found;
  }

  private add(name: string, source: SeriesSource): void {
    const sources = this.names.get(name) ?? new Set<SeriesSource>();
    sources.add(source);
    this.names.set(name, sources);
  }
}
