import type { MetricDef } from './fleet';
import { statisticOf } from './latency-distribution';

/**
 * The demo's story on top of the simulated fleet: traffic that follows the time of day, one endpoint nobody calls, and
 * an incident (one variant's model slows down, another's answers 5XX). Every statistic the stand-in serves, and so
 * every truth the demo checks its answers against, comes from the reshaped metrics.
 */
export interface Scenario {
  /** An endpoint with no traffic: its invocations and errors are 0, its timings have no datapoints. */
  readonly idleEndpoint: string;
  /** The variant whose ModelLatency is multiplied by `latencyFactor` during the incident. */
  readonly slowVariant: { readonly endpoint: string; readonly variant: string };
  readonly latencyFactor: number;
  /** The variant that answers `errorShare` of its invocations with 5XX during the incident. */
  readonly failingVariant: { readonly endpoint: string; readonly variant: string };
  readonly errorShare: number;
  /** The incident, epoch seconds: [start, end). */
  readonly incident: { readonly start: number; readonly end: number };
}

const COUNTS = new Set(['Invocations', 'InvocationsPerInstance', 'InvocationsPerCopy', 'Invocation4XXErrors', 'Invocation5XXErrors', 'InvocationModelErrors']);

/** Traffic relative to the day's mean at `t` (epoch s, UTC): lowest about 04:00 (0.4), highest about 16:00 (1.6). */
export function dailyTraffic(t: number): number {
  const hour = (t / 3600) % 24;
  return 1 + 0.6 * Math.sin(((hour - 10) / 24) * 2 * Math.PI);
}

function dimension(metric: MetricDef, name: string): string | undefined {
  return metric.dimensions.find((d) => d.Name === name)?.Value;
}

function isVariant(metric: MetricDef, which: Scenario['slowVariant']): boolean {
  return dimension(metric, 'EndpointName') === which.endpoint && dimension(metric, 'VariantName') === which.variant && dimension(metric, 'InstanceId') === undefined;
}

function idle(metric: MetricDef): MetricDef {
  if (COUNTS.has(metric.metricName)) return { ...metric, value: (stat, t) => (metric.value(stat, t) === undefined ? undefined : 0) };
  if (metric.raw) return { ...metric, value: () => undefined, raw: () => new Float64Array(0) };
  return metric;
}

function slower(metric: MetricDef, scenario: Scenario): MetricDef {
  const { raw, value } = metric;
  if (!raw) return metric;
  const during = (t: number) => t >= scenario.incident.start && t < scenario.incident.end;
  const scaled = (t: number) => (during(t) ? raw(t).map((v) => v * scenario.latencyFactor) : raw(t));
  return { ...metric, raw: scaled, value: (stat, t) => (value(stat, t) === undefined || !during(t) ? value(stat, t) : statisticOf(scaled(t), stat)) };
}

/** Counts follow the time of day; the failing variant's 5XX are `errorShare` of its invocations during the incident. */
function daily(metric: MetricDef, scenario: Scenario, invocations: MetricDef | undefined): MetricDef {
  if (!COUNTS.has(metric.metricName)) return metric;
  const { value } = metric;
  const whole = metric.metricName !== 'InvocationsPerInstance' && metric.metricName !== 'InvocationsPerCopy';
  const failing = metric.metricName === 'Invocation5XXErrors' && invocations !== undefined && isVariant(metric, scenario.failingVariant);
  return {
    ...metric,
    value: (stat, t) => {
      if (failing && stat === 'Sum' && t >= scenario.incident.start && t < scenario.incident.end) return Math.round((invocations.value('Sum', t) ?? 0) * scenario.errorShare);
      const v = value(stat, t);
      if (v === undefined || stat !== 'Sum') return v;
      return whole ? Math.round(v * dailyTraffic(t)) : v * dailyTraffic(t);
    },
  };
}

/** The fleet's metrics reshaped by `scenario`: give it as `FleetOptions.scenario`. */
export function applyScenario(scenario: Scenario): (metrics: MetricDef[]) => MetricDef[] {
  return (metrics) => {
    const shaped = metrics.map((m) => (dimension(m, 'EndpointName') === scenario.idleEndpoint ? idle(m) : m));
    const byDaily = shaped.map((m) => (m.metricName === 'Invocations' ? daily(m, scenario, undefined) : m));
    const invocationsOf = (m: MetricDef) => byDaily.find((x) => x.metricName === 'Invocations' && x.namespace === m.namespace && isVariant(x, scenario.failingVariant));
    return byDaily.map((m) => {
      if (m.metricName === 'Invocations') return m;
      const withTraffic = daily(m, scenario, invocationsOf(m));
      return m.metricName === 'ModelLatency' && isVariant(m, scenario.slowVariant) ? slower(withTraffic, scenario) : withTraffic;
    });
  };
}
