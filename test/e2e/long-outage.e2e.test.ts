import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BUCKETS, formatLe } from '../../lambda/bridge/catalog/catalog';
import { FileStateStore } from '../../lambda/bridge/state/file-state-store';
import { decodeState } from '../../lambda/bridge/state/state';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { type Dimension, type FleetEndpoint } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const SM = 'AWS/SageMaker';
const ENDPOINTS: FleetEndpoint[] = ['search-ranker', 'doc-summariser', 'fraud-scorer'].map((name) => ({
  name,
  variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.xlarge', instances: 1, weight: 1 }],
}));
const dims = (endpoint: string): Dimension[] => [
  { Name: 'EndpointName', Value: endpoint },
  { Name: 'VariantName', Value: 'AllTraffic' },
];

/**
 * A 6-hour outage on a real Prometheus: the bridge comes back, reads the periods too old to write at one coarse
 * period (the counters' sums carried into their first written sample) and the rest per period, so that within two
 * cycles it has caught up, every period still inside the receiver's window when it came back is stored, nothing is
 * refused, and every counter (invocations, errors, latency histogram buckets, _count and _sum) holds CloudWatch's sum,
 * a revision CloudWatch made during the outage to a period forwarded before it included.
 */
describe('a 6-hour outage, end to end on a real Prometheus', () => {
  // Seven hours back, so every cycle's "now" is in the past and Prometheus accepts every timestamp.
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 7 * 60 * MINUTE;
  // The first cycle forwards the 15-minute initial lookback up to 2 minutes (settle) before its now.
  const start1 = t0 - 17 * MINUTE;
  const comeback = t0 + 6 * 60 * MINUTE;
  const standIn = new AwsStandIn({ endpoints: ENDPOINTS, neuronHosts: [], neuronNamespace: 'neuron_monitor', latencySeedEpoch: start1 / 1000 });
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-outage-'));
  const configFile = join(work, 'inferwatch.yaml');
  let env: Record<string, string>;

  const bridge = (now: number) => runBridge(['--once', '--config', configFile, '--state-dir', join(work, 'state'), '--now', String(now)], env);

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    env = standIn.env();
    writeFileSync(configFile, `accountId: "123456789012"\nlatency: histogram\nnamespaces: [AWS/SageMaker]\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n  maxSamplesPerRequest: 5000\n`);
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('caught up in two cycles; every period inside the receiver window stored; nothing refused; every counter at CloudWatch sum', async () => {
    const first = await bridge(t0);
    expect({ code: first.code, stderr: first.code === 0 ? '' : first.stderr }).toEqual({ code: 0, stderr: '' });
    // During the outage CloudWatch revises a period the first cycle forwarded (inside the revision window).
    const revised = t0 - 5 * MINUTE;
    for (const { name } of ENDPOINTS) standIn.setValue(SM, 'Invocations', dims(name), 'Sum', revised, (standIn.valueAt(SM, 'Invocations', dims(name), 'Sum', revised) ?? 0) + 17);

    const cycles = [comeback, comeback + 5 * MINUTE];
    const logs: string[] = [];
    for (const now of cycles) {
      const run = await bridge(now);
      expect({ now, code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ now, code: 0, stderr: '' });
      // The receiver refused nothing (the bridge logs each refusal with its reason).
      expect(run.stderr).toContain('"rejected":{}');
      logs.push(run.stderr);
    }
    const last = cycles.at(-1) as number;
    const { bytes } = await new FileStateStore(join(work, 'state')).load();
    const end = Math.floor((last - 2 * MINUTE) / MINUTE) * MINUTE;
    const state = bytes && decodeState(bytes, 'outage');
    expect(state && new Date(state.highWaterMark ?? 0).toISOString()).toBe(new Date(end).toISOString());
    // Latency is read every 10 minutes (readIntervals), so up to the end of its own last read.
    const latencyEnd = (state && state.classes?.latency?.end) ?? end;

    // The receiver's window when the bridge came back: the periods younger than maxSampleAge (50 minutes) then, up to
    // the settled ones (the one exactly 50 minutes old is older by the time anything is sent).
    const writableFrom = comeback - 49 * MINUTE;
    const ready = comeback - 2 * MINUTE;
    const stored = await prometheus.rawSamples(`aws_sagemaker_invocations_total[${(last - writableFrom) / 1000}s]`, ready - MINUTE);
    for (const series of stored) {
      const times = new Set(series.values.map(([t]) => t));
      const missing: string[] = [];
      for (let t = writableFrom; t < ready; t += MINUTE) if (!times.has(t)) missing.push(new Date(t).toISOString());
      expect({ endpoint: series.metric.endpoint_name, missing }).toEqual({ endpoint: series.metric.endpoint_name, missing: [] });
    }
    const inWindow = (ready - writableFrom) / MINUTE;
    // count_over_time over (writableFrom - 30 s, ready - 1 min]: exactly the window's periods.
    const counted = await prometheus.query(`count_over_time(aws_sagemaker_invocations_total[${(ready - MINUTE - writableFrom) / 1000 + 30}s])`, ready - MINUTE);
    expect(counted.map((s) => [s.metric.endpoint_name, s.value]).sort()).toEqual(ENDPOINTS.map(({ name }) => [name, inWindow]).sort());
    const buckets = await prometheus.query(`count_over_time(aws_sagemaker_model_latency_seconds_bucket[${(ready - MINUTE - writableFrom) / 1000 + 30}s])`, ready - MINUTE);
    expect(buckets.length).toBe(ENDPOINTS.length * (DEFAULT_BUCKETS.length + 1));
    for (const bucket of buckets) expect({ le: bucket.metric.le, n: bucket.value }).toEqual({ le: bucket.metric.le, n: inWindow });

    // Nothing refused by the receiver.
    const rejected = await prometheus.rawSamples('inferwatch_bridge_samples_rejected_total[10h]', last);
    expect(rejected.flatMap((s) => s.values.map(([, v]) => v)).filter((v) => v !== 0)).toEqual([]);

    // Every counter holds CloudWatch's sum over every period up to the high-water mark.
    const lastValue = async (selector: string) => (await prometheus.rawSamples(`${selector}[8h]`, last))[0]?.values.at(-1)?.[1];
    const sumOf = (metric: string, name: string, stat: string) => {
      let sum = 0;
      for (let t = start1; t < (metric === 'ModelLatency' ? latencyEnd : end); t += MINUTE) sum += standIn.valueAt(SM, metric, dims(name), stat, t) ?? 0;
      return sum;
    };
    for (const { name } of ENDPOINTS) {
      const sel = `endpoint_name="${name}"`;
      expect({ name, total: await lastValue(`aws_sagemaker_invocations_total{${sel}}`) }).toEqual({ name, total: sumOf('Invocations', name, 'Sum') });
      expect({ name, errors: await lastValue(`aws_sagemaker_invocation_5xx_errors_total{${sel}}`) }).toEqual({ name, errors: sumOf('Invocation5XXErrors', name, 'Sum') });
      expect({ name, count: await lastValue(`aws_sagemaker_model_latency_seconds_count{${sel}}`) }).toEqual({ name, count: sumOf('ModelLatency', name, 'SampleCount') });
      expect(await lastValue(`aws_sagemaker_model_latency_seconds_sum{${sel}}`)).toBeCloseTo(sumOf('ModelLatency', name, 'Sum') * 1e-6, 6);
      for (const edge of DEFAULT_BUCKETS) {
        // Exact but for the order of floating-point additions (the stand-in's trimmed counts need not be whole).
        const n = (await lastValue(`aws_sagemaker_model_latency_seconds_bucket{${sel},le="${formatLe(edge)}"}`)) ?? NaN;
        const want = sumOf('ModelLatency', name, `TC(:${edge * 1e6})`);
        expect({ name, edge, off: Math.abs(n - want) <= 1e-9 * Math.max(1, want) ? 0 : n - want }).toEqual({ name, edge, off: 0 });
      }
    }
    // The comeback read its too-old span at one coarse period (the stand-in keys each query by its period last).
    expect([...standIn.cloudwatch.distinctQueries].filter((q) => Number(q.split('|').at(-1)) > 60).length).toBeGreaterThan(0);
  }, 300_000);
});
