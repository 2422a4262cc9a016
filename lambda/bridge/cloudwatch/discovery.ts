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

/** Every metric active in the last three hours in each namespace (ListMetrics, paginated), from cache when fresh. */
export async function discoverMetrics(
  cloudwatch: CloudWatchClient,
  namespaces: readonly string[],
  cache: DiscoveryCache,
  nowMs: number,
  ttlMs: number,
  calls: ApiCallCounter,
): Promise<DiscoveredMetric[]> {
  const all: DiscoveredMetric[] = [];
  for (const namespace of namespaces) {
    let metrics = cache.get(namespace, nowMs, ttlMs);
    if (!metrics) {
      metrics = [];
      let nextToken: string | undefined;
      do {
        const page = await cloudwatch.send(new ListMetricsCommand({ Namespace: namespace, RecentlyActive: 'PT3H', NextToken: nextToken }));
        calls.record('cloudwatch', 'ListMetrics', page.$metadata?.attempts);
        for (const metric of page.Metrics ?? []) {
          if (metric.MetricName) metrics.push({ namespace, metricName: metric.MetricName, dimensions: metric.Dimensions ?? [] });
        }
        nextToken = page.NextToken;
      } while (nextToken);
      cache.set(namespace, nowMs, metrics);
    }
    all.push(...metrics);
  }
  return all;
}
