import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet, type Dimension } from '../support/stand-ins/fleet';
import { withIdlePeriods } from '../support/stand-ins/idle-traffic';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const SM = 'AWS/SageMaker';
/** Every series the bridge forwards, not its own metrics (their values differ between two runs by nature). */
// Two hours back, so every cycle's "now" is in the past and Prometheus accepts every timestamp.
const t0 = Math.floor(Date.now() / (5 * MINUTE)) * 5 * MINUTE - 120 * MINUTE;
const at = (minutes: number) => t0 + minutes * MINUTE;
/** Minutes after t0 during which each variant has traffic; idle the rest of the time. */
const TRAFFIC: Record<string, ReadonlyArray<readonly [number, number]>> = {
  // Busy, idle from minute 17, a two-minute blip at 33-35 whose Invocations CloudWatch has only 10 minutes later.
  'churn-predictor/blue': [
    [-60, 17],
    [33, 35],
  ],
  // Idle from the start, two minutes of traffic at 11-13 (their Invocations published 8 minutes late), idle again.
  'churn-predictor/green': [[11, 13]],
  // Idle until minute 22, then busy to the end: a variant woken after a long idle time.
  'image-classifier/AllTraffic': [[22, 1000]],
};
const idleAt = (endpoint: string, variant: string, t: number) => {
  const spans = TRAFFIC[`${endpoint}/${variant}`];
  if (!spans) return false;
  const minute = (t * 1000 - t0) / MINUTE;
  return !spans.some(([from, to]) => minute >= from && minute < to);
};
/** Invocations published late: the periods (minutes after t0) withheld until the cycle at `until`. */
const LATE = [
  { endpoint: 'churn-predictor', variant: 'green', minutes: [11, 12], until: 20 },
  { endpoint: 'churn-predictor', variant: 'blue', minutes: [33, 34], until: 45 },
];
/** The CloudWatch counters of a variant and the Prometheus counters they become. */
const COUNTERS: ReadonlyArray<readonly [string, string, string, number]> = [
  ['aws_sagemaker_invocations_total', 'Invocations', 'Sum', 1],
  ['aws_sagemaker_invocation_4xx_errors_total', 'Invocation4XXErrors', 'Sum', 1],
  ['aws_sagemaker_invocation_5xx_errors_total', 'Invocation5XXErrors', 'Sum', 1],
  ['aws_sagemaker_invocation_model_errors_total', 'InvocationModelErrors', 'Sum', 1],
  ['aws_sagemaker_invocations_per_instance_total', 'InvocationsPerInstance', 'Sum', 1],
  ['aws_sagemaker_model_latency_seconds_count', 'ModelLatency', 'SampleCount', 1],
  ['aws_sagemaker_model_latency_seconds_sum', 'ModelLatency', 'Sum', 1e-6],
  ['aws_sagemaker_overhead_latency_seconds_count', 'OverheadLatency', 'SampleCount', 1],
  ['aws_sagemaker_overhead_latency_seconds_sum', 'OverheadLatency', 'Sum', 1e-6],
];

/**
 * Variants that go idle and come back, with Invocations published late while a variant is idle, read by two bridges
 * against the same CloudWatch stand-in, each into a Prometheus of its own: one reads idle variants through their
 * sentinel (`idleVariants: sentinel`, the default), the other every metric every cycle (`idleVariants: read`). Every
 * sample of every forwarded series must be the same in both, each counter must equal CloudWatch's sum, and the
 * sentinel bridge must have requested fewer metrics.
 */
describe('idle variants read through a sentinel, end to end on a real Prometheus', () => {
  const fleet = withIdlePeriods(defaultFleet(), idleAt);
  const standIn = new AwsStandIn(fleet);
  const sentinel = new LocalPrometheus();
  const control = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-idle-'));
  // The first cycle reads the 15-minute initial lookback up to 2 minutes (settle) before its now.
  const start1 = at(-17);
  let env: Record<string, string>;

  const setUp = (name: string, prometheus: LocalPrometheus, idleVariants: string) => {
    const configFile = join(work, `${name}.yaml`);
    writeFileSync(configFile, `accountId: "123456789012"\nidleVariants: ${idleVariants}\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n  maxSamplesPerRequest: 5000\n`);
    return (now: number) => runBridge(['--once', '--config', configFile, '--state-dir', join(work, name), '--now', String(now)], env);
  };

  beforeAll(async () => {
    await standIn.start();
    await Promise.all([sentinel.start(), control.start()]);
    env = standIn.env();
  });

  afterAll(async () => {
    await Promise.all([sentinel.stop(), control.stop()]);
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const dimsOf = (endpoint: string, variant: string): Dimension[] => [
    { Name: 'EndpointName', Value: endpoint },
    { Name: 'VariantName', Value: variant },
  ];

  test('the same samples as a bridge that reads everything, counters at CloudWatch sums, fewer metrics requested', async () => {
    const cycles = Array.from({ length: 10 }, (_, i) => at(i * 5));
    const bridges = { sentinel: setUp('sentinel', sentinel, 'sentinel'), control: setUp('control', control, 'read') };
    const requested = { sentinel: 0, control: 0 };
    for (const late of LATE) for (const m of late.minutes) standIn.cloudwatch.setValue(SM, 'Invocations', dimsOf(late.endpoint, late.variant), 'Sum', at(m), undefined);
    for (const late of LATE) for (const m of late.minutes) standIn.cloudwatch.setValue(SM, 'Invocations', dimsOf(late.endpoint, late.variant), 'SampleCount', at(m), undefined);
    let sentinelAsked = false;
    for (const now of cycles) {
      // Late data arrives: CloudWatch now has the withheld periods.
      for (const late of LATE.filter((l) => now >= at(l.until))) {
        for (const m of late.minutes) for (const stat of ['Sum', 'SampleCount']) standIn.cloudwatch.clearValue(SM, 'Invocations', dimsOf(late.endpoint, late.variant), stat, at(m));
      }
      for (const name of ['control', 'sentinel'] as const) {
        standIn.cloudwatch.resetCounts();
        const run = await bridges[name](now);
        expect({ name, now, code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ name, now, code: 0, stderr: '' });
        requested[name] += standIn.cloudwatch.metricsRequested;
        if (name === 'sentinel') sentinelAsked ||= [...standIn.cloudwatch.distinctQueries].some((q) => q.includes('|Invocations|') && q.includes('|SampleCount|'));
      }
    }
    expect(sentinelAsked).toBe(true);
    // Three of the fleet's variants idle much of the time: an idle cycle costs one query instead of the variant's
    // counters (and, every other cycle, its latencies). Measured: 681 against 800.
    expect(requested.sentinel).toBeLessThan(requested.control * 0.9);

    const end = at(43);
    const [got, want] = await Promise.all([sentinel.forwardedSamples(end), control.forwardedSamples(end)]);
    expect(want.size).toBeGreaterThan(100);
    const differing = [...want].filter(([key, values]) => JSON.stringify(got.get(key)) !== JSON.stringify(values)).map(([key]) => key);
    expect({ differing: differing.length, of: want.size, first: differing.slice(0, 3) }).toEqual({ differing: 0, of: want.size, first: [] });
    expect(got.size).toBe(want.size);

    // And against CloudWatch itself: every counter of every variant holds the Sum of every period it covers.
    for (const endpoint of fleet.endpoints) {
      for (const variant of endpoint.variants) {
        for (const [name, metricName, stat, scale] of COUNTERS) {
          const [series] = await sentinel.rawSamples(`${name}{endpoint_name="${endpoint.name}",variant_name="${variant.name}"}[3h]`, end);
          const [last, total] = series?.values.at(-1) ?? [start1, 0];
          // Latencies are read every 10 minutes (readIntervals): the counter covers up to its last sample, and that
          // is at most one read interval behind the window. Every period up to it is in, exactly.
          let sum = 0;
          for (let t = start1; t <= last; t += MINUTE) sum += (standIn.cloudwatch.valueAt(SM, metricName, dimsOf(endpoint.name, variant.name), stat, t) ?? 0) * scale;
          let newest = end - MINUTE;
          while (newest > start1 && standIn.cloudwatch.valueAt(SM, metricName, dimsOf(endpoint.name, variant.name), stat, newest) === undefined) newest -= MINUTE;
          const covered = last >= Math.min(newest, end - 11 * MINUTE);
          const close = Math.abs(total - sum) <= 1e-9 * Math.max(1, sum);
          expect({ series: `${name} ${endpoint.name}/${variant.name}`, close, covered }).toEqual({ series: `${name} ${endpoint.name}/${variant.name}`, close: true, covered: true });
        }
      }
    }
  }, 600_000);
});
