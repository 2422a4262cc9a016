import { ListMetricsCommand, type CloudWatchClient, type Dimension } from '@aws-sdk/client-cloudwatch';
import type { ApiCallCounter } from '../self-metrics';

export interface DiscoveredMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
}

/** ListMetrics results kept between warm invocations (module scope in Lambda, process scope in the CLI). */
export class DiscoveryCache {
  private readonly entries = new Map<string, { fetchedAt: number; metrics: DiscoveredMetric[] }>();

  get(namespace: string, nowMs: number, ttlMs: number): DiscoveredMetric[] | undefined {
    const entry = this.entries.get(namespace);
    return entry && nowMs - entry.fetchedAt < ttlMs ? entry.metrics : undefined;
  }

  set(namespace: string, nowMs: number, metrics: DiscoveredMetric[]): void {
    this.entries.set(namespace, { fetchedAt: nowMs, metrics });
  }
}

/**
 * Shares equal dimensions between metrics: a variant's dozen metrics carry the same EndpointName and VariantName,
 * so a 10,000-variant fleet's cache holds each dimension once instead of a dozen times.
 */
class DimensionPool {
  private readonly pool = new Map<string, Dimension>();

  intern(dimension: Dimension): Dimension {
    const key = `${dimension.Name}\u0000${dimension.Value}`;
    let shared = this.pool.get(key);
    if (!shared) {
      shared = { Name: dimension.Name, Value: dimension.Value };
      this.pool.set(key, shared);
    }
    return shared;
  }
}

/** Every metric active in the last three hours in each namespace (ListMetrics, paginated, namespaces at once), from cache when fresh. */
export async function discoverMetrics(
  cloudwatch: CloudWatchClient,
  namespaces: readonly string[],
  cache: DiscoveryCache,
  nowMs: number,
  ttlMs: number,
  calls: ApiCallCounter,
): Promise<DiscoveredMetric[]> {
  const pool = new DimensionPool();
  const names = new Map<string, string>();
  const perNamespace = await Promise.all(
    namespaces.map(async (namespace) => {
      let metrics = cache.get(namespace, nowMs, ttlMs);
      if (!metrics) {
        metrics = [];
        let nextToken: string | undefined;
        do {
          const page = await cloudwatch.send(new ListMetricsCommand({ Namespace: namespace, RecentlyActive: 'PT3H', NextToken: nextToken }));
          calls.record('cloudwatch', 'ListMetrics', page.$metadata?.attempts);
          for (const metric of page.Metrics ?? []) {
            if (!metric.MetricName) continue;
            const metricName = names.get(metric.MetricName) ?? (names.set(metric.MetricName, metric.MetricName), metric.MetricName);
            metrics.push({ namespace, metricName, dimensions: (metric.Dimensions ?? []).map((d) => pool.intern(d)) });
          }
          nextToken = page.NextToken;
        } while (nextToken);
        cache.set(namespace, nowMs, metrics);
      }
      return metrics;
    }),
  );
  return perNamespace.flat();
}
