import type { Catalog, MetricMapping, SeriesTemplate } from '../catalog/catalog';
import { sanitizeLabelValue } from '../../../contract/naming';
import { buildLabels, seriesKey, type Label } from '../series';
import { seriesKeyOf, type SeriesKey } from '../state/series-state';
import type { DiscoveredMetric } from './discovery';

/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

/** One Prometheus series a query's datapoints become. */
export interface PlannedSeries {
  readonly template: SeriesTemplate;
  /** Prometheus labels, `__name__` included, sorted. */
  readonly labels: readonly Label[];
  readonly key: SeriesKey;
}

/** The periods a plan reads at. */
export interface PlanPeriods {
  /** The cycle's period (config `period`), seconds. */
  readonly period: number;
  /** Read the catalog's high-resolution metrics at their own `resolution` when it is shorter (config `highResolution`). */
  readonly highResolution: boolean;
}

export interface PlannedQuery extends PlannedSeries {
  readonly metric: DiscoveredMetric;
  /** The GetMetricData period of the query, seconds: the cycle's, or a high-resolution metric's own. */
  readonly periodSeconds: number;
  /**
   * Further series fed by the same datapoints (same statistic and scale): a histogram's `le="+Inf"` bucket is its
   * `_count`. CloudWatch bills per metric requested, so a statistic is read once however many series it fills.
   */
  readonly also: readonly PlannedSeries[];
}

/** Templates that read one statistic: the first is the query's own series, the rest its `also`. */
type QueryTemplates = readonly [SeriesTemplate, ...SeriesTemplate[]];

interface MetricGroup {
  readonly mapping: MetricMapping;
  readonly queries: readonly QueryTemplates[];
  readonly metrics: DiscoveredMetric[];
  readonly periodSeconds: number;
}

/** The mapping's templates grouped by what CloudWatch is asked (statistic and scale), in order of first appearance. */
function queryTemplates(mapping: MetricMapping): QueryTemplates[] {
  const byStat = new Map<string, SeriesTemplate[]>();
  for (const template of mapping.series) {
    const id = `${template.stat}\u0000${template.scale}\u0000${template.kind}`;
    const group = byStat.get(id);
    if (group) group.push(template);
    else byStat.set(id, [template]);
  }
  return [...byStat.values()] as unknown as QueryTemplates[];
}

/** Notes the series a plan fills, to find two metrics landing on one series: false when `key` was noted already. */
export interface PlannedMarks {
  markPlanned(key: SeriesKey): boolean;
}

/** PlannedMarks in a Set, for a plan without a series table. The cycle marks its table: a Set costs ~45 B a series. */
export class PlannedKeys extends Set<SeriesKey> implements PlannedMarks {
  markPlanned(key: SeriesKey): boolean {
    if (this.has(key)) return false;
    this.add(key);
    return true;
  }
}

/**
 * The queries of a cycle: one per (metric, dimensions, statistic) the catalog asks for, all sharing the cycle's
 * window, and its period but for high-resolution metrics read at their own (each call holds one period). They are built lazily, one GetMetricData call's worth at a time, so a cycle never holds
 * every query of a large fleet. The order keeps each Prometheus metric family together (metric names sorted,
 * statistic before dimensions), which the text exposition needs.
 */
export class QueryPlan {
  /** Queries in the plan (before collisions are left out): the CloudWatch metrics one read requests, what GetMetricData bills. */
  readonly size: number;
  /** Series the queries fill: more than `size` where one statistic feeds two series (a histogram's +Inf bucket). */
  readonly seriesCount: number;
  /** Datapoints the queries return per cycle period: a query at a shorter period returns several. */
  readonly samplesPerPeriod: number;
  /** CloudWatch metrics that would land on a series another metric already fills (after label sanitising). */
  readonly collisions: string[] = [];
  private readonly groups: MetricGroup[];

  constructor(
    metrics: readonly DiscoveredMetric[],
    catalog: Catalog,
    private readonly baseLabels: Readonly<Record<string, string>>,
    private readonly maxLabelValueLength: number,
    periods: PlanPeriods = { period: 60, highResolution: false },
    /** Notes the series planned so far (all of them once `chunks()` is exhausted). */
    readonly planned: PlannedMarks = new PlannedKeys(),
  ) {
    const byName = new Map<string, MetricGroup>();
    for (const metric of metrics) {
      const id = `${metric.namespace}\u0000${metric.metricName}`;
      let group = byName.get(id);
      if (!group) {
        const mapping = catalog.resolve(metric.namespace, metric.metricName);
        const own = mapping.resolution;
        group = { mapping, queries: queryTemplates(mapping), metrics: [], periodSeconds: periods.highResolution && own !== undefined && own < periods.period ? own : periods.period };
        byName.set(id, group);
      }
      group.metrics.push(metric);
    }
    const family = (group: MetricGroup) => group.mapping.series[0]?.name ?? '';
    // One period per GetMetricData call: the cycle's period first, then each shorter one, families sorted within.
    this.groups = [...byName.values()].sort((a, b) => b.periodSeconds - a.periodSeconds || (family(a) < family(b) ? -1 : family(a) > family(b) ? 1 : 0));
    this.size = this.groups.reduce((n, group) => n + group.metrics.length * group.queries.length, 0);
    this.seriesCount = this.groups.reduce((n, group) => n + group.metrics.length * group.mapping.series.length, 0);
    this.samplesPerPeriod = this.groups.reduce((n, group) => n + group.metrics.length * group.mapping.series.length * (periods.period / group.periodSeconds), 0);
  }

  /** Every Prometheus metric name the plan writes, and whether it is a counter. */
  families(): Array<{ name: string; counter: boolean }> {
    const families = new Map<string, boolean>();
    for (const group of this.groups) for (const template of group.mapping.series) families.set(template.name, template.kind === 'counter');
    return [...families].map(([name, counter]) => ({ name, counter }));
  }

  /** The queries in calls of at most `size` (500), each call's queries of one period. */
  *chunks(size = MAX_QUERIES_PER_CALL): Generator<PlannedQuery[]> {
    let chunk: PlannedQuery[] = [];
    for (const { mapping, queries, metrics, periodSeconds } of this.groups) {
      if (chunk.length > 0 && chunk[0]?.periodSeconds !== periodSeconds) {
        yield chunk;
        chunk = [];
      }
      const dimensionLabels = metrics.map((metric) => {
        const labels: Record<string, string> = {};
        for (const dimension of metric.dimensions) {
          if (dimension.Name === undefined || dimension.Value === undefined) continue;
          labels[mapping.labelFor(dimension.Name)] = sanitizeLabelValue(dimension.Value, this.maxLabelValueLength);
        }
        return labels;
      });
      for (const [template, ...others] of queries) {
        for (const [index, metric] of metrics.entries()) {
          const plannedSeries = (t: SeriesTemplate): PlannedSeries | undefined => {
            const labels = buildLabels(t.name, { ...dimensionLabels[index], ...t.constLabels, ...this.baseLabels });
            const key = seriesKeyOf(seriesKey(labels));
            if (!this.planned.markPlanned(key)) {
              this.collisions.push(`${metric.namespace} ${metric.metricName} ${t.stat} ${JSON.stringify(metric.dimensions)}`);
              return undefined;
            }
            return { template: t, labels, key };
          };
          const own = plannedSeries(template);
          if (!own) continue;
          const also = others.map(plannedSeries).filter((p): p is PlannedSeries => p !== undefined);
          chunk.push({ ...own, metric, also, periodSeconds });
          if (chunk.length === size) {
            yield chunk;
            chunk = [];
          }
        }
      }
    }
    if (chunk.length > 0) yield chunk;
  }
}
