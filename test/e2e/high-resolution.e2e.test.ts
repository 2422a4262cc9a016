import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet, type Dimension } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const ACCOUNT = '123456789012';
const SM = 'AWS/SageMaker';

/** The 10 s metrics of the shapes fleet: the real-time endpoint with enhanced metrics, and each inference component's copies. */
const HIGH_RESOLUTION = [
  { metric: 'ConcurrentRequestsPerModel', name: 'aws_sagemaker_concurrent_requests_per_model', dimensions: [{ Name: 'EndpointName', Value: 'ranker' }, { Name: 'VariantName', Value: 'AllTraffic' }], labels: { endpoint_name: 'ranker', variant_name: 'AllTraffic' } },
  { metric: 'ConcurrentRequestsPerCopy', name: 'aws_sagemaker_concurrent_requests_per_copy', dimensions: [{ Name: 'InferenceComponentName', Value: 'llm-chat' }], labels: { inference_component_name: 'llm-chat' } },
  { metric: 'ConcurrentRequestsPerCopy', name: 'aws_sagemaker_concurrent_requests_per_copy', dimensions: [{ Name: 'InferenceComponentName', Value: 'llm-embed' }], labels: { inference_component_name: 'llm-embed' } },
] as const;
const HIGH_RESOLUTION_FAMILIES = new Set<string>(HIGH_RESOLUTION.map((h) => h.name));

describe('the CloudWatch stand-in stores and answers as CloudWatch does', () => {
  const standIn = new AwsStandIn(defaultFleet('neuron_monitor', 0, { shapes: true }));
  const cloudwatch = () => new CloudWatchClient({ region: 'us-east-2', endpoint: standIn.url, credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret' } });
  const now = Math.floor(Date.now() / MINUTE) * MINUTE;
  const query = (metric: string, dimensions: readonly Dimension[], stat: string, period: number): MetricDataQuery => ({ Id: 'q0', MetricStat: { Metric: { Namespace: SM, MetricName: metric, Dimensions: [...dimensions] }, Period: period, Stat: stat } });
  const read = async (q: MetricDataQuery, start: number, end: number) => {
    const page = await cloudwatch().send(new GetMetricDataCommand({ MetricDataQueries: [q], StartTime: new Date(start), EndTime: new Date(end), ScanBy: 'TimestampAscending' }));
    const result = page.MetricDataResults?.[0];
    return (result?.Timestamps ?? []).map((t, i) => [t.getTime(), result?.Values?.[i]] as const);
  };
  const ranker = HIGH_RESOLUTION[0].dimensions;

  beforeAll(() => standIn.start());
  afterAll(() => standIn.stop());

  test('a 10 s metric at Period 10: six different datapoints a minute', async () => {
    const points = await read(query('ConcurrentRequestsPerModel', ranker, 'Maximum', 10), now - 10 * MINUTE, now - 8 * MINUTE);
    expect(points.map(([t]) => t)).toEqual(Array.from({ length: 12 }, (_, i) => now - 10 * MINUTE + i * 10_000));
    expect(new Set(points.slice(0, 6).map(([, v]) => v)).size).toBe(6);
  });

  test('the same at Period 60: one datapoint a minute, the statistic over its six (Maximum the largest, Minimum the smallest)', async () => {
    const tens = await read(query('ConcurrentRequestsPerModel', ranker, 'Maximum', 10), now - 10 * MINUTE, now - 9 * MINUTE);
    const minute = await read(query('ConcurrentRequestsPerModel', ranker, 'Maximum', 60), now - 10 * MINUTE, now - 9 * MINUTE);
    expect(minute).toEqual([[now - 10 * MINUTE, Math.max(...tens.map(([, v]) => v as number))]]);
    const lows = await read(query('ConcurrentRequestsPerModel', ranker, 'Minimum', 10), now - 10 * MINUTE, now - 9 * MINUTE);
    expect(await read(query('ConcurrentRequestsPerModel', ranker, 'Minimum', 60), now - 10 * MINUTE, now - 9 * MINUTE)).toEqual([[now - 10 * MINUTE, Math.min(...lows.map(([, v]) => v as number))]]);
  });

  test('a standard-resolution metric at Period 10 still has one datapoint a minute: CloudWatch stores no more', async () => {
    const points = await read(query('Invocations', ranker, 'Sum', 10), now - 10 * MINUTE, now - 7 * MINUTE);
    expect(points.map(([t]) => t)).toEqual([now - 10 * MINUTE, now - 9 * MINUTE, now - 8 * MINUTE]);
    for (const [t, v] of points) expect(v).toBe(standIn.valueAt(SM, 'Invocations', ranker, 'Sum', t));
  });

  test('a period under a minute whose StartTime is more than 3 hours back returns no datapoints; at 60 s the same span does', async () => {
    const from = now - 3 * 3600_000 - 5 * MINUTE;
    expect(await read(query('ConcurrentRequestsPerModel', ranker, 'Maximum', 10), from, now - 3 * 3600_000 + 5 * MINUTE)).toEqual([]);
    expect(await read(query('ConcurrentRequestsPerModel', ranker, 'Maximum', 60), from, now - 3 * 3600_000 + 5 * MINUTE)).toHaveLength(10);
  });
});

describe('highResolution end to end: CLI -> stand-in (shapes, an unlisted Neuron metric) -> real Prometheus', () => {
  const standIn = new AwsStandIn({ ...defaultFleet('neuron_monitor', 0, { shapes: true }), unlistedNeuronMetrics: ['MatmulUtilization'] });
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-highres-'));
  // Two hours back (Prometheus accepts it, CloudWatch still has the 10 s data). The first cycle forwards [t0 - 17 min, t0 - 2 min).
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 120 * MINUTE;
  const first = t0 - 17 * MINUTE;
  // The second cycle, 5 minutes on, forwards [t0 - 2 min, t0 + 3 min) and re-reads 10 minutes before.
  const end = t0 + 3 * MINUTE;
  const runs: Array<{ code: number | null; stderr: string }> = [];
  let lowDry = '';
  let highDry = '';

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    const config = (highResolution: boolean) => {
      const file = join(work, `${highResolution ? 'high' : 'low'}.yaml`);
      writeFileSync(file, `accountId: "${ACCOUNT}"\nhighResolution: ${highResolution}\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
      return file;
    };
    const dry = async (highResolution: boolean) => (await runBridge(['--dry-run', '--config', config(highResolution), '--state-dir', join(work, `dry-${highResolution}`), '--now', String(t0)], standIn.env())).stdout;
    [lowDry, highDry] = await Promise.all([dry(false), dry(true)]);
    standIn.resetCounts();
    for (const now of [t0, t0 + 5 * MINUTE]) runs.push(await runBridge(['--once', '--config', config(true), '--state-dir', join(work, 'state'), '--now', String(now)], standIn.env()));
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('both cycles succeed and the receiver refuses nothing: no sample is sent twice', () => {
    for (const run of runs) {
      const committed = /cycle committed (\{.*\})/.exec(run.stderr)?.[1];
      expect({ code: run.code, committed: committed && (JSON.parse(committed) as Record<string, unknown>) }).toMatchObject({ code: 0, committed: { rejected: {}, alreadyStored: 0 } });
    }
  });

  test.each(HIGH_RESOLUTION.map((h) => [`${h.name} ${JSON.stringify(h.labels)}`, h] as const))('%s: one sample every 10 s, each once, with CloudWatch\'s 10 s value', async (_, h) => {
    const found = (await prometheus.rawSamples(`${h.name}{${Object.entries(h.labels).map(([k, v]) => `${k}="${v}"`).join(',')}}[1h]`, end)).filter((s) =>
      isDeepStrictEqual({ ...s.metric }, { __name__: h.name, account_id: ACCOUNT, region: 'us-east-2', ...h.labels }),
    );
    expect(found).toHaveLength(1);
    const samples = found[0]?.values ?? [];
    const want = Array.from({ length: (end - first) / 10_000 }, (_, i) => first + i * 10_000);
    expect(samples.map(([t]) => t)).toEqual(want);
    samples.forEach(([t, v]) => expect(v).toBe(standIn.valueAt(SM, h.metric, h.dimensions, 'Maximum', t, 10)));
  });

  test('only the 10 s metrics are read at Period 10; every other query stays at 60', () => {
    const periods = new Map<string, Set<string>>();
    for (const key of standIn.distinctQueries) {
      const [namespace, metric, , stat, period] = key.split('|');
      const id = `${namespace}|${metric}|${stat}`;
      periods.set(id, new Set([...(periods.get(id) ?? []), period as string]));
    }
    for (const [id, set] of periods) expect({ id, periods: [...set] }).toEqual({ id, periods: [/ConcurrentRequestsPer(Model|Copy)\|Maximum$/.test(id) ? '10' : '60'] });
    expect([...periods.keys()].filter((id) => id.includes('ConcurrentRequests'))).toHaveLength(2);
  });

  test('nothing else changes: every other series is written exactly as without highResolution', () => {
    const others = (text: string) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('#') && line !== '')
        .filter((line) => !HIGH_RESOLUTION_FAMILIES.has(line.split('{')[0] as string) && !line.startsWith('inferwatch_bridge_'));
    expect(others(highDry)).toEqual(others(lowDry));
    expect(others(lowDry).length).toBeGreaterThan(500);
    const count = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`)).length;
    expect(count(highDry, 'aws_sagemaker_concurrent_requests_per_model')).toBe(6 * count(lowDry, 'aws_sagemaker_concurrent_requests_per_model'));
    // Each family still in one piece: promtool reads the exposition without a complaint.
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: highDry, encoding: 'utf8' });
    expect({ status: promtool.status, out: promtool.stdout + promtool.stderr }).toEqual({ status: 0, out: '' });
  });

  test('a deleted endpoint: its 10 s series ends 10 s after its last sample (the stale marker steps by its own period), the 60 s ones 60 s after', async () => {
    const config = join(work, 'high.yaml');
    const lastWritten = end - 10_000;
    standIn.deleteEndpoint('ranker', end);
    const present = async (selector: string, at: number) => (await prometheus.query(selector, at)).length > 0;
    expect(await present('aws_sagemaker_concurrent_requests_per_model{endpoint_name="ranker"}', lastWritten + 11_000)).toBe(true);
    for (const now of [t0 + 8 * MINUTE, t0 + 13 * MINUTE]) {
      const run = await runBridge(['--once', '--config', config, '--state-dir', join(work, 'state'), '--now', String(now)], standIn.env());
      expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    }
    expect(await present('aws_sagemaker_concurrent_requests_per_model{endpoint_name="ranker"}', lastWritten + 9_000)).toBe(true);
    expect(await present('aws_sagemaker_concurrent_requests_per_model{endpoint_name="ranker"}', lastWritten + 11_000)).toBe(false);
    expect(await present('aws_sagemaker_invocations_total{endpoint_name="ranker", instance_id=""}', end - MINUTE + 59_000)).toBe(true);
    expect(await present('aws_sagemaker_invocations_total{endpoint_name="ranker", instance_id=""}', end + 1_000)).toBe(false);
    // The components' copies are not the deleted endpoint's series: they go on every 10 s.
    expect(await present('aws_sagemaker_concurrent_requests_per_copy{inference_component_name="llm-chat"}', end + 5 * MINUTE)).toBe(true);
  });

  test('an unlisted Neuron metric arrives under its generic name, per core, and is logged once at INFO', async () => {
    const found = await prometheus.rawSamples('aws_neuron_matmul_utilization_average[1h]', end - 1);
    expect(found.map((s) => s.metric.neuroncore).sort()).toEqual(['0', '1', '2', '3']);
    for (const s of found) {
      expect(s.metric).toMatchObject({ instance_id: 'i-0823d657f57057590', account_id: ACCOUNT });
      const dims = [{ Name: 'InstanceId', Value: 'i-0823d657f57057590' }, { Name: 'NeuronCore', Value: s.metric.neuroncore as string }];
      expect(s.values.map(([t]) => t)).toEqual(Array.from({ length: (end - first) / MINUTE }, (_, i) => first + i * MINUTE));
      for (const [t, v] of s.values) expect(v).toBe(standIn.valueAt('neuron_monitor', 'MatmulUtilization', dims, 'Average', t));
    }
    const lines = (runs[0]?.stderr ?? '').split('\n').filter((l) => l.includes('INFO') && l.includes('match no catalog entry'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"namespace":"neuron_monitor","metrics":{"MatmulUtilization":"aws_neuron_matmul_utilization_average"}');
  });
});
