import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ComponentsAndTags, TAGGING_TARGET_PREFIX } from './components-tags-stand-in';
import { isStatistic, LATENCY_PROFILES, rawLatencies, statisticOf, type LatencyProfile } from './latency-distribution';

/**
 * A local stand-in for CloudWatch (AWS JSON 1.0, `GraniteServiceVersion20100801.`) and SageMaker
 * (AWS JSON 1.1, `SageMaker.`), serving deterministic synthetic inference traffic, with inference components and
 * the tagging API's GetResources from components-tags-stand-in.ts. The SDK reaches it through the standard
 * AWS_ENDPOINT_URL_CLOUDWATCH / AWS_ENDPOINT_URL_SAGEMAKER / AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API variables.
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
  /** Tags of the endpoint (GetResources). @default none */
  readonly tags?: Readonly<Record<string, string>>;
  /** Tags of its inference components, by component name. @default none */
  readonly componentTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export type EndpointShape = 'realtime' | 'async' | 'serverless' | 'multi-model' | 'inference-components';

export interface StandInOptions {
  /** Delay before every CloudWatch and SageMaker answer, throttling errors included. Requests are served concurrently. @default 0 */
  readonly latencyMs?: number;
  /**
   * Requests per second per action before CloudWatch answers `Throttling` (sliding one-second window, accepted calls only).
   * AWS's default quota for GetMetricData is 50 TPS per Region (CloudWatch service quotas,
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html).
   * @default { GetMetricData: 50 }
   */
  readonly tpsLimits?: Readonly<Record<string, number>>;
  /** Keep every request body in `calls` (tests inspect them); a fleet-scale benchmark turns this off and reads `counts`. @default true */
  readonly recordBodies?: boolean;
  /** CloudWatch's clock, epoch ms: high-resolution datapoints are kept 3 hours before it. @default Date.now */
  readonly now?: () => number;
}

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

interface MetricDef {
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
const HIGH_RESOLUTION_RETENTION_S = 3 * 3600;

/** A statistic over several stored datapoints, as CloudWatch computes it for a longer period (equal sample counts). */
function aggregate(stat: string, parts: readonly number[]): number | undefined {
  if (stat === 'Sum' || stat === 'SampleCount') return parts.reduce((a, b) => a + b, 0);
  if (stat === 'Maximum') return Math.max(...parts);
  if (stat === 'Minimum') return Math.min(...parts);
  if (stat === 'Average') return parts.reduce((a, b) => a + b, 0) / parts.length;
  // Percentiles need the raw values, which a statistic per datapoint does not keep.
  return undefined;
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

/** A count CloudWatch answers only to Sum (failures, invocations). */
function counterMetric(namespace: string, metricName: string, dimensions: readonly Dimension[], fn: (t: number) => number | undefined): MetricDef {
  return { namespace, metricName, dimensions, value: (stat, t) => (stat === 'Sum' ? fn(t) : undefined) };
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
  const raw = (t: number) => cachedRaw(`${seed}|${t}|${epoch}`, () => rawLatencies(`${seed}|${t - epoch}`, profile, count(t) ?? 0, median / PROFILE_MEDIAN[profile]));
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
const RAW_CACHE_SIZE = 400_000;

function cachedRaw(key: string, draw: () => Float64Array): Float64Array {
  let values = RAW_CACHE.get(key);
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

function buildMetrics(fleet: FleetOptions): MetricDef[] {
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
      const counter = (metricName: string, fn: (t: number) => number | undefined) =>
        metrics.push({ namespace: 'AWS/SageMaker', metricName, dimensions: dims, value: (stat, t) => (stat === 'Sum' ? fn(t) : undefined) });
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
  return metrics;
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

export interface RecordedCall {
  readonly target: string;
  readonly body: Record<string, unknown>;
}

interface EndpointRecord {
  endpoint: FleetEndpoint;
  createdAt: number;
  modifiedAt: number;
}

const DEFAULT_TIME = 1_700_000_000;
const SERVERLESS_CONFIG = { MemorySizeInMB: 2048, MaxConcurrency: 20, ProvisionedConcurrency: 2 };
const SORT_KEYS = ['Name', 'CreationTime', 'Status'];
const SORT_ORDERS = ['Ascending', 'Descending'];

function validation(message: string, code = 'ValidationError'): Error {
  return Object.assign(new Error(message), { code });
}

export class AwsStandIn {
  readonly calls: RecordedCall[] = [];
  /** Requests per target action (e.g. `GetMetricData`, `ListEndpoints`), throttled ones included. */
  readonly counts = new Map<string, number>();
  /** Requests refused with `Throttling`, per action. */
  readonly throttled = new Map<string, number>();
  /** What CloudWatch bills GetMetricData for: the queries of every accepted first page (no NextToken). */
  metricsRequested = 0;
  /** Accepted GetMetricData first pages: the minimum number of calls is ceil(queries / 500) per window read. */
  getMetricDataFirstPages = 0;
  /** Datapoints answered by GetMetricData, over every page. */
  datapointsServed = 0;
  /** Percentile and trimmed-count (TC) statistics asked per metric: a metric stream sends them as extra updates. */
  readonly extraStatistics = new Map<string, Set<string>>();

  /** Metric Streams' extra updates a minute for the statistics asked: one for every 5 extra statistics of a metric. */
  streamExtraUpdates(): number {
    return [...this.extraStatistics.values()].reduce((n, stats) => n + Math.ceil(stats.size / 5), 0);
  }
  /** Distinct (metric, statistic, period) queries on first pages: what a scraper asks for each scrape. */
  readonly distinctQueries = new Set<string>();
  /** The latest GetMetricData EndTime seen (epoch ms): how far the bridge has read. */
  latestEndTime = 0;
  /** The most requests in flight at once (received, not yet answered): the concurrency the client used. */
  peakInFlight = 0;
  private inFlight = 0;
  private readonly metrics: MetricDef[];
  private readonly byIdentity: Map<string, MetricDef>;
  private readonly byNamespace = new Map<string, MetricDef[]>();
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly byConfigName = new Map<string, EndpointRecord>();
  private readonly overrides = new Map<string, Map<number, number | undefined>>();
  private readonly recent = new Map<string, number[]>();
  private readonly latencyMs: number;
  private readonly tpsLimits: Readonly<Record<string, number>>;
  private readonly recordBodies: boolean;
  private readonly now: () => number;
  private server: Server | undefined;
  private throttleRemaining = 0;
  private failRemaining = 0;
  private readonly unlisted = new Set<string>();
  private requests = 0;
  /** Inference components (copy counts) and resource tags. */
  readonly componentsAndTags: ComponentsAndTags;
  /** Small pages force NextToken, as CloudWatch does past 100,800 datapoints. */
  datapointsPerPage = 100_800;
  listMetricsPageSize = 500;

  constructor(
    readonly fleet: FleetOptions,
    options: StandInOptions = {},
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.tpsLimits = options.tpsLimits ?? { GetMetricData: 50 };
    this.recordBodies = options.recordBodies ?? true;
    this.now = options.now ?? Date.now;
    this.metrics = buildMetrics(fleet);
    this.byIdentity = new Map(this.metrics.map((m) => [identity(m.namespace, m.metricName, m.dimensions), m]));
    for (const m of this.metrics) {
      const list = this.byNamespace.get(m.namespace) ?? [];
      list.push(m);
      this.byNamespace.set(m.namespace, list);
    }
    this.componentsAndTags = new ComponentsAndTags(fleet.endpoints, DEFAULT_TIME);
    for (const endpoint of fleet.endpoints) {
      const createdAt = endpoint.createdAt ?? DEFAULT_TIME;
      const record = { endpoint, createdAt, modifiedAt: endpoint.modifiedAt ?? createdAt };
      this.endpoints.set(endpoint.name, record);
      this.byConfigName.set(`${endpoint.name}-config`, record);
    }
  }

  /** The number of CloudWatch metrics served (ListMetrics entries over every namespace). */
  get metricCount(): number {
    return this.metrics.length;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // The SDK opens up to 50 sockets per client; a fleet-scale run may hold many of them at once.
    this.server.maxConnections = 10_000;
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', 1024, resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Zeroes `counts`, `throttled`, `metricsRequested`, `getMetricDataFirstPages`, `latestEndTime`, `peakInFlight`, `datapointsServed`, `extraStatistics` and `distinctQueries` (one benchmark cycle each). */
  resetCounts(): void {
    this.counts.clear();
    this.throttled.clear();
    this.metricsRequested = 0;
    this.getMetricDataFirstPages = 0;
    this.latestEndTime = 0;
    this.peakInFlight = 0;
    this.datapointsServed = 0;
    this.extraStatistics.clear();
    this.distinctQueries.clear();
  }

  private readonly deletedEndpoints = new Map<string, number>();
  private readonly deletedComponents = new Map<string, number>();

  /** An endpoint update (e.g. a new instance count): SageMaker moves its LastModifiedTime. */
  updateEndpoint(name: string, variants: FleetEndpoint['variants'], modifiedAt: number): void {
    const record = this.endpoints.get(name);
    if (!record) throw new Error(`no endpoint ${name} in the fleet`);
    record.endpoint = { ...record.endpoint, variants };
    record.modifiedAt = modifiedAt;
  }

  /**
   * An endpoint deleted at `deletedAtMs`: SageMaker no longer lists or describes it, and CloudWatch has no datapoint
   * for it from then on (its metrics stay listed, as ListMetrics keeps recently active ones).
   */
  deleteEndpoint(name: string, deletedAtMs: number): void {
    if (!this.endpoints.delete(name)) throw new Error(`no endpoint ${name} in the fleet`);
    this.deletedEndpoints.set(name, deletedAtMs / 1000);
    this.componentsAndTags.endpointDeleted(name);
  }

  /** An inference component deleted at `deletedAtMs`: no longer listed, and no CloudWatch datapoint from then on. */
  deleteInferenceComponent(name: string, deletedAtMs: number): void {
    this.componentsAndTags.deleteComponent(name);
    this.deletedComponents.set(name, deletedAtMs / 1000);
  }

  /** Epoch seconds from which a metric with these dimensions has no data (its endpoint or component deleted), else Infinity. */
  private dataEndsAt(dimensions: readonly Dimension[] | undefined): number {
    const endpoint = dimensions?.find((d) => d.Name === 'EndpointName')?.Value;
    const component = dimensions?.find((d) => d.Name === 'InferenceComponentName')?.Value;
    return Math.min(
      endpoint === undefined ? Infinity : (this.deletedEndpoints.get(endpoint) ?? Infinity),
      component === undefined ? Infinity : (this.deletedComponents.get(component) ?? Infinity),
    );
  }

  /** The SDK environment that points CloudWatch and SageMaker clients here. */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_CLOUDWATCH: this.url,
      AWS_ENDPOINT_URL_SAGEMAKER: this.url,
      AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: this.url,
      AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
      AWS_SECRET_ACCESS_KEY: 'stand-in-secret',
      AWS_REGION: 'us-east-2',
    };
  }

  /** CloudWatch revises (or, with undefined, withholds) one statistic of one period. */
  setValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number, value: number | undefined): void {
    const key = `${identity(namespace, metricName, dimensions)}|${stat}`;
    const map = this.overrides.get(key) ?? new Map<number, number | undefined>();
    map.set(periodStartMs / 1000, value);
    this.overrides.set(key, map);
  }

  /** True when `setValue` revised (or withheld) this statistic of this period. */
  isOverridden(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): boolean {
    return this.overrides.get(`${identity(namespace, metricName, dimensions)}|${stat}`)?.has(periodStartMs / 1000) ?? false;
  }

  clearValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): void {
    this.overrides.get(`${identity(namespace, metricName, dimensions)}|${stat}`)?.delete(periodStartMs / 1000);
  }

  /** The value CloudWatch currently holds for a period (what the bridge should end up with), 60 s unless said. */
  valueAt(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number, periodSeconds = 60): number | undefined {
    const id = identity(namespace, metricName, dimensions);
    const metric = this.byIdentity.get(id);
    if (!metric) return undefined;
    const t = periodStartMs / 1000;
    if (t >= this.dataEndsAt(dimensions)) return undefined;
    return this.pointAt(id, metric, stat, t, periodSeconds);
  }

  /**
   * The datapoint of a `period`-second bucket starting at `t` (epoch s), from what CloudWatch stores: a period shorter
   * than the metric's resolution finds a datapoint only in the buckets where a stored one starts (a standard metric read
   * at 10 s answers once a minute); a longer one aggregates the stored datapoints of a high-resolution metric.
   */
  private pointAt(id: string, metric: MetricDef, stat: string, t: number, period: number): number | undefined {
    const override = this.overrides.get(`${id}|${stat}`);
    const stored = (at: number) => (override?.has(at) ? override.get(at) : metric.value(stat, at));
    const resolution = metric.resolution ?? 60;
    if (period < resolution) return t % resolution === 0 ? stored(t) : undefined;
    if (resolution >= 60 || period === resolution) return stored(t);
    const parts: number[] = [];
    for (let at = t; at < t + period; at += resolution) {
      const v = stored(at);
      if (v !== undefined) parts.push(v);
    }
    return parts.length === 0 ? undefined : aggregate(stat, parts);
  }

  /** The raw values (ascending, CloudWatch's unit) a timing's statistics of one period are computed from; empty for other metrics. */
  rawValuesAt(namespace: string, metricName: string, dimensions: readonly Dimension[], periodStartMs: number): Float64Array {
    return this.byIdentity.get(identity(namespace, metricName, dimensions))?.raw?.(periodStartMs / 1000) ?? new Float64Array(0);
  }

  /** The next `count` GetMetricData calls are refused with CloudWatch's throttling error. */
  throttleNext(count: number): void {
    this.throttleRemaining = count;
  }

  /**
   * ListMetrics leaves this metric out (or, with `listed`, lists it again) while its datapoints go on: CloudWatch can
   * list a metric later than its first datapoints.
   */
  setListed(namespace: string, metricName: string, dimensions: readonly Dimension[], listed: boolean): void {
    const id = identity(namespace, metricName, dimensions);
    if (listed) this.unlisted.delete(id);
    else this.unlisted.add(id);
  }

  /** The next `count` GetMetricData calls fail with HTTP 500 InternalFailure, as CloudWatch does when it is broken. */
  failNext(count: number): void {
    this.failRemaining = count;
  }

  callsTo(action: string): RecordedCall[] {
    return this.calls.filter((c) => c.target.endsWith(`.${action}`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, action = ''] = target.split('.');
    this.requests += 1;
    this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
    let body: Record<string, unknown>;
    try {
      body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return this.answer(() => this.error(res, 400, 'SerializationException', 'body is not JSON', target));
    }
    if (this.recordBodies) this.calls.push({ target, body });
    if (this.overQuota(action) || (action === 'GetMetricData' && this.throttleRemaining > 0)) {
      if (action === 'GetMetricData' && this.throttleRemaining > 0) this.throttleRemaining -= 1;
      this.throttled.set(action, (this.throttled.get(action) ?? 0) + 1);
      return this.answer(() => this.error(res, 400, 'Throttling', 'Rate exceeded', target));
    }
    if (action === 'GetMetricData' && this.failRemaining > 0) {
      this.failRemaining -= 1;
      return this.answer(() => this.error(res, 500, 'InternalFailure', 'boom', target));
    }
    let send: () => void;
    try {
      send = this.dispatch(service, action, body, res, target);
    } catch (error) {
      const e = error as { code?: string; message: string };
      send = () => this.error(res, 400, e.code ?? 'ValidationError', e.message, target);
    }
    return this.answer(send);
  }

  /** The answer after the injected latency; other requests are served meanwhile. */
  private async answer(send: () => void): Promise<void> {
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    this.inFlight -= 1;
    send();
  }

  /** True when `action` already had its quota of accepted calls in the last second; otherwise counts this one. */
  private overQuota(action: string): boolean {
    const limit = this.tpsLimits[action];
    if (limit === undefined) return false;
    const now = performance.now();
    const times = this.recent.get(action) ?? [];
    while (times.length > 0 && (times[0] as number) <= now - 1000) times.shift();
    this.recent.set(action, times);
    if (times.length >= limit) return true;
    times.push(now);
    return false;
  }

  private dispatch(service: string | undefined, action: string, body: Record<string, unknown>, res: ServerResponse, target: string): () => void {
    if (service === 'GraniteServiceVersion20100801') {
      if (action === 'ListMetrics') return this.replier(res, '1.0', this.listMetrics(body));
      if (action === 'GetMetricData') return this.replier(res, '1.0', this.getMetricData(body));
    }
    if (service === 'SageMaker') {
      if (action === 'ListEndpoints') return this.replier(res, '1.1', this.listEndpoints(body));
      if (action === 'DescribeEndpoint') return this.replier(res, '1.1', this.describeEndpoint(body));
      if (action === 'DescribeEndpointConfig') return this.replier(res, '1.1', this.describeEndpointConfig(body));
    }
    const payload = this.componentsAndTags.handle(service, action, body);
    if (payload !== undefined) return this.replier(res, '1.1', payload);
    return () => this.error(res, 400, 'UnknownOperationException', `stand-in does not implement ${target}`, target);
  }

  /** Serializes now (the work is done before the latency), sends later. */
  private replier(res: ServerResponse, version: '1.0' | '1.1', payload: unknown): () => void {
    // AWS JSON carries NaN and infinities as strings.
    const text = JSON.stringify(payload, (_key, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value) ? (Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity') : value,
    );
    const requestId = `req-${this.requests}`;
    return () => {
      res.writeHead(200, { 'content-type': `application/x-amz-json-${version}`, 'x-amzn-requestid': requestId });
      res.end(text);
    };
  }

  private error(res: ServerResponse, status: number, code: string, message: string, target: string): void {
    const version = target.startsWith('SageMaker.') || target.startsWith(`${TAGGING_TARGET_PREFIX}.`) ? '1.1' : '1.0';
    res.writeHead(status, {
      'content-type': `application/x-amz-json-${version}`,
      'x-amzn-requestid': `req-${this.requests}`,
      // CloudWatch is awsQueryCompatible: the SDK takes the error code from this header.
      'x-amzn-query-error': `${code};Sender`,
    });
    res.end(JSON.stringify({ __type: code, message }));
  }

  private listMetrics(body: Record<string, unknown>): unknown {
    const all = this.byNamespace.get(String(body.Namespace)) ?? [];
    const matching = this.unlisted.size === 0 ? all : all.filter((m) => !this.unlisted.has(identity(m.namespace, m.metricName, m.dimensions)));
    const offset = body.NextToken ? Number(Buffer.from(String(body.NextToken), 'base64').toString()) : 0;
    const page = matching.slice(offset, offset + this.listMetricsPageSize);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString('base64') : undefined;
    return {
      Metrics: page.map((m) => ({ Namespace: m.namespace, MetricName: m.metricName, Dimensions: m.dimensions })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  private getMetricData(body: Record<string, unknown>): unknown {
    const queries = body.MetricDataQueries as Array<{ Id: string; MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] }; Period: number; Stat: string } }>;
    if (!Array.isArray(queries) || queries.length === 0) throw validation('MetricDataQueries is required');
    if (queries.length > 500) throw validation('The collection MetricDataQueries must not have a size greater than 500.');
    const start = Number(body.StartTime);
    const end = Number(body.EndTime);
    if (body.ScanBy !== 'TimestampAscending') throw validation('stand-in expects ScanBy TimestampAscending');
    const maxDatapoints = body.MaxDatapoints === undefined ? this.datapointsPerPage : Math.min(Number(body.MaxDatapoints), this.datapointsPerPage);
    if (!(maxDatapoints >= 1)) throw validation('MaxDatapoints must be at least 1');
    if (body.NextToken === undefined) {
      this.metricsRequested += queries.length;
      this.getMetricDataFirstPages += 1;
    }
    this.latestEndTime = Math.max(this.latestEndTime, end * 1000);
    queries.forEach((q, i) => {
      // CloudWatch refuses the whole call for a string that is no statistic (a known statistic the metric lacks only has no datapoints).
      if (!isStatistic(String(q.MetricStat?.Stat))) throw validation(`The value ${String(q.MetricStat?.Stat)} for parameter MetricDataQueries.member.${i + 1}.MetricStat.Stat is not a valid statistic.`);
    });
    const all = queries.map((q) => {
      const period = q.MetricStat.Period;
      const stat = q.MetricStat.Stat;
      const id = identity(q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, q.MetricStat.Metric.Dimensions ?? []);
      const metric = this.byIdentity.get(id);
      if (body.NextToken === undefined) {
        this.distinctQueries.add(`${id}|${stat}|${period}`);
        if (/^(p\d|TC\()/.test(stat)) this.extraStatistics.set(id, (this.extraStatistics.get(id) ?? new Set()).add(stat));
      }
      const timestamps: number[] = [];
      const values: number[] = [];
      const deletedAt = this.dataEndsAt(q.MetricStat.Metric.Dimensions);
      // A period under a minute reaching back more than 3 hours returns no datapoints (MetricStat Period).
      const expired = period < 60 && start < this.now() / 1000 - HIGH_RESOLUTION_RETENTION_S;
      if (metric && !expired) {
        for (let t = Math.ceil(start / period) * period; t < Math.min(end, deletedAt); t += period) {
          const v = this.pointAt(id, metric, stat, t, period);
          if (v !== undefined) {
            timestamps.push(t);
            values.push(v);
          }
        }
      }
      return { Id: q.Id, timestamps, values };
    });
    // Datapoints are paged across all queries in order; a query cut by a page boundary continues on the next page.
    const offset = body.NextToken ? Number(Buffer.from(String(body.NextToken), 'base64').toString()) : 0;
    let skipped = 0;
    let room = maxDatapoints;
    const results = all.map((r) => {
      const from = Math.max(0, Math.min(r.timestamps.length, offset - skipped));
      skipped += r.timestamps.length;
      const take = Math.max(0, Math.min(room, r.timestamps.length - from));
      room -= take;
      const complete = from + take === r.timestamps.length;
      return {
        Id: r.Id,
        Label: r.Id,
        Timestamps: r.timestamps.slice(from, from + take),
        Values: r.values.slice(from, from + take),
        StatusCode: complete ? 'Complete' : 'PartialData',
      };
    });
    const served = offset + (maxDatapoints - room);
    this.datapointsServed += maxDatapoints - room;
    const total = all.reduce((n, r) => n + r.timestamps.length, 0);
    return {
      MetricDataResults: results,
      Messages: [],
      ...(served < total ? { NextToken: Buffer.from(String(served)).toString('base64') } : {}),
    };
  }

  /**
   * SageMaker's documented ListEndpoints: MaxResults 1..100 (default 10), SortBy Name | CreationTime | Status
   * (default CreationTime), SortOrder (default Descending), CreationTimeAfter (>=), CreationTimeBefore (<),
   * LastModifiedTimeAfter (>), LastModifiedTimeBefore (<), NameContains, StatusEquals; NextToken pages.
   */
  private listEndpoints(body: Record<string, unknown>): unknown {
    const maxResults = body.MaxResults === undefined ? 10 : Number(body.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
      const bound = maxResults > 100 ? 'less than or equal to 100' : 'greater than or equal to 1';
      throw validation(`1 validation error detected: Value '${String(body.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value ${bound}`, 'ValidationException');
    }
    const sortBy = body.SortBy === undefined ? 'CreationTime' : String(body.SortBy);
    const sortOrder = body.SortOrder === undefined ? 'Descending' : String(body.SortOrder);
    if (!SORT_KEYS.includes(sortBy)) throw validation(`Value '${sortBy}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [${SORT_KEYS.join(', ')}]`, 'ValidationException');
    if (!SORT_ORDERS.includes(sortOrder)) throw validation(`Value '${sortOrder}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [${SORT_ORDERS.join(', ')}]`, 'ValidationException');
    const time = (key: string) => (body[key] === undefined ? undefined : Number(body[key]));
    const [createdAfter, createdBefore, modifiedAfter, modifiedBefore] = ['CreationTimeAfter', 'CreationTimeBefore', 'LastModifiedTimeAfter', 'LastModifiedTimeBefore'].map(time);
    const nameContains = body.NameContains === undefined ? undefined : String(body.NameContains);
    const status = body.StatusEquals === undefined ? undefined : String(body.StatusEquals);
    const matching = [...this.endpoints.values()].filter(
      (r) =>
        (createdAfter === undefined || r.createdAt >= createdAfter) &&
        (createdBefore === undefined || r.createdAt < createdBefore) &&
        (modifiedAfter === undefined || r.modifiedAt > modifiedAfter) &&
        (modifiedBefore === undefined || r.modifiedAt < modifiedBefore) &&
        (nameContains === undefined || r.endpoint.name.includes(nameContains)) &&
        (status === undefined || status === 'InService'),
    );
    const byName = (a: EndpointRecord, b: EndpointRecord) => (a.endpoint.name < b.endpoint.name ? -1 : a.endpoint.name > b.endpoint.name ? 1 : 0);
    matching.sort((a, b) => (sortBy === 'CreationTime' ? a.createdAt - b.createdAt || byName(a, b) : byName(a, b)));
    if (sortOrder === 'Descending') matching.reverse();
    let offset = 0;
    if (body.NextToken !== undefined) {
      offset = Number(Buffer.from(String(body.NextToken), 'base64').toString());
      if (!Number.isInteger(offset) || offset < 0) throw validation('Invalid pagination token', 'ValidationException');
    }
    const page = matching.slice(offset, offset + maxResults);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString('base64') : undefined;
    return {
      Endpoints: page.map((r) => ({
        EndpointName: r.endpoint.name,
        EndpointArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint/${r.endpoint.name}`,
        CreationTime: r.createdAt,
        LastModifiedTime: r.modifiedAt,
        EndpointStatus: 'InService',
      })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  private describeEndpoint(body: Record<string, unknown>): unknown {
    const record = this.endpoints.get(String(body.EndpointName));
    if (!record) throw validation(`Could not find endpoint "${String(body.EndpointName)}".`, 'ValidationException');
    const endpoint = record.endpoint;
    return {
      EndpointName: endpoint.name,
      EndpointArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint/${endpoint.name}`,
      EndpointConfigName: `${endpoint.name}-config`,
      EndpointStatus: 'InService',
      CreationTime: record.createdAt,
      LastModifiedTime: record.modifiedAt,
      ProductionVariants: endpoint.variants.map((v) => ({
        VariantName: v.name,
        CurrentWeight: v.weight,
        DesiredWeight: v.weight,
        ...(endpoint.shape === 'serverless' ? { CurrentServerlessConfig: SERVERLESS_CONFIG } : { CurrentInstanceCount: v.instances, DesiredInstanceCount: v.instances }),
      })),
    };
  }

  private describeEndpointConfig(body: Record<string, unknown>): unknown {
    const record = this.byConfigName.get(String(body.EndpointConfigName));
    if (!record) throw validation(`Could not find endpoint configuration "${String(body.EndpointConfigName)}".`, 'ValidationException');
    const endpoint = record.endpoint;
    return {
      EndpointConfigName: `${endpoint.name}-config`,
      EndpointConfigArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint-config/${endpoint.name}-config`,
      CreationTime: record.createdAt,
      ProductionVariants: endpoint.variants.map((v) => ({
        VariantName: v.name,
        // Endpoints that host inference components name their models in the components, not in the config.
        ...(endpoint.shape === 'inference-components' ? {} : { ModelName: `${endpoint.name}-model` }),
        ...(endpoint.shape === 'serverless' ? { ServerlessConfig: SERVERLESS_CONFIG } : { InstanceType: v.instanceType, InitialInstanceCount: v.instances }),
      })),
      ...(endpoint.shape === 'async' ? { AsyncInferenceConfig: { OutputConfig: { S3OutputPath: `s3://inferwatch-stand-in/${endpoint.name}/out/` } } } : {}),
      ...(endpoint.enhanced ? { MetricsConfig: { EnableEnhancedMetrics: true } } : {}),
    };
  }
}
