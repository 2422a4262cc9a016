import type { Catalog, MetricMapping, SeriesTemplate } from '../catalog/catalog';
import { sanitizeLabelValue } from '../naming';
import { buildLabels, seriesKey, type Label } from '../series';
import { seriesKeyOf, type SeriesKey } from '../state/series-state';
import type { DiscoveredMetric } from './discovery';

/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

export interface PlannedQuery {
  readonly metric: DiscoveredMetric;
  readonly template: SeriesTemplate;
  /** Prometheus labels, `__name__` included, sorted. */
  readonly labels: readonly Label[];
  readonly key: SeriesKey;
}

interface MetricGroup {
  readonly mapping: MetricMapping;
  readonly metrics: DiscoveredMetric[];
}

/**
 * The queries of a cycle: one per (metric, dimensions, statistic) the catalog asks for, all sharing the cycle's
 * period and window. They are built lazily, one GetMetricData call's worth at a time, so a cycle never holds
 * every query of a large fleet. The order keeps each Prometheus metric family together (metric names sorted,
 * statistic before dimensions), which the text exposition needs.
 */
export class QueryPlan {
  /** Queries in the plan (before collisions are left out). */
  readonly size: number;
  /** CloudWatch metrics that would land on a series another metric already fills (after label sanitising). */
  readonly collisions: string[] = [];
  /** The series planned so far (all of them once `chunks()` is exhausted). */
  readonly planned = new Set<SeriesKey>();
  private readonly groups: MetricGroup[];

  constructor(
    metrics: readonly DiscoveredMetric[],
    catalog: Catalog,
    private readonly baseLabels: Readonly<Record<string, string>>,
    private readonly maxLabelValueLength: number,
  ) {
    const byName = new Map<string, MetricGroup>();
    for (const metric of metrics) {
      const id = `${metric.namespace}\u0000${metric.metricName}`;
      let group = byName.get(id);
      if (!group) {
        group = { mapping: catalog.resolve(metric.namespace, metric.metricName), metrics: [] };
        byName.set(id, group);
      }
      group.metrics.push(metric);
    }
    const family = (group: MetricGroup) => group.mapping.series[0]?.name ?? '';
    this.groups = [...byName.values()].sort((a, b) => (family(a) < family(b) ? -1 : family(a) > family(b) ? 1 : 0));
    this.size = this.groups.reduce((n, group) => n + group.metrics.length * group.mapping.series.length, 0);
  }

  /** Every Prometheus metric name the plan writes, and whether it is a counter. */
  families(): Array<{ name: string; counter: boolean }> {
    const families = new Map<string, boolean>();
    for (const group of this.groups) for (const template of group.mapping.series) families.set(template.name, template.kind === 'counter');
    return [...families].map(([name, counter]) => ({ name, counter }));
  }

  /** The queries in calls of at most `size` (500). */
  *chunks(size = MAX_QUERIES_PER_CALL): Generator<PlannedQuery[]> {
    const seen = this.planned;
    let chunk: PlannedQuery[] = [];
    for (const { mapping, metrics } of this.groups) {
      const dimensionLabels = metrics.map((metric) => {
        const labels: Record<string, string> = {};
        for (const dimension of metric.dimensions) {
          if (dimension.Name === undefined || dimension.Value === undefined) continue;
          labels[mapping.labelFor(dimension.Name)] = sanitizeLabelValue(dimension.Value, this.maxLabelValueLength);
        }
        return labels;
      });
      for (const template of mapping.series) {
        for (const [index, metric] of metrics.entries()) {
          const labels = buildLabels(template.name, { ...dimensionLabels[index], ...template.constLabels, ...this.baseLabels });
          const key = seriesKeyOf(seriesKey(labels));
          if (seen.has(key)) {
            this.collisions.push(`${metric.namespace} ${metric.metricName} ${template.stat} ${JSON.stringify(metric.dimensions)}`);
            continue;
          }
          seen.add(key);
          chunk.push({ metric, template, labels, key });
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
