import { bridgeIncrease, bridgeLatest, bridgeRate } from '../lib/grafana-workspace/dashboards';
import { DEFAULT_BUCKETS } from '../lambda/bridge/catalog/catalog';
import type { AwsStandIn } from '../test/support/stand-ins/aws-stand-in';
import type { Dimension } from '../test/support/stand-ins/fleet';

const MINUTE = 60_000;
/** How far an answer may be from the stand-in's truth. */
export const TOLERANCE = 0.05;

/** What the truth of an answer depends on besides the stand-in: the query time and what the bridge reported. */
export interface TruthContext {
  readonly standIn: AwsStandIn;
  /** Epoch ms the query is evaluated at. */
  readonly at: number;
  /** Start of the newest period the bridge forwarded (its window end minus one period). */
  readonly lastPeriod: number;
  /** The bridge's lag at the end of its last cycle, seconds. */
  readonly lagSeconds: number;
  /** GetMetricData queries over all cycles so far (each bills one metric). */
  readonly metricsRequested: number;
}

/** Answers by series: the key is the answer's labels apart from __name__, region and account_id. */
export type Answers = Map<string, number>;

export interface DemoQuery {
  readonly title: string;
  readonly promql: string;
  readonly truth: (ctx: TruthContext) => Answers;
}

export function answerKey(labels: Record<string, string>): string {
  const kept = Object.entries(labels).filter(([k]) => !['__name__', 'region', 'account_id'].includes(k));
  return kept.length === 0 ? '(total)' : kept.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
}

/** Period starts whose samples fall in a range selector `[window] offset 10m` evaluated at `at`: (at-10m-window, at-10m]. */
export function periodsIn(at: number, windowMinutes: number): number[] {
  const end = at - 10 * MINUTE;
  const first = Math.floor((end - windowMinutes * MINUTE) / MINUTE) * MINUTE + MINUTE;
  return Array.from({ length: Math.floor((end - first) / MINUTE) + 1 }, (_, i) => first + i * MINUTE);
}

const SM = 'AWS/SageMaker';
const dims = (endpoint: string, variant: string): Dimension[] => [
  { Name: 'EndpointName', Value: endpoint },
  { Name: 'VariantName', Value: variant },
];

function variants(ctx: TruthContext): Array<{ endpoint: string; variant: string; instances: number; serverless: boolean }> {
  return ctx.standIn.fleet.endpoints.flatMap((e) => e.variants.map((v) => ({ endpoint: e.name, variant: v.name, instances: v.instances, serverless: e.shape === 'serverless' })));
}

/** CloudWatch's `stat` summed over `periods`; undefined where CloudWatch has no datapoint in any of them. */
function sumOver(ctx: TruthContext, periods: readonly number[], namespace: string, metric: string, stat: string, d: Dimension[]): number | undefined {
  return periods.reduce<number | undefined>((n, p) => {
    const v = ctx.standIn.valueAt(namespace, metric, d, stat, p);
    return v === undefined ? n : (n ?? 0) + v;
  }, undefined);
}

/** Sum of `stat` over the variants of each endpoint; an endpoint whose variants have no such metric has no answer. */
function byEndpoint(ctx: TruthContext, periods: readonly number[], metric: string, stat: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of ctx.standIn.fleet.endpoints) {
    const sums = e.variants.map((v) => sumOver(ctx, periods, SM, metric, stat, dims(e.name, v.name))).filter((x): x is number => x !== undefined);
    if (sums.length > 0) out.set(e.name, sums.reduce((a, b) => a + b, 0));
  }
  return out;
}

function keyedByEndpoint(values: Map<string, number>, f: (value: number, endpoint: string) => number = (v) => v): Answers {
  return new Map([...values].map(([endpoint, value]) => [answerKey({ endpoint_name: endpoint }), f(value, endpoint)]));
}

/** Prometheus' histogram_quantile over cumulative buckets [upper bound, count], ascending: linear within the bucket. */
export function histogramQuantile(q: number, buckets: ReadonlyArray<readonly [number, number]>): number {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  const rank = q * total;
  const i = buckets.findIndex(([, count]) => count >= rank);
  const [upper, count] = buckets[i] as readonly [number, number];
  if (upper === Infinity) return buckets[buckets.length - 2]?.[0] ?? NaN;
  const [lower, below] = i === 0 ? [0, 0] : (buckets[i - 1] as readonly [number, number]);
  return lower + ((upper - lower) * (rank - below)) / (count - below);
}

/** Invocations of every variant and every inference component over `periods`: the fleet's requests. */
function fleetInvocations(ctx: TruthContext, periods: readonly number[]): number {
  const components = ctx.standIn.fleet.endpoints.flatMap((e) => e.components ?? []);
  const variantSum = [...byEndpoint(ctx, periods, 'Invocations', 'Sum').values()].reduce((a, b) => a + b, 0);
  return components.reduce((n, c) => n + (sumOver(ctx, periods, SM, 'Invocations', 'Sum', [{ Name: 'InferenceComponentName', Value: c }]) ?? 0), variantSum);
}

/**
 * Enhanced metrics add per-instance series (`instance_id`) beside each variant's, and inference components carry no
 * `endpoint_name`: per-endpoint sums keep to `endpoint_name!="", instance_id="", availability_zone=""`, or they count requests twice.
 */
const PER_VARIANT_INVOCATIONS = 'aws_sagemaker_invocations_total{endpoint_name!="", instance_id="", availability_zone=""}';

/**
 * The PromQL the README and the demo suggest, each with its true answer computed from the stand-in. Windows over
 * bridge data end 10 minutes back and gauges take their newest sample (see BRIDGE_DATA_OFFSET).
 */
export const DEMO_QUERIES: readonly DemoQuery[] = [
  {
    title: 'requests per second by endpoint',
    promql: `sum by (endpoint_name) (${bridgeRate(PER_VARIANT_INVOCATIONS)})`,
    truth: (ctx) => {
      const periods = periodsIn(ctx.at, 15);
      return keyedByEndpoint(byEndpoint(ctx, periods, 'Invocations', 'Sum'), (n) => n / (periods.length * 60));
    },
  },
  {
    title: 'share of 5XX errors',
    promql: `sum(${bridgeRate('aws_sagemaker_invocation_5xx_errors_total{instance_id="", availability_zone=""}')}) / sum(${bridgeRate('aws_sagemaker_invocations_total{instance_id="", availability_zone=""}')})`,
    truth: (ctx) => {
      const periods = periodsIn(ctx.at, 15);
      const errors = [...byEndpoint(ctx, periods, 'Invocation5XXErrors', 'Sum').values()].reduce((a, b) => a + b, 0);
      return new Map([[answerKey({}), errors / fleetInvocations(ctx, periods)]]);
    },
  },
  {
    title: 'p99 model latency, seconds (histogram: over every variant of the endpoint)',
    promql: `histogram_quantile(0.99, sum by (le, endpoint_name) (${bridgeRate('aws_sagemaker_model_latency_seconds_bucket{endpoint_name!="", instance_id="", availability_zone=""}')}))`,
    truth: (ctx) => {
      // rate() takes the difference between the window's first and last cumulative sample: the first period's own
      // count is in both, so the buckets hold the periods after it. CloudWatch's TC(:edge in µs) over those, summed
      // over the endpoint's variants, are the buckets Prometheus interpolates in.
      const periods = periodsIn(ctx.at, 15).slice(1);
      const out: Answers = new Map();
      for (const e of ctx.standIn.fleet.endpoints) {
        const count = (stat: string) => e.variants.reduce((n, v) => n + (sumOver(ctx, periods, SM, 'ModelLatency', stat, dims(e.name, v.name)) ?? 0), 0);
        if (count('SampleCount') === 0) continue;
        out.set(answerKey({ endpoint_name: e.name }), histogramQuantile(0.99, [...DEFAULT_BUCKETS.map((edge): [number, number] => [edge, count(`TC(:${edge * 1e6})`)]), [Infinity, count('SampleCount')]]));
      }
      return out;
    },
  },
  {
    title: 'mean model latency, seconds',
    promql: `sum by (endpoint_name) (${bridgeRate('aws_sagemaker_model_latency_seconds_sum{endpoint_name!=""}')}) / sum by (endpoint_name) (${bridgeRate('aws_sagemaker_model_latency_seconds_count{endpoint_name!=""}')})`,
    truth: (ctx) => {
      const periods = periodsIn(ctx.at, 15);
      const counts = byEndpoint(ctx, periods, 'ModelLatency', 'SampleCount');
      return keyedByEndpoint(byEndpoint(ctx, periods, 'ModelLatency', 'Sum'), (sum, e) => (sum * 1e-6) / (counts.get(e) ?? NaN));
    },
  },
  {
    title: 'CPU per variant (1 = one core)',
    promql: bridgeLatest('aws_sagemaker_endpoint_cpu_utilization_ratio{instance_id=""}'),
    truth: (ctx) =>
      new Map(
        variants(ctx).flatMap((v) => {
          const cpu = ctx.standIn.valueAt('/aws/sagemaker/Endpoints', 'CPUUtilization', dims(v.endpoint, v.variant), 'Average', ctx.lastPeriod);
          return cpu === undefined ? [] : [[answerKey({ endpoint_name: v.endpoint, variant_name: v.variant }), cpu * 0.01] as [string, number]];
        }),
      ),
  },
  {
    title: 'instances running vs desired',
    promql: `max by (endpoint_name, variant_name, state) (${bridgeLatest('aws_sagemaker_variant_instances')})`,
    truth: (ctx) =>
      new Map(
        // Serverless variants have no instances, and no instance count.
        variants(ctx)
          .filter((v) => !v.serverless)
          .flatMap((v) => ['current', 'desired'].map((state) => [answerKey({ endpoint_name: v.endpoint, variant_name: v.variant, state }), v.instances] as [string, number])),
      ),
  },
  {
    title: 'busiest NeuronCore',
    promql: `max by (instance_id) (${bridgeLatest('neuroncore_utilization_ratio')})`,
    truth: (ctx) =>
      new Map(
        ctx.standIn.fleet.neuronHosts.map((h) => {
          const cores = Array.from({ length: h.cores }, (_, core) => [
            { Name: 'InstanceId', Value: h.instanceId },
            { Name: 'InstanceName', Value: h.instanceName },
            { Name: 'NeuronCore', Value: String(core) },
          ]);
          const busiest = Math.max(...cores.map((d) => ctx.standIn.valueAt(ctx.standIn.fleet.neuronNamespace, 'NeuronCoreUtilization', d, 'Average', ctx.lastPeriod) ?? NaN));
          return [answerKey({ instance_id: h.instanceId }), busiest * 0.01];
        }),
      ),
  },
  {
    title: 'invocations in the half hour ending 10 minutes ago',
    promql: `sum by (endpoint_name) (${bridgeIncrease(PER_VARIANT_INVOCATIONS, '30m')})`,
    truth: (ctx) => keyedByEndpoint(byEndpoint(ctx, periodsIn(ctx.at, 30), 'Invocations', 'Sum')),
  },
  {
    title: 'bridge lag, seconds',
    promql: bridgeLatest('inferwatch_bridge_lag_seconds'),
    truth: (ctx) => new Map([[answerKey({}), ctx.lagSeconds]]),
  },
  {
    title: 'metrics GetMetricData billed',
    promql: `sum(${bridgeLatest('inferwatch_bridge_cloudwatch_metrics_requested_total{billing="per_statistic"}')})`,
    truth: (ctx) => new Map([[answerKey({}), ctx.metricsRequested]]),
  },
];

/** What is wrong with the answers: series missing or unexpected, values off by more than the tolerance. */
export function compareAnswers(expected: Answers, actual: Answers, tolerance = TOLERANCE): string[] {
  const problems: string[] = [];
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (got === undefined) problems.push(`${key}: no answer (expected ${want})`);
    else if (!Number.isFinite(want) || !(Math.abs(got - want) <= tolerance * Math.abs(want))) {
      problems.push(`${key}: ${got} is off the true ${want} by ${Number.isFinite(want) && want !== 0 ? `${((Math.abs(got - want) / Math.abs(want)) * 100).toFixed(1)}%` : 'more than allowed'}`);
    }
  }
  for (const key of actual.keys()) if (!expected.has(key)) problems.push(`${key}: an answer the stand-in has no truth for`);
  return problems;
}
