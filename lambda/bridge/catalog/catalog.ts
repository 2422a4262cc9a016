import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_LATENCY_MODE, type LatencyMode } from '../../../contract/latency';
import { CatalogNamespaceSchema, type CatalogMetric, type CatalogNamespace } from '../../../contract/catalog-schema';
import { namespacePrefix, normalizeMetricKey, sanitizeLabelName, snakeCase, yaceSnakeCase } from '../../../contract/naming';

const CatalogFileSchema = z.object({ namespaces: z.array(CatalogNamespaceSchema) }).strict();

/**
 * Bucket upper bounds (seconds) of a latency histogram unless the catalog entry gives its own: Prometheus client
 * libraries' default buckets, 5 ms to 10 s, which cover model latency from a small classifier to a large model's
 * full response. 11 edges: 11 more CloudWatch metrics per latency metric (the +Inf bucket is SampleCount, read once).
 */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The `le` label of a bucket edge, as Prometheus client libraries write it (0.005, 0.1, 1, 2.5, +Inf). */
export function formatLe(edge: number): string {
  return edge === Infinity ? '+Inf' : String(edge);
}

/** The summary family name of the quantile gauges in `both` mode: the histogram keeps `<name>` (see README). */
export function quantileFamilyName(name: string): string {
  return name.endsWith('_seconds') ? `${name.slice(0, -'_seconds'.length)}_quantile_seconds` : `${name}_quantile`;
}

/** What one GetMetricData statistic of a metric becomes. */
export interface SeriesTemplate {
  readonly stat: string;
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly scale: number;
  readonly constLabels: Readonly<Record<string, string>>;
}

export interface MetricMapping {
  readonly series: readonly SeriesTemplate[];
  /** Seconds between CloudWatch's datapoints of a high-resolution metric (the catalog's `resolution`). @default standard (60) */
  readonly resolution?: number;
  /** The label a CloudWatch dimension becomes. */
  labelFor(dimension: string): string;
}

/**
 * A dimension's label name, worked out once: a plan asks it for every dimension of every metric it reads (some 260,000
 * at 10,000 variants), and each answer is a few regular-expression passes, about half a GB of garbage a full read.
 * A namespace has a handful of dimension names, so the cache stays small.
 */
function memoized(labelFor: (dimension: string) => string): (dimension: string) => string {
  const known = new Map<string, string>();
  return (dimension) => {
    let name = known.get(dimension);
    if (name === undefined) {
      name = labelFor(dimension);
      known.set(dimension, name);
    }
    return name;
  };
}

export type NamingProfile = 'inferwatch' | 'yace';

/** The Prometheus metric family a series belongs to, for `# HELP`/`# TYPE` and remote-write metadata. */
export interface FamilyInfo {
  /** The family name: a summary's `_sum` and `_count` series belong to `<name>`. */
  readonly family: string;
  readonly type: 'counter' | 'gauge' | 'summary' | 'histogram';
  readonly help: string;
}

/** Family by series name (`__name__`); undefined for names nobody described. */
export type FamilyLookup = (seriesName: string) => FamilyInfo | undefined;

function helpFor(namespace: string, metricName: string, stats: readonly string[], metric: Pick<CatalogMetric, 'unit' | 'scale' | 'type' | 'help'> | undefined): string {
  const how = metric?.type === 'counter' ? ', summed per period into a running total' : '';
  const unit = metric?.unit ? `; CloudWatch unit ${metric.unit}` : '';
  const scale = metric && metric.scale !== 1 ? `, multiplied by ${metric.scale}` : '';
  const source = metric ? '' : ' (not in the inferwatch catalog: raw value)';
  const meaning = metric?.help ? `${metric.help}. ` : '';
  return `${meaning}CloudWatch ${namespace} ${metricName}, statistic${stats.length > 1 ? 's' : ''} ${stats.join(', ')}${how}${unit}${scale}${source}`;
}

function quantileStat(quantile: number): string {
  return `p${Number((quantile * 100).toFixed(4))}`;
}

/**
 * CloudWatch's trimmed count of values at most `edge` seconds, in the metric's own unit (`edge / scale`): TC's
 * lower bound is exclusive and its upper inclusive, exactly the `le` of a Prometheus bucket.
 */
function trimmedCountStat(edge: number, scale: number): string {
  return `TC(:${Number((edge / scale).toPrecision(12))})`;
}

/** True when a catalog entry is written as a histogram in this latency mode. */
function writesHistogram(metric: CatalogMetric, latency: LatencyMode): boolean {
  return metric.type === 'summary' && metric.histogram === true && latency !== 'summary';
}

function templatesFor(metric: CatalogMetric, latency: LatencyMode): SeriesTemplate[] {
  const base = { scale: metric.scale, constLabels: metric.constLabels };
  switch (metric.type) {
    case 'counter':
      return [{ ...base, stat: 'Sum', name: metric.name, kind: 'counter' }];
    case 'gauge':
      return [{ ...base, stat: metric.statistic ?? 'Average', name: metric.name, kind: 'gauge' }];
    case 'summary': {
      const histogram = writesHistogram(metric, latency);
      const quantiles = histogram && latency === 'histogram' ? [] : (metric.quantiles ?? [0.5, 0.9, 0.99]);
      const quantileName = histogram ? quantileFamilyName(metric.name) : metric.name;
      const count: SeriesTemplate = { ...base, scale: 1, stat: 'SampleCount', name: `${metric.name}_count`, kind: 'counter' };
      // Buckets in `le` order, +Inf last, then _sum and _count, all one family for the exposition. The +Inf bucket is
      // SampleCount, the same query as _count: the plan reads a statistic once and feeds both series.
      const buckets: SeriesTemplate[] = histogram
        ? [
            ...(metric.buckets ?? DEFAULT_BUCKETS).map((edge): SeriesTemplate => ({ ...base, scale: 1, stat: trimmedCountStat(edge, metric.scale), name: `${metric.name}_bucket`, kind: 'counter', constLabels: { ...metric.constLabels, le: formatLe(edge) } })),
            { ...count, name: `${metric.name}_bucket`, constLabels: { ...metric.constLabels, le: '+Inf' } },
          ]
        : [];
      return [
        ...buckets,
        { ...base, stat: 'Sum', name: `${metric.name}_sum`, kind: 'counter' },
        count,
        ...quantiles.map((q): SeriesTemplate => ({
          ...base,
          stat: quantileStat(q),
          name: quantileName,
          kind: 'gauge',
          constLabels: { ...metric.constLabels, quantile: String(q) },
        })),
      ];
    }
  }
}

/**
 * `aws_<prefix>_<metric>_<statistic>` for a metric the catalog does not list. The namespace's prefix is not said twice
 * (a Neuron `NeuronCoreFoo` is `aws_neuron_core_foo_average`, not `aws_neuron_neuron_core_foo_average`), and a name
 * with nothing snake_case can keep (`%`, `利用率`) keeps a hash of itself, so distinct metrics stay distinct series.
 */
function genericName(prefix: string, metricName: string, stat: string): string {
  let metric = snakeCase(metricName);
  if (metric.startsWith(`${prefix}_`) && metric.length > prefix.length + 1) metric = metric.slice(prefix.length + 1);
  if (metric === '') metric = `metric_${createHash('sha256').update(metricName).digest('hex').slice(0, 8)}`;
  return `aws_${prefix}_${metric}_${snakeCase(stat)}`;
}

const DEFAULT_CATALOG_PATH = join(__dirname, 'default-catalog.yaml');

export function loadDefaultCatalog(): CatalogNamespace[] {
  const parsed = CatalogFileSchema.safeParse(parseYaml(readFileSync(DEFAULT_CATALOG_PATH, 'utf8')));
  if (!parsed.success) throw new Error(`built-in catalog ${DEFAULT_CATALOG_PATH} is invalid: ${parsed.error.message}`);
  return parsed.data.namespaces;
}

interface ResolvedNamespace {
  readonly prefix: string;
  readonly defaultStatistics: readonly string[];
  readonly labels: ReadonlyMap<string, string>;
  readonly metrics: ReadonlyMap<string, CatalogMetric>;
}

/**
 * The metric catalog: data that maps CloudWatch (namespace, metric, statistic) to Prometheus series.
 * User entries are merged over the built-in ones: same namespace extends it, same metric replaces it.
 */
export class Catalog {
  private readonly namespaces = new Map<string, ResolvedNamespace>();
  /** Families by series name: the catalog's, and the generic names `resolve` hands out for unlisted metrics. */
  private readonly families = new Map<string, FamilyInfo>();
  private catalogFamiliesBuilt = false;
  /** Unlisted metrics `resolve` named, by namespace (metric -> its first series name), not yet handed to `takeUnlisted`. */
  private readonly unlisted = new Map<string, Map<string, string>>();
  private readonly unlistedSeen = new Set<string>();

  constructor(
    entries: readonly CatalogNamespace[],
    private readonly profile: NamingProfile = 'inferwatch',
    neuronNamespace = 'neuron_monitor',
    /** How entries marked `histogram` are written (the `latency` config key). */
    readonly latency: LatencyMode = DEFAULT_LATENCY_MODE,
  ) {
    for (const entry of entries) {
      const namespace = entry.role === 'neuron' ? neuronNamespace : entry.namespace;
      const existing = this.namespaces.get(namespace);
      const labels = new Map(existing?.labels);
      for (const [dimension, label] of Object.entries(entry.labels)) labels.set(normalizeMetricKey(dimension), sanitizeLabelName(label));
      const metrics = new Map(existing?.metrics);
      for (const metric of entry.metrics) {
        for (const key of [metric.metric, ...metric.aliases]) metrics.set(normalizeMetricKey(key), metric);
      }
      this.namespaces.set(namespace, {
        prefix: entry.prefix ?? existing?.prefix ?? namespacePrefix(namespace),
        defaultStatistics: entry.defaultStatistics ?? existing?.defaultStatistics ?? ['Average'],
        labels,
        metrics,
      });
    }
  }

  static withDefaults(userEntries: readonly CatalogNamespace[], profile: NamingProfile, neuronNamespace: string, latency: LatencyMode = DEFAULT_LATENCY_MODE): Catalog {
    return new Catalog([...loadDefaultCatalog(), ...userEntries], profile, neuronNamespace, latency);
  }

  /**
   * The family of a series name: a summary's `<name>_sum`, `<name>_count` and `<name>` are one `summary` family
   * `<name>`. Covers the catalog's metrics, and unlisted metrics once `resolve` has named them.
   */
  familyOf(seriesName: string): FamilyInfo | undefined {
    if (!this.catalogFamiliesBuilt) {
      this.catalogFamiliesBuilt = true;
      for (const [namespace, metrics] of this.listedMetrics()) for (const metric of metrics) this.resolve(namespace, metric);
    }
    return this.families.get(seriesName);
  }

  /** The CloudWatch metric names the catalog lists, by namespace; `realTimeOnly` leaves out those only one other endpoint shape publishes. */
  listedMetrics(realTimeOnly = false): Array<[string, string[]]> {
    return [...this.namespaces].map(([namespace, ns]) => [
      namespace,
      [...new Set(ns.metrics.values())].filter((m) => !realTimeOnly || m.shape === undefined).map((m) => m.metric),
    ]);
  }

  /** Every family this catalog describes (and that `resolve` named so far): what remote-write metadata announces. */
  allFamilies(): FamilyInfo[] {
    this.familyOf('');
    return [...new Map([...this.families.values()].map((f) => [f.family, f])).values()].sort((a, b) => (a.family < b.family ? -1 : 1));
  }

  private describe(series: readonly SeriesTemplate[], info: (template: SeriesTemplate) => FamilyInfo): void {
    for (const template of series) if (!this.families.has(template.name)) this.families.set(template.name, info(template));
  }

  /** How a CloudWatch metric maps; metrics the catalog does not list get generic gauge names. */
  resolve(namespace: string, metricName: string): MetricMapping {
    const ns = this.namespaces.get(namespace);
    const known = ns?.metrics.get(normalizeMetricKey(metricName));
    const labels = ns?.labels ?? new Map<string, string>();
    if (this.profile === 'yace') {
      const mapping = this.yaceMapping(namespace, metricName, known, ns);
      this.describe(mapping.series, (t) => ({ family: t.name, type: 'gauge', help: helpFor(namespace, metricName, [t.stat], undefined).replace(' (not in the inferwatch catalog: raw value)', ' (yace names: raw value)') }));
      if (!known) this.noteUnlisted(namespace, metricName, mapping.series[0]?.name ?? '');
      return { ...mapping, resolution: known?.resolution };
    }

    const series = known
      ? templatesFor(known, this.latency)
      : (ns?.defaultStatistics ?? ['Average']).map(
          (stat): SeriesTemplate => ({
            stat,
            name: genericName(ns?.prefix ?? namespacePrefix(namespace), metricName, stat),
            kind: 'gauge',
            scale: 1,
            constLabels: {},
          }),
        );
    if (known) {
      const histogram = writesHistogram(known, this.latency);
      const stats = [...new Set(series.map((t) => (t.stat.startsWith('TC(') ? 'TC(:le) per bucket' : t.stat)))];
      const help = helpFor(namespace, known.metric, stats, known);
      const quantileName = quantileFamilyName(known.name);
      const quantileHelp = `${helpFor(namespace, known.metric, stats.filter((s) => /^p\d/.test(s)), known)}; the histogram is ${known.name}`;
      this.describe(series, (t) =>
        histogram && t.name === quantileName ? { family: quantileName, type: 'summary', help: quantileHelp } : { family: known.name, type: histogram ? 'histogram' : known.type, help },
      );
    } else {
      this.describe(series, (t) => ({ family: t.name, type: 'gauge', help: helpFor(namespace, metricName, [t.stat], undefined) }));
      this.noteUnlisted(namespace, metricName, series[0]?.name ?? '');
    }
    return {
      series,
      resolution: known?.resolution,
      labelFor: memoized((dimension) => labels.get(normalizeMetricKey(dimension)) ?? sanitizeLabelName(snakeCase(dimension))),
    };
  }

  private noteUnlisted(namespace: string, metricName: string, seriesName: string): void {
    const key = `${namespace}\u0000${metricName}`;
    if (this.unlistedSeen.has(key)) return;
    this.unlistedSeen.add(key);
    const names = this.unlisted.get(namespace) ?? new Map<string, string>();
    names.set(metricName, seriesName);
    this.unlisted.set(namespace, names);
  }

  /**
   * The metrics no catalog entry matched that `resolve` named since the last call, by namespace, each with the name it
   * got: each is handed out once in the catalog's life (a warm Lambda's, a CLI process'), for one log line.
   */
  takeUnlisted(): Array<[string, Record<string, string>]> {
    const taken = [...this.unlisted].map(([namespace, names]): [string, Record<string, string>] => [namespace, Object.fromEntries([...names].sort(([a], [b]) => (a < b ? -1 : 1)))]);
    this.unlisted.clear();
    return taken;
  }

  /** yet-another-cloudwatch-exporter names: aws_<namespace>_<metric>_<statistic>, raw values, `dimension_<Name>` labels. */
  private yaceMapping(namespace: string, metricName: string, known: CatalogMetric | undefined, ns: ResolvedNamespace | undefined): MetricMapping {
    // YACE has no histograms: its names are per statistic, so a latency keeps its summary statistics.
    const stats = known ? templatesFor(known, 'summary').map((t) => t.stat) : [...(ns?.defaultStatistics ?? ['Average'])];
    // YACE lower-cases the namespace as a whole (AWS/SageMaker -> sagemaker) and splits only metric names.
    const service = namespace.replace(/^\/?aws\//i, '').toLowerCase().replace(/[^a-z0-9]+/g, '_');
    const prefix = `aws_${service}_${yaceSnakeCase(metricName)}`;
    return {
      series: stats.map((stat) => ({ stat, name: `${prefix}_${yaceSnakeCase(stat)}`, kind: 'gauge', scale: 1, constLabels: {} })),
      labelFor: memoized((dimension) => `dimension_${sanitizeLabelName(dimension)}`),
    };
  }
}
