import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMetadataRequest, encodeMetadataRequest } from '../../lambda/bridge/remote-write/encode';
import { describeFamilies, loadPromQlMapping } from '../../lambda/bridge/sources/promql/mapping';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { addHistograms, CloudWatchPromQlStandIn, exponentialBound, reduceScale, type ExponentialHistogram, type PromSeriesData } from '../support/stand-ins/cloudwatch-promql-stand-in';

const MINUTE = 60_000;
const ACCOUNT = '123456789012';
const REGION = 'us-east-2';
const SETTLE = 2 * MINUTE;
const LOOKBACK = 15 * MINUTE;

/** Detailed observability of two vLLM endpoints: llm-a on two 2-GPU instances, llm-b on one 1-GPU instance. */
const INSTANCES = [
  { endpoint: 'llm-a', component: 'llama-chat', host: 'i-0a1', az: 'us-east-2a', type: 'ml.g5.12xlarge', gpus: 2 },
  { endpoint: 'llm-a', component: 'llama-chat', host: 'i-0a2', az: 'us-east-2b', type: 'ml.g5.12xlarge', gpus: 2 },
  { endpoint: 'llm-b', component: 'mistral', host: 'i-0b1', az: 'us-east-2a', type: 'ml.g5.2xlarge', gpus: 1 },
] as const;

function resource(i: Readonly<Record<'endpoint' | 'component' | 'host' | 'az' | 'type', string>>): Record<string, string> {
  return {
    'aws.sagemaker.endpoint.name': i.endpoint,
    'aws.sagemaker.variant.name': 'AllTraffic',
    'aws.sagemaker.inference_component.name': i.component,
    'aws.sagemaker.container.id': `${i.host}-c0`,
    '@resource.host.id': i.host,
    '@resource.cloud.availability_zone': i.az,
    '@resource.host.type': i.type,
  };
}

/** Per-period values, a function of the period so that any test run at any hour expects the same. */
const promptTokens = (host: number, p: number) => 100 + ((p / MINUTE) * 7 + host * 13) % 50;
const gpuPercent = (host: number, gpu: number, p: number) => 20 + gpu * 10 + ((p / MINUTE + host) % 40);

/** The TTFTs (seconds) vLLM observed in the 20 s interval ending at `end`: 1 to 6 of them, 10 ms to 12 s. */
const ttfts = (host: number, end: number) => Array.from({ length: 1 + ((end / 20_000 + host) % 6) }, (_, i) => 0.01 * 2 ** (((end / 20_000) * 7 + i * 11 + host * 5) % 80 / 8));

/** OTel's exponential histogram at scale 5 (finer than CloudWatch serves it): bucket i holds (2^(i/32), 2^((i+1)/32)]. */
function exponential(values: readonly number[]): ExponentialHistogram {
  const SCALE = 5;
  const byIndex = new Map<number, number>();
  for (const v of values) {
    const i = Math.ceil(Math.log2(v) * 2 ** SCALE) - 1;
    byIndex.set(i, (byIndex.get(i) ?? 0) + 1);
  }
  const offset = Math.min(...byIndex.keys());
  const counts = Array.from({ length: Math.max(...byIndex.keys()) - offset + 1 }, (_, k) => byIndex.get(offset + k) ?? 0);
  return { scale: SCALE, count: values.length, sum: values.reduce((a, b) => a + b, 0), zeroCount: 0, positive: { offset, bucketCounts: counts } };
}

function fleetSeries(from: number, to: number): PromSeriesData[] {
  const out: PromSeriesData[] = [];
  INSTANCES.forEach((instance, host) => {
    const ttft: Array<[number, ExponentialHistogram]> = [];
    for (let end = from + 20_000; end <= to; end += 20_000) ttft.push([end, exponential(ttfts(host, end))]); // a delta histogram per 20 s
    out.push({ labels: { __name__: 'vllm:time_to_first_token_seconds', ...resource(instance) }, temporality: 'delta', samples: [], histograms: ttft });
    const tokens: Array<[number, number]> = [];
    for (let p = from; p < to; p += MINUTE) tokens.push([p + MINUTE, promptTokens(host, p)]); // a delta: stamped at its interval's end
    out.push({ labels: { __name__: 'vllm:prompt_tokens_total', ...resource(instance) }, temporality: 'delta', samples: tokens });
    for (let gpu = 0; gpu < instance.gpus; gpu++) {
      const util: Array<[number, number]> = [];
      for (let p = from; p < to; p += MINUTE) util.push([p + 30_000, gpuPercent(host, gpu, p)]);
      out.push({ labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', ...resource(instance), gpu: String(gpu) }, temporality: 'gauge', samples: util });
    }
  });
  return out;
}

describe('CloudWatch PromQL source end to end: CLI -> PromQL stand-in -> real Prometheus', () => {
  const aws = new AwsStandIn({ endpoints: [], neuronHosts: [], neuronNamespace: 'neuron_monitor' });
  const promql = new CloudWatchPromQlStandIn(REGION);
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-promql-'));
  const configFile = join(work, 'inferwatch.yaml');
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
  const t1 = t0 + 6 * MINUTE;
  /** The third cycle starts without state (lost): it asks Prometheus where each series stands. */
  const t2 = t1 + 4 * MINUTE;
  const windowEnd = (now: number) => Math.floor((now - SETTLE) / MINUTE) * MINUTE;
  const first = windowEnd(t0) - LOOKBACK;
  const last = windowEnd(t2) - MINUTE;
  /** A period forwarded by the first cycle whose delta CloudWatch revises before the second (late data). */
  const revised = windowEnd(t0) - 3 * MINUTE;
  /** Where a replaced instance's series stops: within the first cycle's window. */
  const stopAt = windowEnd(t0) - 5 * MINUTE;

  let dryRun = '';
  const stderrs: string[] = [];
  const described = describeFamilies(loadPromQlMapping());

  const cycle = async (now: number) => {
    const run = await runBridge(['--once', '--config', configFile, '--state-dir', join(work, 'state'), '--now', String(now)], { ...aws.env(), AWS_REGION: REGION });
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('cycle done') as unknown });
    stderrs.push(run.stderr);
  };

  beforeAll(async () => {
    await Promise.all([aws.start(), promql.start(), prometheus.start()]);
    promql.series.push(...fleetSeries(t0 - 3 * 60 * MINUTE, t1 + 10 * MINUTE));
    // llm-b's first instance, replaced by i-0b1 before these cycles: its GPU stops publishing at `stopAt`.
    const replaced = { ...INSTANCES[2], host: 'i-0b0' };
    const util: Array<[number, number]> = [];
    for (let p = t0 - 3 * 60 * MINUTE; p < stopAt; p += MINUTE) util.push([p + 30_000, 42]);
    promql.series.push({ labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', ...resource(replaced), gpu: '0' }, temporality: 'gauge', samples: util });
    // maxSeriesPerQuery 4: llm-a's four GPUs (3 a query) are split by host, its two hosts read apart.
    writeFileSync(
      configFile,
      `accountId: "${ACCOUNT}"\nsagemakerMetadata: false\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\npromql:\n  enabled: true\n  endpoint: ${promql.url}\n  maxSeriesPerQuery: 4\n`,
    );
    const dry = await runBridge(['--dry-run', '--config', configFile, '--state-dir', join(work, 'dry'), '--now', String(t0)], aws.env());
    expect(dry.code).toBe(0);
    dryRun = dry.stdout;
    await cycle(t0);
    const host0 = promql.series.find((s) => s.labels.__name__ === 'vllm:prompt_tokens_total' && s.labels['@resource.host.id'] === 'i-0a1');
    const late = host0?.samples.find(([t]) => t === revised + MINUTE);
    if (!late) throw new Error('test data has no sample for the revised period');
    late[1] += 1000;
    await cycle(t1);
    rmSync(join(work, 'state'), { recursive: true, force: true });
    await cycle(t2);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([prometheus.stop(), promql.stop(), aws.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  const periods = () => Array.from({ length: (last - first) / MINUTE + 1 }, (_, k) => first + k * MINUTE);

  test('names and labels follow Prometheus conventions, unmapped OTel labels dropped', async () => {
    const gpu = await prometheus.query('sagemaker_gpu_utilization_ratio{instance_id="i-0a2", gpu="1"}', last);
    expect(await prometheus.query('sagemaker_gpu_utilization_ratio{instance_id="i-0b0"}', last)).toEqual([]);
    expect(gpu.map((s) => s.metric)).toEqual([
      {
        __name__: 'sagemaker_gpu_utilization_ratio',
        account_id: ACCOUNT,
        region: REGION,
        endpoint_name: 'llm-a',
        variant_name: 'AllTraffic',
        inference_component_name: 'llama-chat',
        instance_id: 'i-0a2',
        availability_zone: 'us-east-2b',
        instance_type: 'ml.g5.12xlarge',
        gpu: '1',
      },
    ]);
    expect((await prometheus.seriesNames()).filter((n) => n.startsWith('sagemaker_'))).toEqual([
      'sagemaker_gpu_utilization_ratio',
      'sagemaker_llm_prompt_tokens_total',
      'sagemaker_llm_time_to_first_token_seconds_bucket',
      'sagemaker_llm_time_to_first_token_seconds_count',
      'sagemaker_llm_time_to_first_token_seconds_sum',
    ]);
    const tokens = await prometheus.query('sagemaker_llm_prompt_tokens_total{instance_id="i-0b1"}', last);
    expect(tokens.map((s) => s.metric.engine)).toEqual(['vllm']);
  });

  test('every gauge period once, at its period start, in base units: nothing missing, nothing twice', async () => {
    const series = await prometheus.rawSamples('sagemaker_gpu_utilization_ratio{instance_id!="i-0b0"}[3h]', t2);
    expect(series).toHaveLength(5);
    for (const s of series) {
      const host = INSTANCES.findIndex((i) => i.host === s.metric.instance_id);
      expect(s.values.map(([t]) => t)).toEqual(periods());
      expect(s.values.map(([, v]) => v)).toEqual(periods().map((p) => gpuPercent(host, Number(s.metric.gpu), p) * 0.01));
    }
  });

  test('delta counters become cumulative _total counters, exact across cycles, a late revision and a lost state', async () => {
    const series = await prometheus.rawSamples('sagemaker_llm_prompt_tokens_total[3h]', t2);
    expect(series.map((s) => s.metric.instance_id).sort()).toEqual(['i-0a1', 'i-0a2', 'i-0b1']);
    for (const s of series) {
      const host = INSTANCES.findIndex((i) => i.host === s.metric.instance_id);
      // A 0 one period before the first data, so that increase() counts the first period too.
      expect(s.values[0]).toEqual([first - MINUTE, 0]);
      const counted = s.values.slice(1);
      expect(counted.map(([t]) => t)).toEqual(periods());
      let total = 0;
      const expected = periods().map((p) => {
        total += promptTokens(host, p);
        return total;
      });
      // The revision reaches the counter at the second cycle's first new period, never as a second sample.
      const lateAt = windowEnd(t0);
      const withRevision = periods().map((p, k) => (host === 0 && p >= lateAt ? (expected[k] as number) + 1000 : (expected[k] as number)));
      expect(counted.map(([, v]) => v)).toEqual(withRevision);
    }
    // Over the whole range the counter holds the sum of CloudWatch's deltas as they stand now, the revision included.
    const host0 = series.find((s) => s.metric.instance_id === 'i-0a1');
    expect(host0?.values.at(-1)?.[1]).toBe(periods().reduce((sum, p) => sum + promptTokens(0, p), 0) + 1000);
  });

  test('OTel delta histograms become cumulative _bucket{le}, _sum, _count: counts exact, histogram_quantile within the source quantile bucket', async () => {
    // Five periods ending at `last` hold the deltas stamped in (last - 240 s, last + 60 s].
    const served = (host: number) =>
      (promql.series.find((s) => s.labels.__name__ === 'vllm:time_to_first_token_seconds' && s.labels['@resource.host.id'] === INSTANCES[host]?.host)?.histograms ?? [])
        .filter(([t]) => t > last - 4 * MINUTE && t <= last + MINUTE)
        .map(([, h]) => reduceScale(h, promql.histogramMaxScale))
        .reduce(addHistograms);
    const window = (expr: string) => `${expr} - ${expr} offset 5m`;
    for (const [host, instance] of INSTANCES.entries()) {
      const source = served(host);
      const sel = `{instance_id="${instance.host}"}`;
      const [count] = await prometheus.query(window(`sagemaker_llm_time_to_first_token_seconds_count${sel}`), last);
      const [sum] = await prometheus.query(window(`sagemaker_llm_time_to_first_token_seconds_sum${sel}`), last);
      const [inf] = await prometheus.query(window(`sagemaker_llm_time_to_first_token_seconds_bucket{instance_id="${instance.host}",le="+Inf"}`), last);
      expect(count?.value).toBe(source.count);
      expect(inf?.value).toBe(source.count);
      expect(sum?.value).toBeCloseTo(source.sum, 9);
      for (const q of [0.5, 0.9, 0.99]) {
        // The source's own quantile lies in the served bucket where the cumulative count reaches q * count.
        let cumulative = 0;
        const k = source.positive.bucketCounts.findIndex((c) => (cumulative += c) >= q * source.count);
        const upper = exponentialBound(source.positive.offset + k, source.scale);
        // The bridge's bucket holding it: le = the first power of two at or above it (exponent 0).
        const le = 2 ** Math.ceil(Math.log2(upper) - 1e-9);
        const [bridge] = await prometheus.query(`histogram_quantile(${q}, ${window(`sagemaker_llm_time_to_first_token_seconds_bucket${sel}`)})`, last);
        expect(bridge?.value).toBeGreaterThan(le / 2);
        expect(bridge?.value).toBeLessThanOrEqual(le);
      }
    }
    // Every bucket series of every host has every period once, after its 0 baseline: no gap, nothing twice.
    const buckets = await prometheus.rawSamples('sagemaker_llm_time_to_first_token_seconds_bucket[3h]', t2);
    expect(buckets).toHaveLength(3 * 20);
    for (const b of buckets) expect(b.values.map(([t]) => t)).toEqual([first - MINUTE, ...periods()]);
  });

  test('HELP and TYPE of every PromQL family go to the receiver as remote-write metadata, and it accepts them', async () => {
    // The bridge logs a warning when the receiver refuses the metadata request; it never did.
    expect(stderrs.join('')).not.toContain('remote-write metadata not sent');
    const families = decodeMetadataRequest(encodeMetadataRequest(described));
    expect(families).toContainEqual({ type: 'HISTOGRAM', metricFamilyName: 'sagemaker_llm_time_to_first_token_seconds', help: expect.stringContaining('Time to first token') as unknown, unit: '' });
    expect(families).toContainEqual({ type: 'COUNTER', metricFamilyName: 'sagemaker_llm_prompt_tokens_total', help: expect.any(String) as unknown, unit: '' });
    // Prometheus 2.42 (Debian's, the receiver here) accepts remote-write 1.0 metadata but keeps none of it: its
    // /api/v1/metadata answers from scrape targets only. AMP keeps it; this checks the request is well formed.
    const response = await fetch(prometheus.remoteWriteUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' }, body: encodeMetadataRequest(described) });
    expect(response.status).toBe(204);
  });

  test('a series that stops (its instance replaced) gets one stale marker after its last sample: an instant query after it finds nothing', async () => {
    const sel = 'sagemaker_gpu_utilization_ratio{instance_id="i-0b0"}';
    const raw = await prometheus.rawSamples(`${sel}[3h]`, t2);
    expect(raw.map((s) => s.values.at(-1))).toEqual([[stopAt - MINUTE, 0.42]]);
    // Without the marker, Prometheus' 5-minute lookback would still answer 0.42 a minute later.
    expect((await prometheus.query(sel, stopAt - MINUTE + 30_000)).map((s) => s.value)).toEqual([0.42]);
    expect(await prometheus.query(sel, stopAt + 30_000)).toEqual([]);
    expect(await prometheus.query(`count_over_time(${sel}[1h])`, t2)).toEqual([expect.objectContaining({ value: (stopAt - first) / MINUTE })]);
  });

  test('bridge --dry-run prints the PromQL series with their types; promtool check metrics passes', () => {
    expect(dryRun).toContain('# TYPE sagemaker_llm_prompt_tokens_total counter\n');
    expect(dryRun).toContain('# TYPE sagemaker_gpu_utilization_ratio gauge\n');
    // The mapping's HELP, and a histogram's _bucket, _sum and _count as one family.
    expect(dryRun).toContain('# HELP sagemaker_llm_prompt_tokens_total Prompt (input) tokens processed by the inference engine (label engine).\n');
    expect(dryRun).toContain('# TYPE sagemaker_llm_time_to_first_token_seconds histogram\n');
    expect(dryRun.match(/^# TYPE sagemaker_llm_time_to_first_token_seconds/gm)).toHaveLength(1);
    expect(dryRun).toMatch(/^sagemaker_gpu_utilization_ratio\{.*instance_id="i-0b1".*\} 0\.\d+ \d+$/m);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: dryRun, encoding: 'utf8' });
    expect({ status: promtool.status, out: promtool.stdout + promtool.stderr }).toEqual({ status: 0, out: '' });
  });

  test('selections over the series limit are split by label, each series read by exactly one query a window', () => {
    const gpuQueries = promql.callsTo('/api/v1/query_range').filter((c) => c.params.query?.[0]?.includes('DCGM_FI_DEV_GPU_UTIL'));
    const selectors = new Set(gpuQueries.map((c) => c.params.query?.[0]));
    expect([...selectors].sort()).toEqual([
      'last_over_time({"DCGM_FI_DEV_GPU_UTIL", "aws.sagemaker.endpoint.name"="llm-a", "@resource.host.id"=~"i-0a1"}[60s])',
      'last_over_time({"DCGM_FI_DEV_GPU_UTIL", "aws.sagemaker.endpoint.name"="llm-a", "@resource.host.id"=~"i-0a2"}[60s])',
      'last_over_time({"DCGM_FI_DEV_GPU_UTIL", "aws.sagemaker.endpoint.name"=~"llm-b"}[60s])',
    ]);
    expect(promql.calls.every((c) => c.status === 200)).toBe(true);
    // Discovery: GetLabels for the names, then GetSeries only for the mapped metrics the account has (2 of them).
    expect(promql.callsTo('/api/v1/label/__name__/values')).toHaveLength(4);
    expect(promql.callsTo('/api/v1/series').map((c) => c.params['match[]']?.[0]).sort()).toEqual(Array.from({ length: 4 }, () => ['{"DCGM_FI_DEV_GPU_UTIL"}', '{"vllm:prompt_tokens_total"}', '{"vllm:time_to_first_token_seconds"}']).flat().sort());
    expect(promql.callsTo('/api/v1/query_range').every((c) => c.params.limit?.[0] === '4')).toBe(true);
  });
});
