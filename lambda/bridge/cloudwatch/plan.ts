import type { Catalog, SeriesTemplate } from '../catalog/catalog';
import { sanitizeLabelValue } from '../naming';
import { buildLabels, seriesKey } from '../series';
import type { DiscoveredMetric } from './discovery';

/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

export interface PlannedQuery {
  readonly metric: DiscoveredMetric;
  readonly template: SeriesTemplate;
  /** Prometheus labels (without `__name__`). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface QueryPlan {
  readonly queries: PlannedQuery[];
  /** CloudWatch metrics that would land on a series another metric already fills (after label sanitising). */
  readonly collisions: string[];
}

/** One query per (metric, dimensions, statistic) the catalog asks for; all share the cycle's period and window. */
export function planQueries(
  metrics: readonly DiscoveredMetric[],
  catalog: Catalog,
  baseLabels: Readonly<Record<string, string>>,
  maxLabelValueLength: number,
): QueryPlan {
  const queries: PlannedQuery[] = [];
  const collisions: string[] = [];
  const seen = new Set<string>();
  for (const metric of metrics) {
    const mapping = catalog.resolve(metric.namespace, metric.metricName);
    const dimensionLabels: Record<string, string> = {};
    for (const dimension of metric.dimensions) {
      if (dimension.Name === undefined || dimension.Value === undefined) continue;
      dimensionLabels[mapping.labelFor(dimension.Name)] = sanitizeLabelValue(dimension.Value, maxLabelValueLength);
    }
    for (const template of mapping.series) {
      const labels = { ...dimensionLabels, ...template.constLabels, ...baseLabels };
      const key = seriesKey(buildLabels(template.name, labels));
      if (seen.has(key)) {
        collisions.push(`${metric.namespace} ${metric.metricName} ${template.stat} ${JSON.stringify(metric.dimensions)}`);
        continue;
      }
      seen.add(key);
      queries.push({ metric, template, labels });
    }
  }
  return { queries, collisions };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
