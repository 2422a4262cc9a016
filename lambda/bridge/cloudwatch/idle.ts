import { createHash } from 'node:crypto';
import type { Dimension } from '@aws-sdk/client-cloudwatch';
import type { DiscoveredMetric } from './discovery';

const SAGEMAKER = 'AWS/SageMaker';

/**
 * The per-variant metrics SageMaker publishes only for periods with traffic ("SageMaker AI metrics in Amazon
 * CloudWatch": invocation, error and latency metrics; the streaming ones for endpoints that stream). A variant with no
 * invocations has none of them, so reading them costs a metric each and returns nothing.
 */
export const PUBLISHED_WITH_TRAFFIC: ReadonlySet<string> = new Set([
  'Invocations',
  'Invocation4XXErrors',
  'Invocation5XXErrors',
  'InvocationModelErrors',
  'InvocationsPerInstance',
  'ModelLatency',
  'OverheadLatency',
  'FirstChunkLatency',
  'FirstChunkModelLatency',
  'FirstChunkOverheadLatency',
  'MidStreamErrors',
]);

/** The one query an idle variant is read through: its invocations' SampleCount (a datapoint per period with traffic). */
export const SENTINEL = { metricName: 'Invocations', stat: 'SampleCount' } as const;

/** The key of a variant in the state's `idle` map: 12 characters of MD5 of (endpoint, variant), compact in the JSON header. */
export function variantKey(endpoint: string, variant: string): string {
  return createHash('md5').update(JSON.stringify([endpoint, variant])).digest('base64').slice(0, 12);
}

function publishedWithTraffic(metric: DiscoveredMetric): boolean {
  return metric.namespace === SAGEMAKER && PUBLISHED_WITH_TRAFFIC.has(metric.metricName);
}

/** The variant of a metric SageMaker publishes only with traffic (AWS/SageMaker, exactly EndpointName and VariantName). */
function trafficVariant(metric: DiscoveredMetric): { endpoint: string; variant: string } | undefined {
  if (metric.dimensions.length !== 2 || !publishedWithTraffic(metric)) return undefined;
  const endpoint = metric.dimensions.find((d) => d.Name === 'EndpointName')?.Value;
  const variant = metric.dimensions.find((d) => d.Name === 'VariantName')?.Value;
  return endpoint === undefined || variant === undefined ? undefined : { endpoint, variant };
}

/** One variant's metrics that SageMaker publishes only with traffic, and the one among them its sentinel reads. */
export interface TrafficGroup {
  readonly metrics: DiscoveredMetric[];
  sentinel?: DiscoveredMetric;
}

/**
 * A cycle's metrics split by variant: those SageMaker publishes only with traffic, grouped by variant (a variant can be
 * read through a sentinel only when its `Invocations` is listed, and not once its endpoint or variant has ended: its
 * stale markers come from a read), and the rest, read every cycle (instance metrics, components, per-zone sets).
 */
export class TrafficSplit {
  readonly groups = new Map<string, TrafficGroup>();
  readonly always: DiscoveredMetric[] = [];
  /**
   * The variant key of each dimension list of a grouped metric. Discovery shares one list among a variant's metrics,
   * so this is an entry a variant, not a metric: ~5 MB less of a Lambda's heap at 10,000 variants, and one MD5 a
   * variant. `ended` sees only the dimensions, so every metric of a list is grouped alike.
   */
  private readonly keys = new Map<readonly Dimension[], string>();

  constructor(metrics: readonly DiscoveredMetric[], ended: (dimensions: readonly Dimension[]) => boolean) {
    for (const metric of metrics) {
      let key = this.keys.get(metric.dimensions);
      if (key === undefined) {
        const owner = trafficVariant(metric);
        if (!owner || ended(metric.dimensions)) {
          this.always.push(metric);
          continue;
        }
        key = variantKey(owner.endpoint, owner.variant);
        this.keys.set(metric.dimensions, key);
      } else if (!publishedWithTraffic(metric)) {
        this.always.push(metric);
        continue;
      }
      let group = this.groups.get(key);
      if (!group) {
        group = { metrics: [] };
        this.groups.set(key, group);
      }
      group.metrics.push(metric);
      if (metric.metricName === SENTINEL.metricName) group.sentinel = metric;
    }
    for (const [key, group] of this.groups) {
      if (group.sentinel) continue;
      // No invocations listed: nothing to tell traffic by, so the variant is read in full.
      this.always.push(...group.metrics);
      for (const metric of group.metrics) this.keys.delete(metric.dimensions);
      this.groups.delete(key);
    }
  }

  /** The variant key of a metric read through a sentinel when idle; undefined for the others. */
  keyOf(metric: DiscoveredMetric): string | undefined {
    // An instance metric may share its variant's dimension list; only those published with traffic are grouped.
    return publishedWithTraffic(metric) ? this.keys.get(metric.dimensions) : undefined;
  }
}

/** What the full reads of a cycle saw of each variant's traffic. */
export class TrafficWatch {
  /** Variants whose `Invocations` returned a datapoint in the read. */
  readonly seen = new Set<string>();
  /** Variants with a query cut short (PartialData): their traffic is not known, so they stay read in full. */
  readonly unsure = new Set<string>();

  constructor(readonly split: TrafficSplit) {}
}

/**
 * The state's `idle` map after a cycle. A variant read in full whose invocations showed no datapoint in the whole
 * read (every period from the revision base to the window's end) is idle from the window's end: everything before
 * was read in full. A variant that stayed idle keeps its mark; one with traffic, or whose read was cut, is read in
 * full next cycle.
 */
export function nextIdle(split: TrafficSplit, watch: TrafficWatch, skipped: ReadonlyMap<string, number>, windowEnd: number): Record<string, number> {
  const idle: Record<string, number> = {};
  for (const key of split.groups.keys()) {
    const from = skipped.get(key);
    if (from !== undefined) idle[key] = from;
    else if (!watch.seen.has(key) && !watch.unsure.has(key)) idle[key] = windowEnd;
  }
  return idle;
}
