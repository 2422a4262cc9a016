import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_BUCKETS, formatLe } from '../../lambda/bridge/catalog/catalog';
import { decodeMetadataRequest } from '../../lambda/bridge/remote-write/encode';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { bridgeWindows, fillBridgeWindows } from '../../lib/prometheus-workspace/alert-rules';
import { interpolate, panelsOf } from '../../demo/demo-charts';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { FLEET_REGION, type Dimension, type FleetEndpoint } from '../support/stand-ins/fleet';
import { LocalPrometheus, type PromSample } from '../support/harness/prometheus';
import { RecordingReceiver } from '../support/harness/recording-receiver';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const SM = 'AWS/SageMaker';
const LES = [...DEFAULT_BUCKETS.map(formatLe), '+Inf'];
/** The per-variant set, as every shipped query selects it. */
const ONE_SET = 'instance_id="", availability_zone=""';
/** The per-zone set: the same requests again, by zone. */
const ZONE_SET = 'availability_zone!=""';
const ZONES = ['us-east-2a', 'us-east-2b', 'us-east-2c'];

/** A streaming LLM endpoint over three zones (two variants, one with fewer instances than zones), a classifier over two. */
const ENDPOINTS: FleetEndpoint[] = [
  {
    name: 'chat-llm',
    streaming: true,
    zones: ZONES,
    variants: [
      { name: 'blue', instanceType: 'ml.g5.12xlarge', instances: 4, weight: 0.8 },
      { name: 'green', instanceType: 'ml.g5.2xlarge', instances: 2, weight: 0.2 },
    ],
  },
  { name: 'image-classifier', zones: ZONES.slice(0, 2), variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.xlarge', instances: 3, weight: 1 }] },
];
const dims = (endpoint: string, variant: string): Dimension[] => [
  { Name: 'EndpointName', Value: endpoint },
  { Name: 'VariantName', Value: variant },
];

/** The zonal families the bridge writes (histogram mode) for invocations, errors and latencies. */
const ZONAL_FAMILIES = [
  'aws_sagemaker_invocations_total',
  'aws_sagemaker_invocation_4xx_errors_total',
  'aws_sagemaker_invocation_5xx_errors_total',
  'aws_sagemaker_model_latency_seconds',
  'aws_sagemaker_overhead_latency_seconds',
  'aws_sagemaker_first_chunk_latency_seconds',
];

/**
 * `expr` with every selector of a zonal family choosing `sets` instead of what it chose: the shipped queries read
 * again from the per-zone series (or from every set at once).
 */
function onSets(expr: string, sets: string): string {
  return expr.replace(/\b(aws_sagemaker_[a-z0-9_]+)\{([^}]*)\}/g, (selector, name: string, matchers: string) => {
    if (!ZONAL_FAMILIES.some((f) => name.startsWith(f))) return selector;
    const kept = matchers.split(',').map((m) => m.trim()).filter((m) => m !== '' && !/^(instance_id|availability_zone)\s*(=|!=)/.test(m));
    return `${name}{${[...kept, sets].join(', ')}}`;
  });
}

/** The histogram bucket a value falls in: the index of the first edge at or above it. */
const bucketOf = (value: number) => [...DEFAULT_BUCKETS, Infinity].findIndex((edge) => value <= edge);

const byLabels = (samples: readonly PromSample[]) => new Map(samples.map((s) => [JSON.stringify(Object.entries(s.metric).sort()), s.value]));

describe('streaming metrics and every dimension set, end to end: stand-in -> bridge -> a real Prometheus', () => {
  const t0 = Math.floor((Date.now() - 90 * MINUTE) / (7 * MINUTE)) * 7 * MINUTE;
  const standIn = new AwsStandIn({ endpoints: ENDPOINTS, neuronHosts: [], neuronNamespace: 'neuron_monitor', latencySeedEpoch: (t0 - 17 * MINUTE) / 1000 });
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-zones-'));
  const configFile = join(work, 'inferwatch.yaml');
  // Two cycles: [t0 - 17m, t0 - 2m), then up to t0 + 8m.
  const start = t0 - 17 * MINUTE;
  const last = t0 + 7 * MINUTE;
  const periods = Array.from({ length: (last - start) / MINUTE + 1 }, (_, i) => start + i * MINUTE);
  // Rules and dashboards read 15-minute windows ending 10 minutes back: evaluated here, the window ends at `last`.
  const evalAt = last + 10 * MINUTE;
  let env: Record<string, string>;

  const bridge = (now: number) => runBridge(['--once', '--config', configFile, '--state-dir', join(work, 'state'), '--now', String(now)], env);
  const at = async (promql: string) => prometheus.query(promql, evalAt);
  const truth = (endpoint: FleetEndpoint, metricName: string, stat: string) =>
    endpoint.variants.reduce((n, v) => n + periods.reduce((m, t) => m + (standIn.valueAt(SM, metricName, dims(endpoint.name, v.name), stat, t) ?? 0), 0), 0);

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    env = standIn.env();
    writeFileSync(configFile, `namespaces: [AWS/SageMaker]\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
    expect((await bridge(t0)).code).toBe(0);
    expect((await bridge(t0 + 10 * MINUTE)).code).toBe(0);
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('the per-zone set arrives with availability_zone and instance_type beside the per-variant set, and the bridge region', async () => {
    const series = await at(`last_over_time(aws_sagemaker_invocations_total{endpoint_name="chat-llm", variant_name="blue"}[1h])`);
    const labelSets = series.map((s) => Object.keys(s.metric).filter((k) => k !== 'account_id' && k !== '__name__').sort().join(','));
    expect(labelSets.sort()).toEqual([
      'availability_zone,endpoint_name,instance_type,region,variant_name',
      'availability_zone,endpoint_name,instance_type,region,variant_name',
      'availability_zone,endpoint_name,instance_type,region,variant_name',
      'endpoint_name,region,variant_name',
    ]);
    const zonal = series.filter((s) => s.metric.availability_zone !== undefined);
    expect(zonal.map((s) => s.metric.availability_zone).sort()).toEqual(ZONES);
    for (const s of zonal) expect(s.metric).toMatchObject({ instance_type: 'ml.g5.12xlarge', region: FLEET_REGION });
    // Green's two instances sit in two of the three zones: the third publishes nothing for it.
    const green = await at(`last_over_time(aws_sagemaker_invocations_total{endpoint_name="chat-llm", variant_name="green", ${ZONE_SET}}[1h])`);
    expect(green.map((s) => s.metric.availability_zone).sort()).toEqual(ZONES.slice(0, 2));
  });

  test('per endpoint, the per-variant set and the sum over the zones both equal CloudWatch per-variant truth; both together count it twice', async () => {
    for (const endpoint of ENDPOINTS.filter((e) => e.zones)) {
      for (const [family, metricName] of [
        ['aws_sagemaker_invocations_total', 'Invocations'],
        ['aws_sagemaker_invocation_4xx_errors_total', 'Invocation4XXErrors'],
        ['aws_sagemaker_model_latency_seconds_count', 'ModelLatency'],
      ] as const) {
        const stat = metricName === 'ModelLatency' ? 'SampleCount' : 'Sum';
        const expected = truth(endpoint, metricName, stat);
        expect(expected).toBeGreaterThan(0);
        const sum = async (matchers: string) => (await at(`sum(last_over_time(${family}{endpoint_name="${endpoint.name}", ${matchers}}[1h]))`))[0]?.value;
        expect(await sum(ONE_SET)).toBeCloseTo(expected, 6);
        expect(await sum(ZONE_SET)).toBeCloseTo(expected, 6);
        expect(await sum('endpoint_name!=""')).toBeCloseTo(2 * expected, 6);
      }
      // Each bucket too. CloudWatch's TC counts values in bins about 2 % wide and a bound inside a bin counts part of
      // it, from each set's own values: the zones' buckets add up to the variant's within that approximation.
      for (const [i, edge] of [...DEFAULT_BUCKETS, Infinity].entries()) {
        const stat = edge === Infinity ? 'SampleCount' : `TC(:${edge * 1e6})`;
        const expected = truth(endpoint, 'ModelLatency', stat);
        const buckets = async (matchers: string) => (await at(`sum(last_over_time(aws_sagemaker_model_latency_seconds_bucket{endpoint_name="${endpoint.name}", le="${LES[i]}", ${matchers}}[1h]))`))[0]?.value ?? NaN;
        expect(await buckets(ONE_SET)).toBeCloseTo(expected, 6);
        expect(Math.abs((await buckets(ZONE_SET)) - expected)).toBeLessThanOrEqual(0.01 * expected + 1);
      }
    }
  });

  test("every recording rule and dashboard query of a zonal family gives the same answer from the per-zone set, and a wrong one from both", async () => {
    const windows = bridgeWindows();
    const rules = (parseYaml(fillBridgeWindows(readFileSync(join(__dirname, '../../lib/prometheus-workspace/inferwatch.rules.yaml'), 'utf8'), windows)) as { groups: Array<{ rules: Array<{ record: string; expr: string }> }> }).groups.flatMap((g) =>
      g.rules.map((r) => ({ where: `rule ${r.record}`, expr: r.expr })),
    );
    const panels = panelsOf(allDashboards()).flatMap(({ dashboard, panel }) => (panel.targets ?? []).map((t) => ({ where: `panel ${dashboard.uid ?? ''} / ${panel.title ?? ''}`, expr: interpolate(t.expr ?? '', dashboard) })));
    const zonal = [...rules, ...panels].filter(({ expr }) => ZONAL_FAMILIES.some((f) => expr.includes(f)) && !expr.includes('inference_component_name!=""'));
    expect(zonal.length).toBeGreaterThan(20);
    let compared = 0;
    let doubled = 0;
    for (const { where, expr } of zonal) {
      const answer = byLabels(await at(expr));
      const fromZones = byLabels(await at(onSets(expr, ZONE_SET)));
      const fromBoth = byLabels(await at(onSets(expr, 'instance_id=""')));
      expect({ where, keys: [...fromZones.keys()].sort() }).toEqual({ where, keys: [...answer.keys()].sort() });
      for (const [key, value] of answer) {
        if (!Number.isFinite(value)) continue;
        // Counts and sums are exact. Quantiles from buckets differ by CloudWatch's TC approximation (see above), which
        // moves the interpolation inside a bucket: both answers lie in the same bucket.
        const other = fromZones.get(key) ?? NaN;
        const agrees = expr.includes('_bucket') ? bucketOf(other) === bucketOf(value) : Math.abs(other - value) <= 1e-9 * Math.max(1, Math.abs(value));
        expect({ where, key, value, other, agrees }).toEqual({ where, key, value, other, agrees: true });
        compared++;
      }
      // Without the choice of a set, counts double (ratios and quantiles of doubled counts need not move; a query by
      // zone chose the per-zone set and groups by zone, so it has nothing to double).
      if (expr.includes(ONE_SET) && /sum .*\(rate\(aws_sagemaker_invocations_total/.test(expr) && !expr.includes(' / ')) {
        for (const [key, value] of answer) if (value > 0) expect(fromBoth.get(key)).toBeCloseTo(2 * value, 6);
        doubled++;
      }
    }
    expect(compared).toBeGreaterThan(20);
    expect(doubled).toBeGreaterThan(3);
  });

  test('the per-endpoint request rate of the rules equals the per-variant truth over the window', async () => {
    const windowStart = last - 15 * MINUTE;
    for (const endpoint of ENDPOINTS) {
      // The window holds a sample at each end, 15 minutes apart: the increase is the Invocations of the 15 periods
      // after the first sample, over 900 s.
      const requests = endpoint.variants.reduce((n, v) => n + periods.filter((t) => t > windowStart && t <= last).reduce((m, t) => m + (standIn.valueAt(SM, 'Invocations', dims(endpoint.name, v.name), 'Sum', t) ?? 0), 0), 0);
      const [rule] = await at(
        fillBridgeWindows(`sum by (endpoint_name) (rate(aws_sagemaker_invocations_total{endpoint_name="${endpoint.name}", ${ONE_SET}}[\${window}] offset \${offset}))`, bridgeWindows()),
      );
      expect(rule?.value).toBeCloseTo(requests / (15 * 60), 6);
    }
  });

  test('the streaming families: FirstChunk* histograms in seconds, MidStreamErrors a _total counter, per variant and per zone', async () => {
    const llm = ENDPOINTS[0] as FleetEndpoint;
    for (const [family, metricName] of [
      ['aws_sagemaker_first_chunk_latency_seconds', 'FirstChunkLatency'],
      ['aws_sagemaker_first_chunk_model_latency_seconds', 'FirstChunkModelLatency'],
      ['aws_sagemaker_first_chunk_overhead_latency_seconds', 'FirstChunkOverheadLatency'],
    ] as const) {
      const buckets = await at(`last_over_time(${family}_bucket{endpoint_name="chat-llm", variant_name="blue", ${ONE_SET}}[1h])`);
      expect(buckets.map((s) => s.metric.le).sort()).toEqual([...LES].sort());
      for (const matchers of [ONE_SET, ZONE_SET]) {
        const value = async (suffix: string) => (await at(`sum(last_over_time(${family}${suffix}{endpoint_name="chat-llm", ${matchers}}[1h]))`))[0]?.value;
        expect(await value('_count')).toBeCloseTo(truth(llm, metricName, 'SampleCount'), 6);
        // Microseconds in CloudWatch, seconds here.
        expect(await value('_sum')).toBeCloseTo(truth(llm, metricName, 'Sum') * 1e-6, 3);
        expect(await value('_bucket')).toBeGreaterThan(0);
      }
    }
    // The time to the first chunk is the model's share plus SageMaker's, request by request.
    const sumOf = async (family: string) => (await at(`sum(last_over_time(${family}_sum{endpoint_name="chat-llm", ${ONE_SET}}[1h]))`))[0]?.value ?? NaN;
    expect(await sumOf('aws_sagemaker_first_chunk_latency_seconds')).toBeCloseTo(
      (await sumOf('aws_sagemaker_first_chunk_model_latency_seconds')) + (await sumOf('aws_sagemaker_first_chunk_overhead_latency_seconds')),
      3,
    );
    // A p99 time to first chunk in the slow profile's range: hundreds of milliseconds, not microseconds.
    const [p99] = await at(`histogram_quantile(0.99, sum by (le) (rate(aws_sagemaker_first_chunk_latency_seconds_bucket{endpoint_name="chat-llm", ${ONE_SET}}[15m] offset 10m)))`);
    expect(p99?.value).toBeGreaterThan(0.1);
    expect(p99?.value).toBeLessThan(10);
    // MidStreamErrors has the per-variant set only.
    const errors = await at(`last_over_time(aws_sagemaker_mid_stream_errors_total{endpoint_name="chat-llm"}[1h])`);
    expect(errors.map((s) => s.metric.variant_name).sort()).toEqual(['blue', 'green']);
    expect(errors.every((s) => s.metric.availability_zone === undefined)).toBe(true);
    expect(errors.reduce((n, s) => n + s.value, 0)).toBe(truth(llm, 'MidStreamErrors', 'Sum'));
    expect(truth(llm, 'MidStreamErrors', 'Sum')).toBeGreaterThan(0);
    // Endpoints that do not stream publish none.
    expect(await at(`aws_sagemaker_first_chunk_latency_seconds_count{endpoint_name!="chat-llm"}`)).toEqual([]);
  });

  test('remote-write metadata: the FirstChunk families are histograms, MidStreamErrors a counter, each with HELP', async () => {
    const receiver = await new RecordingReceiver().start();
    try {
      const config = join(work, 'recorded.yaml');
      writeFileSync(config, `namespaces: [AWS/SageMaker]\nremoteWrite:\n  url: ${receiver.url}\n`);
      const run = await runBridge(['--once', '--config', config, '--state-dir', join(work, 'recorded-state'), '--now', String(t0)], env);
      expect(run.code).toBe(0);
      const metadata = receiver.bodies.flatMap((body) => decodeMetadataRequest(body));
      const of = (family: string) => metadata.find((m) => m.metricFamilyName === family);
      for (const [family, metric] of [
        ['aws_sagemaker_first_chunk_latency_seconds', 'FirstChunkLatency'],
        ['aws_sagemaker_first_chunk_model_latency_seconds', 'FirstChunkModelLatency'],
        ['aws_sagemaker_first_chunk_overhead_latency_seconds', 'FirstChunkOverheadLatency'],
      ] as const) {
        expect(of(family)).toEqual({ type: 'HISTOGRAM', metricFamilyName: family, help: expect.stringContaining(`CloudWatch AWS/SageMaker ${metric}, statistics TC(:le) per bucket, SampleCount, Sum; CloudWatch unit Microseconds`) as unknown, unit: '' });
      }
      expect(of('aws_sagemaker_mid_stream_errors_total')).toEqual({
        type: 'COUNTER',
        metricFamilyName: 'aws_sagemaker_mid_stream_errors_total',
        help: expect.stringMatching(/^Streamed responses that failed after they started .*CloudWatch AWS\/SageMaker MidStreamErrors, statistic Sum/) as unknown,
        unit: '',
      });
    } finally {
      await receiver.stop();
    }
  });
});
