import type { FleetOptions, MetricDef } from './fleet';

/**
 * The per-variant metrics SageMaker publishes only for periods with traffic (the "SageMaker AI metrics in Amazon
 * CloudWatch" page): written here from the page, not imported from the bridge, so the stand-in does not agree with the
 * bridge by construction.
 */
const WITH_TRAFFIC = new Set([
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

/** Whether a variant had no request at all in the minute starting at `periodStart` (epoch seconds). */
export type IdleAt = (endpoint: string, variant: string, periodStart: number) => boolean;

/**
 * The fleet with periods without traffic: in them, a variant publishes none of its invocation, error and latency
 * metrics (per variant and per zone), as SageMaker does; its instance metrics (`/aws/sagemaker/Endpoints`) go on.
 */
export function withIdlePeriods(fleet: FleetOptions, idleAt: IdleAt): FleetOptions {
  const before = fleet.scenario;
  return {
    ...fleet,
    scenario: (built) => {
      const metrics = before ? before(built) : built;
      return metrics.map((metric) => gate(metric, idleAt));
    },
  };
}

function gate(metric: MetricDef, idleAt: IdleAt): MetricDef {
  if (metric.namespace !== 'AWS/SageMaker' || !WITH_TRAFFIC.has(metric.metricName)) return metric;
  const endpoint = metric.dimensions.find((d) => d.Name === 'EndpointName')?.Value;
  const variant = metric.dimensions.find((d) => d.Name === 'VariantName')?.Value;
  if (endpoint === undefined || variant === undefined) return metric;
  const { value, raw } = metric;
  return {
    ...metric,
    value: (stat, t) => (idleAt(endpoint, variant, t - (t % 60)) ? undefined : value(stat, t)),
    ...(raw ? { raw: (t: number) => (idleAt(endpoint, variant, t - (t % 60)) ? new Float64Array(0) : raw(t)) } : {}),
  };
}
