import { LATENCY_PROFILES, rawLatencies, statisticOf, type LatencyProfile } from './latency-distribution';

/**
 * The simulated fleet the AWS stand-ins serve: SageMaker endpoints of every shape and Inferentia hosts, and the
 * deterministic CloudWatch metrics they publish (cloudwatch-stand-in.ts serves them, sagemaker-stand-in.ts the
 * endpoints, aws-stand-in.ts both over HTTP).
 */
export interface Dimension {
  readonly Name: string;
  readonly Value: string;
}

export interface FleetEndpoint {
  readonly name: string;
  readonly variants: ReadonlyArray<{ name: string; instanceType: string; instances: number; weight: number; latencyProfile?: LatencyProfile }>;
  /** Epoch seconds. @default 1700000000 */
  readonly createdAt?: number;
  /** Epoch seconds. @default createdAt */
  readonly modifiedAt?: number;
  /**
   * Which inference shape the endpoint is: it decides the CloudWatch metrics and dimension sets it publishes and what
   * DescribeEndpoint and DescribeEndpointConfig answer. @default 'realtime'
   */
  readonly shape?: EndpointShape;
  /** Inference components hosted on the endpoint (shape `inference-components` only). @default none */
  readonly components?: readonly string[];
  /** `MetricsConfig.EnableEnhancedMetrics`: per-instance, per-container and per-accelerator series besides the per-variant ones. @default false */
  readonly enhanced?: boolean;
  /**
   * The endpoint streams its responses (InvokeEndpointWithResponseStream): it also publishes FirstChunkLatency,
   * FirstChunkModelLatency, FirstChunkOverheadLatency and MidStreamErrors. Real-time endpoints without enhanced
   * metrics only. @default false
   */
  readonly streaming?: boolean;
  /**
   * Availability zones the variants' instances are spread over (instance i in zone i mod zones): beside the
   * per-variant set, CloudWatch then publishes invocations, errors and latencies per zone, by EndpointName,
   * VariantName, Region, AvailabilityZone, InstanceType, and their sums over the zones equal the per-variant values.
   * Real-time endpoints without enhanced metrics only. @default none (per-variant set only)
   */
  readonly zones?: readonly string[];
  /** Tags of the endpoint (GetResources). @default none */
  readonly tags?: Readonly<Record<string, string>>;
  /** Tags of its inference components, by component name. @default none */
  readonly componentTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export type EndpointShape = 'realtime' | 'async' | 'serverless' | 'multi-model' | 'inference-components';

export interface FleetOptions {
  readonly endpoints: readonly FleetEndpoint[];
  /** Inf1 hosts publishing through neuron-monitor-cloudwatch.py. */
  readonly neuronHosts: ReadonlyArray<{ instanceId: string; instanceName: string; cores: number }>;
  readonly neuronNamespace: string;
  /**
   * Per-core metrics the hosts also publish that the catalog does not list (users rename and add metrics in
   * neuron-monitor-cloudwatch.py), as percentages by InstanceId and NeuronCore. @default none
   */
  readonly unlistedNeuronMetrics?: readonly string[];
  /**
   * Real-time latencies are drawn per period counted from this moment (epoch seconds), so a test that runs at any
   * time of day, its periods aligned alike, measures the same values. @default 0
   */
  readonly latencySeedEpoch?: number;
  /** Reshapes the fleet's metrics after they are built: the demo's day of traffic and its incident (scenario.ts). @default none */
  readonly scenario?: (metrics: MetricDef[]) => MetricDef[];
}

export interface DefaultFleetOptions {
  /**
   * Adds one endpoint of every inference shape (asynchronous, serverless, multi-model, inference components, and a
   * real-time endpoint with enhanced metrics) after the others; off, the fleet and its query counts stay as before.
   * @default false
   */
  readonly shapes?: boolean;
}

/** The endpoints `defaultFleet(..., { shapes: true })` adds, one per inference shape. */
export const SHAPE_ENDPOINTS: readonly FleetEndpoint[] = [
  { name: 'orders-async', shape: 'async', variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.xlarge', instances: 2, weight: 1 }] },
  // Serverless variants have no instances: SageMaker describes a ServerlessConfig instead.
  { name: 'faq-serverless', shape: 'serverless', variants: [{ name: 'AllTraffic', instanceType: '', instances: 0, weight: 1 }] },
  { name: 'tenant-models', shape: 'multi-model', variants: [{ name: 'AllTraffic', instanceType: 'ml.c5.xlarge', instances: 2, weight: 1 }] },
  {
    name: 'llm-hub',
    shape: 'inference-components',
    components: ['llm-chat', 'llm-embed'],
    enhanced: true,
    variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.12xlarge', instances: 2, weight: 1 }],
  },
  { name: 'ranker', enhanced: true, variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.2xlarge', instances: 2, weight: 1 }] },
];

/** The instance ids SageMaker reports with enhanced metrics, for instance `index` of an endpoint. */
export function instanceIdOf(endpoint: string, index: number): string {
  return `i-${(hash(endpoint) + index).toString(16).padStart(17, '0')}`;
}

export interface MetricDef {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** Value of a statistic of the datapoint CloudWatch stores at `periodStart` (epoch seconds); undefined = none. */
  readonly value: (stat: string, periodStart: number) => number | undefined;
  /** For timings: the raw values of the period (ascending) every statistic above is computed from. */
  readonly raw?: (periodStart: number) => Float64Array;
  /** Seconds between stored datapoints: 60, or 1, 5, 10, 30 for a high-resolution metric. @default 60 */
  readonly resolution?: number;
}

/** CloudWatch keeps datapoints of periods under a minute this long (MetricStat Period, GetMetricData). */
export const HIGH_RESOLUTION_RETENTION_S = 3 * 3600;

/** A statistic the stand-in cannot compute over a longer period from what it stores: an error, never a made-up value. */
export class UnaggregatableStatisticError extends Error {}

/** Statistics that add over periods: counts and sums, and a trimmed count with absolute bounds (a percentage bound moves with the values). */
export function isAdditive(stat: string): boolean {
  return stat === 'Sum' || stat === 'SampleCount' || /^TC\([^%:]*:[^%)]*\)$/.test(stat);
}

/**
 * A statistic over several stored datapoints (at `times`), as CloudWatch computes it for a longer period: sums and
 * counts add, Minimum and Maximum are the extremes, Average is weighted by each datapoint's SampleCount (a level
 * published without one counts one sample a datapoint), and percentile-type statistics come from the merged raw
 * values. Undefined when no datapoint is stored in the span.
 */
export function aggregate(stat: string, times: readonly number[], stored: (stat: string, at: number) => number | undefined, raw?: (at: number) => Float64Array, revised = false): number | undefined {
  const present = times.filter((at) => stored(stat, at) !== undefined);
  if (present.length === 0) return undefined;
  const values = present.map((at) => stored(stat, at) as number);
  if (isAdditive(stat)) return values.reduce((a, b) => a + b, 0);
  if (stat === 'Maximum') return Math.max(...values);
  if (stat === 'Minimum') return Math.min(...values);
  if (stat === 'Average') {
    const weights = present.map((at) => stored('SampleCount', at) ?? 1);
    const total = weights.reduce((a, b) => a + b, 0);
    return values.reduce((sum, v, i) => sum + v * (weights[i] as number), 0) / total;
  }
  if (!raw || revised) throw new UnaggregatableStatisticError(`stand-in: ${stat} over ${times.length} stored datapoints needs their raw values${revised ? ' (a revised datapoint has none)' : ''}`);
  const merged = Float64Array.from(present.flatMap((at) => [...raw(at)])).sort();
  return statisticOf(merged, stat);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Invocations per minute of one variant: a steady base with a wobble, always a whole number. */
export function invocationsAt(endpoint: string, variant: string, periodStart: number): number {
  return 50 + (hash(`${endpoint}/${variant}`) % 40) + ((periodStart / 60) % 7) * 3;
}

export const ODD_INSTANCE_NAME = 'gpu "pool" \\ 東京\nline2';

export function identity(namespace: string, metricName: string, dimensions: readonly Dimension[]): string {
  const dims = [...dimensions].sort((a, b) => a.Name.localeCompare(b.Name)).map((d) => `${d.Name}=${d.Value}`);
  return `${namespace}|${metricName}|${dims.join(',')}`;
}

export function defaultFleet(neuronNamespace = 'neuron_monitor', extraEndpoints = 0, options: DefaultFleetOptions = {}): FleetOptions {
  return {
    neuronNamespace,
    endpoints: [
      {
        name: 'churn-predictor',
        variants: [
          { name: 'blue', instanceType: 'ml.inf1.xlarge', instances: 2, weight: 0.9 },
          { name: 'green', instanceType: 'ml.inf1.2xlarge', instances: 1, weight: 0.1 },
        ],
      },
      { name: 'image-classifier', variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.xlarge', instances: 3, weight: 1 }] },
      ...Array.from({ length: extraEndpoints }, (_, i) => ({
        name: `fleet-${String(i).padStart(3, '0')}`,
        variants: [{ name: 'AllTraffic', instanceType: 'ml.m5.large', instances: 1, weight: 1 }],
      })),
      ...(options.shapes ? SHAPE_ENDPOINTS : []),
    ],
    neuronHosts: [{ instanceId: 'i-0823d657f57057590', instanceName: ODD_INSTANCE_NAME, cores: 4 }],
  };
}

/**
 * A fleet of `variants` endpoint variants, as the benchmark needs it: three endpoints in four have two variants, the
 * rest one (about variants / 1.75 endpoints), created a minute apart; one Neuron host (4 cores) per 10 variants.
 */
export function fleetOf(variants: number, neuronNamespace = 'neuron_monitor'): FleetOptions {
  const endpoints: FleetEndpoint[] = [];
  let left = variants;
  for (let i = 0; left > 0; i++) {
    const count = i % 4 === 3 || left === 1 ? 1 : 2;
    left -= count;
    const name = `fleet-${String(i).padStart(5, '0')}`;
    endpoints.push({
      name,
      createdAt: 1_700_000_000 + i * 60,
      variants: Array.from({ length: count }, (_, v) => ({
        name: count === 1 ? 'AllTraffic' : v === 0 ? 'blue' : 'green',
        instanceType: i % 3 === 0 ? 'ml.inf1.xlarge' : 'ml.g5.xlarge',
        instances: 1 + (i % 3),
        weight: count === 1 ? 1 : v === 0 ? 0.9 : 0.1,
      })),
    });
  }
  const neuronHosts = Array.from({ length: Math.ceil(variants / 10) }, (_, i) => ({
    instanceId: `i-${(0x0a00000000000000n + BigInt(i)).toString(16).padStart(17, '0')}`,
    instanceName: `inf1-host-${i}`,
    cores: 4,
  }));
  return { neuronNamespace, endpoints, neuronHosts };
}

const SM = 'AWS/SageMaker';
const ENDPOINTS_NS = '/aws/sagemaker/Endpoints';
const COMPONENTS_NS = '/aws/sagemaker/InferenceComponents';
const minute = (t: number) => t / 60;

/**
 * A count CloudWatch answers only to Sum (failures, invocations); `Invocations` also to SampleCount, which the
 * SageMaker page lists as its other valid statistic (one sample a request: the same number).
 */
function counterMetric(namespace: string, metricName: string, dimensions: readonly Dimension[], fn: (t: number) => number | undefined): MetricDef {
  return { namespace, metricName, dimensions, value: (stat, t) => (stat === 'Sum' || (stat === 'SampleCount' && metricName === 'Invocations') ? fn(t) : undefined) };
}

/**
 * A level SageMaker publishes every 10 s as a high-resolution metric (ConcurrentRequestsPerModel, ...PerCopy): each
 * 10 s datapoint differs, and a minute of them aggregates to what `levelMetric` gives for that minute (its first
 * datapoint holds the minute's Maximum and Minimum; Average is the minute's throughout).
 */
function highResolutionLevel(namespace: string, metricName: string, dimensions: readonly Dimension[], fn: (minuteStart: number) => number): MetricDef {
  const stats: Record<string, (v: number, i: number) => number> = { Average: (v) => v, Minimum: (v, i) => v * 0.5 + i * 0.25, Maximum: (v, i) => v * 1.5 - i * 0.5 };
  return { namespace, metricName, dimensions, resolution: 10, value: (stat, t) => stats[stat]?.(fn(t - (t % 60)), (t % 60) / 10) };
}

/** A sampled level (backlog, utilisation): Average, Minimum and Maximum around `fn`, nothing else. */
function levelMetric(namespace: string, metricName: string, dimensions: readonly Dimension[], fn: (t: number) => number): MetricDef {
  const stats: Record<string, (v: number) => number> = { Average: (v) => v, Minimum: (v) => v * 0.5, Maximum: (v) => v * 1.5 };
  return { namespace, metricName, dimensions, value: (stat, t) => stats[stat]?.(fn(t)) };
}

/**
 * A timing in the unit AWS publishes it, `count` raw values a period with median about `median`. `sum` and
 * `percentiles` say which statistics CloudWatch offers: ModelSetupTime has no Sum, the multi-model loading times
 * no percentiles (and so no TC or PR either).
 */
function timingMetric(
  namespace: string,
  metricName: string,
  dimensions: readonly Dimension[],
  median: number,
  count: (t: number) => number | undefined,
  offers: { readonly sum: boolean; readonly percentiles: boolean },
  profile: LatencyProfile = 'fast',
  epoch = 0,
): MetricDef {
  const seed = identity(namespace, metricName, dimensions);
  // The statistics of one period are asked one after another: the last period's values skip the cache's key.
  let lastT = NaN;
  let last: Float64Array = new Float64Array(0);
  const raw = (t: number) => {
    if (t !== lastT) {
      last = cachedRaw(`${seed}|${t}|${epoch}`, () => rawLatencies(`${seed}|${t - epoch}`, profile, count(t) ?? 0, median / PROFILE_MEDIAN[profile]));
      lastT = t;
    }
    return last;
  };
  return {
    namespace,
    metricName,
    dimensions,
    raw,
    value: (stat, t) => {
      if (stat === 'Sum' && !offers.sum) return undefined;
      if (!offers.percentiles && !['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'].includes(stat)) return undefined;
      return statisticOf(raw(t), stat);
    },
  };
}

/** The median (seconds) of each profile's first component: `timingMetric` scales it to the metric's own median. */
const PROFILE_MEDIAN: Readonly<Record<LatencyProfile, number>> = { fast: 0.015, slow: 0.12, bimodal: 0.02 };

/**
 * The latest periods' raw values: the bridge asks each statistic of a metric for every series before the next
 * statistic (one call per 500), so drawing the values again for each would cost a fleet-scale benchmark most of its
 * time. Room for a 10,000-variant fleet's two latencies over a cycle's 15 periods; the oldest go first.
 */
const RAW_CACHE = new Map<string, Float64Array>();
let RAW_CACHE_SIZE = 400_000;

/**
 * Room for `entries` periods' raw values (one per timing metric and period, under 1 KiB each): a catch-up reads up to
 * an hour and a quarter of a fleet's periods in one cycle, and a cache smaller than that draws every value again for
 * each statistic, so the stand-in, not the bridge, becomes the slow part (the fleet bench sets it per fleet).
 */
export function setRawCacheSize(entries: number): void {
  RAW_CACHE_SIZE = Math.max(1, Math.floor(entries));
  while (RAW_CACHE.size > RAW_CACHE_SIZE) RAW_CACHE.delete(RAW_CACHE.keys().next().value as string);
}

let rawCacheBypassed = false;

/**
 * Runs `body` with periods' raw values drawn without the cache: a coarse read over hours of a fleet asks each period
 * once (all its statistics together), and caching millions of them only churns the bench's heap.
 */
export function withoutRawCache<T>(body: () => T): T {
  rawCacheBypassed = true;
  try {
    return body();
  } finally {
    rawCacheBypassed = false;
  }
}

function cachedRaw(key: string, draw: () => Float64Array): Float64Array {
  let values = RAW_CACHE.get(key);
  if (!values && rawCacheBypassed) return draw();
  if (!values) {
    if (RAW_CACHE.size >= RAW_CACHE_SIZE) RAW_CACHE.delete(RAW_CACHE.keys().next().value as string);
    values = draw();
    RAW_CACHE.set(key, values);
  }
  return values;
}

/** The latency profile of a variant: its own, else one of the three by a hash of its name. */
export function latencyProfileOf(endpoint: string, variant: { name: string; latencyProfile?: LatencyProfile }): LatencyProfile {
  return variant.latencyProfile ?? (LATENCY_PROFILES[hash(`${endpoint}/${variant.name}`) % LATENCY_PROFILES.length] as LatencyProfile);
}

/**
 * The metrics of a non-real-time shape or of enhanced metrics, with the names, units and dimension sets of the
 * "SageMaker AI metrics in Amazon CloudWatch" page and its asynchronous, serverless, multi-model, inference component
 * and enhanced-metrics pages.
 */
function shapeMetrics(endpoint: FleetEndpoint): MetricDef[] {
  const out: MetricDef[] = [];
  const epDims = [{ Name: 'EndpointName', Value: endpoint.name }];
  for (const variant of endpoint.variants) {
    const dims = [...epDims, { Name: 'VariantName', Value: variant.name }];
    const n = (t: number) => invocationsAt(endpoint.name, variant.name, t);
    switch (endpoint.shape ?? 'realtime') {
      case 'async':
        // Backlog metrics are keyed by EndpointName alone; the rest by EndpointName, VariantName.
        out.push(
          levelMetric(SM, 'ApproximateBacklogSize', epDims, (t) => 10 + (minute(t) % 5) * 2),
          levelMetric(SM, 'ApproximateBacklogSizePerInstance', epDims, (t) => (10 + (minute(t) % 5) * 2) / variant.instances),
          levelMetric(SM, 'ApproximateAgeOfOldestRequest', epDims, (t) => 30 + (minute(t) % 5) * 6),
          levelMetric(SM, 'HasBacklogWithoutCapacity', epDims, (t) => (minute(t) % 6 === 0 ? 1 : 0)),
          counterMetric(SM, 'RequestDownloadFailures', dims, (t) => (minute(t) % 4 === 0 ? 1 : 0)),
          counterMetric(SM, 'ResponseUploadFailures', dims, () => 0),
          counterMetric(SM, 'NotificationFailures', dims, (t) => (minute(t) % 5 === 0 ? 2 : 0)),
          counterMetric(SM, 'ExpiredRequests', dims, (t) => (minute(t) % 7 === 0 ? 1 : undefined)),
          counterMetric(SM, 'InvocationFailures', dims, (t) => minute(t) % 3),
          // Spelled with three s's, as AWS publishes it.
          counterMetric(SM, 'InvocationsProcesssed', dims, n),
          timingMetric(SM, 'TimeInBacklog', dims, 4_000_000, n, { sum: true, percentiles: true }),
          timingMetric(SM, 'RequestDownloadLatency', dims, 150_000, n, { sum: true, percentiles: true }),
          timingMetric(SM, 'ResponseUploadLatency', dims, 90_000, n, { sum: true, percentiles: true }),
          // Milliseconds, unlike every other SageMaker timing.
          timingMetric(SM, 'TotalProcessingTime', dims, 5_500, n, { sum: true, percentiles: true }),
        );
        break;
      case 'serverless': {
        const provisioned = (t: number) => Math.floor(n(t) * 0.8);
        out.push(
          counterMetric(SM, 'Invocations', dims, n),
          // Cold starts happen in one period of three; CloudWatch has no datapoint in the others.
          timingMetric(SM, 'ModelSetupTime', dims, 2_500_000, (t) => (minute(t) % 3 === 0 ? 2 : undefined), { sum: false, percentiles: true }),
          levelMetric(SM, 'ServerlessConcurrentExecutionsUtilization', dims, (t) => 0.3 + (minute(t) % 4) * 0.1),
          levelMetric(SM, 'ServerlessProvisionedConcurrencyExecutions', dims, () => 2),
          levelMetric(SM, 'ServerlessProvisionedConcurrencyUtilization', dims, () => 0.5),
          counterMetric(SM, 'ServerlessProvisionedConcurrencyInvocations', dims, provisioned),
          counterMetric(SM, 'ServerlessProvisionedConcurrencySpilloverInvocations', dims, (t) => n(t) - provisioned(t)),
        );
        break;
      }
      case 'multi-model': {
        const loads = (t: number) => 1 + (minute(t) % 3);
        out.push(
          counterMetric(SM, 'Invocations', dims, n),
          timingMetric(SM, 'ModelLoadingWaitTime', dims, 800_000, loads, { sum: true, percentiles: false }),
          timingMetric(SM, 'ModelUnloadingTime', dims, 120_000, loads, { sum: true, percentiles: false }),
          timingMetric(SM, 'ModelDownloadingTime', dims, 2_000_000, loads, { sum: true, percentiles: false }),
          timingMetric(SM, 'ModelLoadingTime', dims, 600_000, loads, { sum: true, percentiles: false }),
          {
            // 1 per request whose model was loaded, 0 otherwise: the Average is the hit ratio.
            namespace: SM,
            metricName: 'ModelCacheHit',
            dimensions: dims,
            value: (stat, t) => ({ Sum: n(t) - loads(t), SampleCount: n(t), Average: (n(t) - loads(t)) / n(t) })[stat],
          },
          levelMetric(ENDPOINTS_NS, 'LoadedModelCount', dims, (t) => 10 + (minute(t) % 3)),
        );
        break;
      }
      case 'inference-components':
        out.push(
          levelMetric(ENDPOINTS_NS, 'CPUReservation', dims, () => 50),
          levelMetric(ENDPOINTS_NS, 'GPUReservation', dims, () => 75),
          levelMetric(ENDPOINTS_NS, 'MemoryReservation', dims, () => 37.5),
          levelMetric(ENDPOINTS_NS, 'CPUUtilizationNormalized', dims, (t) => 30 + (minute(t) % 4)),
          levelMetric(ENDPOINTS_NS, 'GPUUtilizationNormalized', dims, (t) => 60 + (minute(t) % 4)),
          levelMetric(ENDPOINTS_NS, 'GPUMemoryUtilizationNormalized', dims, () => 70),
        );
        for (const component of endpoint.components ?? []) {
          // Component metrics sit on InferenceComponentName alone, not on EndpointName, VariantName.
          const ic = [{ Name: 'InferenceComponentName', Value: component }];
          const calls = (t: number) => invocationsAt(component, variant.name, t);
          const copies = 2;
          out.push(
            counterMetric(SM, 'Invocations', ic, calls),
            counterMetric(SM, 'InvocationsPerCopy', ic, (t) => calls(t) / copies),
            timingMetric(SM, 'ModelLatency', ic, 90_000, calls, { sum: true, percentiles: true }),
            highResolutionLevel(SM, 'ConcurrentRequestsPerCopy', ic, (t) => 2 + (minute(t) % 3)),
            levelMetric(COMPONENTS_NS, 'CPUUtilizationNormalized', ic, () => 40),
            levelMetric(COMPONENTS_NS, 'GPUUtilizationNormalized', ic, (t) => 65 + (minute(t) % 2)),
            levelMetric(COMPONENTS_NS, 'GPUMemoryUtilizationNormalized', ic, () => 80),
            levelMetric(COMPONENTS_NS, 'MemoryUtilizationNormalized', ic, () => 30),
          );
          if (endpoint.enhanced) {
            for (let i = 0; i < variant.instances; i++) {
              out.push(
                levelMetric(COMPONENTS_NS, 'GPUUtilizationNormalized', [...ic, { Name: 'InstanceId', Value: instanceIdOf(endpoint.name, i) }, { Name: 'ContainerId', Value: `${component}-c${i}` }, { Name: 'AcceleratorId', Value: '0' }], () => 60 + i * 10),
              );
            }
          }
        }
        break;
      case 'realtime':
        out.push(
          counterMetric(SM, 'Invocations', dims, n),
          counterMetric(SM, 'InvocationsPerInstance', dims, (t) => n(t) / variant.instances),
          highResolutionLevel(SM, 'ConcurrentRequestsPerModel', dims, (t) => 3 + (minute(t) % 4)),
          levelMetric(ENDPOINTS_NS, 'CPUUtilization', dims, () => 120),
        );
        break;
    }
    if (endpoint.enhanced) {
      // Enhanced metrics add per-instance (and per-GPU) series; the per-variant ones above stay.
      for (let i = 0; i < variant.instances; i++) {
        const instance = [...dims, { Name: 'InstanceId', Value: instanceIdOf(endpoint.name, i) }];
        // On a component endpoint the invocations sit on InferenceComponentName, never on EndpointName, VariantName.
        if ((endpoint.shape ?? 'realtime') === 'realtime') {
          out.push(counterMetric(SM, 'Invocations', instance, (t) => Math.floor(n(t) / variant.instances) + (i === 0 ? n(t) % variant.instances : 0)));
        }
        out.push(
          levelMetric(ENDPOINTS_NS, 'CPUUtilization', instance, () => 100 + i * 40),
          levelMetric(ENDPOINTS_NS, 'GPUUtilization', [...instance, { Name: 'AcceleratorId', Value: '0' }], () => 50 + i * 20),
        );
      }
    }
  }
  return out;
}

/** The region the stand-ins answer for (aws-stand-in.ts sets AWS_REGION to it): the value of the Region dimension. */
export const FLEET_REGION = 'us-east-2';

/**
 * What a streaming endpoint adds, with the names and dimension set of the "Bidirectional streaming metrics mapping"
 * (monitoring-detailed-observability-metric-mapping), in microseconds like ModelLatency. Every request streams: the
 * time to the first chunk is the model's share plus SageMaker's, request by request (two ascending arrays added
 * element-wise stay ascending).
 */
function streamingMetrics(dims: readonly Dimension[], requests: (t: number) => number, epoch: number): MetricDef[] {
  const offers = { sum: true, percentiles: true };
  const model = timingMetric(SM, 'FirstChunkModelLatency', dims, 250_000, requests, offers, 'slow', epoch);
  const overhead = timingMetric(SM, 'FirstChunkOverheadLatency', dims, 4_000, requests, offers, 'fast', epoch);
  const seed = identity(SM, 'FirstChunkLatency', dims);
  const raw = (t: number) =>
    cachedRaw(`${seed}|${t}|${epoch}`, () => {
      const a = model.raw?.(t) ?? new Float64Array();
      const b = overhead.raw?.(t) ?? new Float64Array();
      return a.map((v, i) => v + (b[i] ?? 0));
    });
  return [
    model,
    overhead,
    { namespace: SM, metricName: 'FirstChunkLatency', dimensions: dims, raw, value: (stat, t) => statisticOf(raw(t), stat) },
    counterMetric(SM, 'MidStreamErrors', dims, (t) => (minute(t) % 5 === 2 ? 2 : 0)),
  ];
}

/** The metrics the mapping page lists with a per-zone set (EndpointName, VariantName, Region, AvailabilityZone, InstanceType). */
const ZONAL_METRICS = new Set([
  'Invocations',
  'InvocationsPerInstance',
  'Invocation4XXErrors',
  'Invocation5XXErrors',
  'InvocationModelErrors',
  'ModelLatency',
  'OverheadLatency',
  'FirstChunkLatency',
  'FirstChunkModelLatency',
  'FirstChunkOverheadLatency',
]);

/** Request `i` of a period runs on instance `i mod instances`, which sits in zone `instance mod zones`. */
function zoneOfRequest(i: number, instances: number, zones: number): number {
  return (i % instances) % zones;
}

/** How many of `total` requests fall in zone `z`: the per-zone counts add up to `total` exactly. */
export function zoneShare(total: number, instances: number, zones: number, z: number): number {
  let n = 0;
  for (let instance = z; instance < instances; instance += zones) n += Math.floor(total / instances) + (instance < total % instances ? 1 : 0);
  return n;
}

/**
 * The per-zone set of a variant's metrics: counts split by `zoneShare`, timings by the same rule over their
 * ascending raw values, so every statistic that adds (Sum, SampleCount, TC) sums over the zones to the per-variant
 * value. InvocationsPerInstance is normalised by the zone's own instances. Zones without instances publish nothing.
 */
function zonalMetrics(perVariant: readonly MetricDef[], variant: FleetEndpoint['variants'][number], zones: readonly string[]): MetricDef[] {
  const out: MetricDef[] = [];
  const k = zones.length;
  for (const [z, zone] of zones.entries()) {
    const instancesInZone = zoneShare(variant.instances, variant.instances, k, z);
    if (instancesInZone === 0) continue;
    for (const def of perVariant) {
      if (!ZONAL_METRICS.has(def.metricName)) continue;
      const dimensions = [...def.dimensions, { Name: 'Region', Value: FLEET_REGION }, { Name: 'AvailabilityZone', Value: zone }, { Name: 'InstanceType', Value: variant.instanceType }];
      const parentRaw = def.raw;
      if (parentRaw) {
        const seed = identity(def.namespace, def.metricName, dimensions);
        const raw = (t: number) => cachedRaw(`${seed}|${t}`, () => parentRaw(t).filter((_, i) => zoneOfRequest(i, variant.instances, k) === z));
        out.push({ namespace: def.namespace, metricName: def.metricName, dimensions, raw, value: (stat, t) => statisticOf(raw(t), stat) });
      } else if (def.metricName === 'InvocationsPerInstance') {
        const requests = perVariant.find((m) => m.metricName === 'Invocations');
        out.push(counterMetric(def.namespace, def.metricName, dimensions, (t) => {
          const n = requests?.value('Sum', t);
          return n === undefined ? undefined : zoneShare(n, variant.instances, k, z) / instancesInZone;
        }));
      } else {
        out.push(counterMetric(def.namespace, def.metricName, dimensions, (t) => {
          const n = def.value('Sum', t);
          return n === undefined ? undefined : zoneShare(n, variant.instances, k, z);
        }));
      }
    }
  }
  return out;
}

export function buildMetrics(fleet: FleetOptions): MetricDef[] {
  const metrics: MetricDef[] = [];
  for (const endpoint of fleet.endpoints) {
    if ((endpoint.shape ?? 'realtime') !== 'realtime' || endpoint.enhanced) {
      metrics.push(...shapeMetrics(endpoint));
      continue;
    }
    for (const variant of endpoint.variants) {
      const dims = [
        { Name: 'EndpointName', Value: endpoint.name },
        { Name: 'VariantName', Value: variant.name },
      ];
      const invocations = (t: number) => invocationsAt(endpoint.name, variant.name, t);
      const counter = (metricName: string, fn: (t: number) => number | undefined) => metrics.push(counterMetric(SM, metricName, dims, fn));
      counter('Invocations', invocations);
      counter('Invocation4XXErrors', (t) => (t / 60) % 3);
      // 5XX errors are rare: CloudWatch has no datapoint at all in most periods.
      counter('Invocation5XXErrors', (t) => ((t / 60) % 5 === 0 ? 1 : undefined));
      counter('InvocationModelErrors', () => 0);
      counter('InvocationsPerInstance', (t) => invocations(t) / variant.instances);
      const profile = latencyProfileOf(endpoint.name, variant);
      // OverheadLatency: SageMaker's own share, well under a millisecond whatever the model.
      const epoch = fleet.latencySeedEpoch ?? 0;
      metrics.push(timingMetric(SM, 'ModelLatency', dims, PROFILE_MEDIAN[profile] * 1e6, invocations, { sum: true, percentiles: true }, profile, epoch));
      metrics.push(timingMetric(SM, 'OverheadLatency', dims, 800, invocations, { sum: true, percentiles: true }, 'fast', epoch));
      if (endpoint.streaming) metrics.push(...streamingMetrics(dims, invocations, epoch));
      if (endpoint.zones) metrics.push(...zonalMetrics(metrics.filter((m) => m.dimensions === dims), variant, endpoint.zones));
      for (const [metricName, base] of [
        ['CPUUtilization', 180],
        ['MemoryUtilization', 42],
        ['DiskUtilization', 12],
      ] as const) {
        metrics.push({
          namespace: '/aws/sagemaker/Endpoints',
          metricName,
          dimensions: dims,
          value: (stat, t) => (stat === 'Average' ? base + ((t / 60) % 4) : undefined),
        });
      }
      metrics.push({ namespace: '/aws/sagemaker/Endpoints', metricName: 'LoadedModelCount', dimensions: dims, value: (stat) => (stat === 'Maximum' ? 1 : undefined) });
    }
  }
  // A metric the catalog does not know: it gets the generic aws_<namespace>_<metric>_<stat> name.
  const first = fleet.endpoints[0];
  if (first) {
    metrics.push({
      namespace: 'AWS/SageMaker',
      metricName: 'ModelSetupTime',
      dimensions: [
        { Name: 'EndpointName', Value: first.name },
        { Name: 'VariantName', Value: first.variants[0]?.name ?? 'AllTraffic' },
      ],
      value: (stat) => (stat === 'Average' ? 1500 : undefined),
    });
  }
  for (const host of fleet.neuronHosts) {
    const hostDims = [
      { Name: 'InstanceId', Value: host.instanceId },
      { Name: 'InstanceName', Value: host.instanceName },
    ];
    for (let core = 0; core < host.cores; core++) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'NeuronCoreUtilization',
        dimensions: [...hostDims, { Name: 'NeuronCore', Value: String(core) }],
        value: (stat, t) => (stat === 'Average' ? (core === 0 ? 86 + ((t / 60) % 5) : 0) : undefined),
      });
    }
    for (const errorType of ['generic', 'numerical', 'transient', 'model', 'runtime', 'hardware']) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'ExecutionErrors',
        dimensions: [...hostDims, { Name: 'ErrorType', Value: errorType }],
        value: (stat, t) => (stat === 'Sum' ? (errorType === 'transient' && (t / 60) % 4 === 0 ? 2 : 0) : undefined),
      });
    }
    for (const statusType of ['completed', 'completed_with_err', 'timed_out']) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'ExecutionStatus',
        dimensions: [...hostDims, { Name: 'StatusType', Value: statusType }],
        value: (stat, t) => (stat === 'Sum' ? (statusType === 'completed' ? 2900 + ((t / 60) % 9) * 10 : 0) : undefined),
      });
    }
    for (const [location, bytes] of [
      ['host', 1127288832],
      ['neuron_device', 63118912],
    ] as const) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'NeuronRuntimeMemoryUsed',
        dimensions: [...hostDims, { Name: 'MemoryLocation', Value: location }],
        value: (stat) => (stat === 'Average' ? bytes : undefined),
      });
    }
    for (const [usageType, percent] of [
      ['user', 27.98],
      ['system', 2.93],
    ] as const) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'SystemVcpuUsage',
        dimensions: [{ Name: 'InstanceId', Value: host.instanceId }, { Name: 'UsageType', Value: usageType }],
        value: (stat) => (stat === 'Average' ? percent : undefined),
      });
    }
    metrics.push({
      namespace: fleet.neuronNamespace,
      metricName: 'ExecutionLatency',
      dimensions: [...hostDims, { Name: 'Percentile', Value: 'p50' }],
      // One period CloudWatch reports as NaN: the bridge must drop it, not write it.
      value: (stat, t) => (stat === 'Average' ? ((t / 60) % 11 === 0 ? NaN : 0.0033) : undefined),
    });
    metrics.push(...unlistedNeuronMetrics(fleet, host));
    // Over-long dimension value: the label is cut, with a hash to keep it distinct.
    metrics.push({
      namespace: fleet.neuronNamespace,
      metricName: 'SystemMemoryUsed',
      dimensions: [{ Name: 'InstanceId', Value: host.instanceId }, { Name: 'ModelPath', Value: `/opt/models/${'x'.repeat(1500)}` }],
      value: (stat) => (stat === 'Average' ? 7090806784 : undefined),
    });
  }
  return fleet.scenario ? fleet.scenario(metrics) : metrics;
}

/** A percentage per core for each of the fleet's `unlistedNeuronMetrics`: a different level per metric and core. */
function unlistedNeuronMetrics(fleet: FleetOptions, host: FleetOptions['neuronHosts'][number]): MetricDef[] {
  return (fleet.unlistedNeuronMetrics ?? []).flatMap((metricName, m) =>
    Array.from({ length: host.cores }, (_, core) => ({
      namespace: fleet.neuronNamespace,
      metricName,
      dimensions: [
        { Name: 'InstanceId', Value: host.instanceId },
        { Name: 'NeuronCore', Value: String(core) },
      ],
      value: (stat: string, t: number) => (stat === 'Average' ? 10 * (m + 1) + core + ((t / 60) % 3) : undefined),
    })),
  );
}
