import { loadPromQlMapping } from '../../../lambda/bridge/sources/promql/mapping';
import { CloudWatchPromQlStandIn, exponentialBound, reduceScale, type PromSeriesData } from './cloudwatch-promql-stand-in';
import { defaultLlmFleet, instancePeriod, latencyQuantile, loadFactor, LlmFleetFeed, placementEvents, pooled, quantileBucket, SOURCE_SCALE, ttftLatency, type LlmInstance } from './llm-fleet';
import { STAND_IN_ACCESS_KEY } from './cloudwatch-promql-stand-in';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';

const MINUTE = 60_000;

/** Prometheus' JSON for a native histogram: `buckets` as [boundary rule, lower, upper, count]. */
interface NativeJson {
  readonly count: string;
  readonly sum: string;
  readonly buckets: Array<[number, string, string, string]>;
}
const T0 = Date.UTC(2026, 11, 4, 12, 0);
const SPIKE = { endpoint: 'llm-chat', start: T0 + 30 * MINUTE, end: T0 + 60 * MINUTE };

/**
 * The source metric names of the LLM name contract (docs/promql-source.md and the contract's source column): vLLM V1's
 * on the chat endpoint (with V0's older inter-token name beside the new one, as the deprecation window's releases
 * publish it), V0's on the code endpoint.
 */
const CONTRACT_SOURCES = [
  'vllm:time_to_first_token_seconds',
  'vllm:inter_token_latency_seconds',
  'vllm:time_per_output_token_seconds',
  'vllm:prompt_tokens_total',
  'vllm:generation_tokens_total',
  'vllm:num_requests_waiting',
  'vllm:num_requests_running',
  'vllm:kv_cache_usage_perc',
  'vllm:gpu_cache_usage_perc',
  'DCGM_FI_DEV_GPU_UTIL',
  'DCGM_FI_DEV_FB_USED',
  'DCGM_FI_DEV_FB_FREE',
  'ICECount',
  'E2EScalingLatency',
];

function feed(to: number): PromSeriesData[] {
  const series: PromSeriesData[] = [];
  new LlmFleetFeed(defaultLlmFleet(SPIKE), series, T0).fill(to);
  return series;
}

/** The upper bound of the bucket holding the chat instance's p99 time to first token in the period. */
const ttftP99 = (period: number) => {
  const truth = instancePeriod(defaultLlmFleet(SPIKE), defaultLlmFleet().instances[0] as never, period);
  return quantileBucket(pooled(truth.ttft.map(([, h]) => h)), 0.99)[1];
};

describe('the vLLM fleet of detailed observability', () => {
  test('publishes exactly the contract\'s source metrics, each one the PromQL source maps, counters and histograms as deltas, with SageMaker\'s OTel labels', () => {
    const series = feed(T0 + 90 * MINUTE);
    expect([...new Set(series.map((s) => s.labels.__name__))].sort()).toEqual([...CONTRACT_SOURCES].sort());
    const mapped = new Map(loadPromQlMapping().metrics.map((m) => [m.source, m.type]));
    for (const s of series) {
      const name = s.labels.__name__ ?? '';
      const type = mapped.get(name);
      expect({ name, mapped: type !== undefined }).toEqual({ name, mapped: true });
      // Histograms carry OTel histograms only, the others plain samples only.
      expect({ name, histogram: (s.histograms?.length ?? 0) > 0, samples: s.samples.length > 0 }).toEqual({ name, histogram: type === 'histogram', samples: type !== 'histogram' });
      expect({ name, temporality: s.temporality }).toEqual({ name, temporality: type === 'gauge' ? 'gauge' : 'delta' });
      expect(s.labels['aws.sagemaker.endpoint.name']).toMatch(/^llm-/);
      if (name.startsWith('vllm:') || name.startsWith('DCGM')) expect(Object.keys(s.labels)).toEqual(expect.arrayContaining(['@resource.host.id', '@resource.cloud.availability_zone', '@resource.host.type']));
      if (name.startsWith('DCGM')) expect(s.labels.gpu).toMatch(/^\d$/);
    }
    // The endpoint without inference components carries no component label.
    expect(series.filter((s) => s.labels['aws.sagemaker.endpoint.name'] === 'llm-code').every((s) => !('aws.sagemaker.inference_component.name' in s.labels))).toBe(true);
  });

  test('each period once, a delta stamped at its end; filling again adds only the periods that ended since', () => {
    const series: PromSeriesData[] = [];
    const fleetFeed = new LlmFleetFeed(defaultLlmFleet(SPIKE), series, T0);
    fleetFeed.fill(T0 + 10 * MINUTE + 30_000);
    fleetFeed.fill(T0 + 10 * MINUTE + 59_000);
    fleetFeed.fill(T0 + 12 * MINUTE);
    const tokens = series.find((s) => s.labels.__name__ === 'vllm:prompt_tokens_total' && s.labels['@resource.host.id'] === 'i-0c4a1e5f0b7d2a001');
    expect(tokens?.samples.map(([t]) => (t - T0) / MINUTE)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  test('histograms: three deltas a period within it, at the SDK\'s scale, whole counts adding up to the period\'s observations; the spike lifts p99 time to first token far above 2 s', () => {
    const fleet = defaultLlmFleet(SPIKE);
    for (const instance of fleet.instances) {
      for (let p = T0; p < T0 + 90 * MINUTE; p += MINUTE) {
        const truth = instancePeriod(fleet, instance, p);
        for (const [histograms, observations] of [[truth.ttft, truth.requests], [truth.itl, truth.outputIntervals]] as const) {
          expect(histograms.map(([t]) => t - p)).toEqual([20_000, 40_000, 60_000]);
          for (const [, h] of histograms) {
            expect(h.scale).toBe(SOURCE_SCALE);
            expect(h.positive.bucketCounts.every((c) => Number.isInteger(c) && c >= 0)).toBe(true);
            expect(h.positive.bucketCounts.reduce((a, b) => a + b, h.zeroCount)).toBe(h.count);
          }
          expect(pooled(histograms.map(([, h]) => h)).count).toBe(observations);
        }
      }
    }
    // Served as CloudWatch serves them (scale 3): the quantile's bucket still brackets the distribution's quantile.
    const chat = fleet.instances[0] as LlmInstance;
    const calm = instancePeriod(fleet, chat, T0 + 10 * MINUTE);
    const [lower, upper] = quantileBucket(reduceScale(pooled(calm.ttft.map(([, h]) => h)), 3), 0.5);
    const median = latencyQuantile(ttftLatency(false, loadFactor(chat, T0 + 10 * MINUTE)), 0.5);
    expect(lower).toBeLessThan(median * 1.01);
    expect(upper).toBeGreaterThan(median * 0.99);
    expect(ttftP99(T0 + 10 * MINUTE)).toBeLessThan(2);
    expect(ttftP99(SPIKE.start + 5 * MINUTE)).toBeGreaterThan(5);
    const events = placementEvents(fleet);
    expect(events && events.scalingSeconds > 900).toBe(true);
  });

  test('the PromQL stand-in serves it: a period\'s delta sum is the truth of that period, histograms as native ones at its scale', async () => {
    const promql = new CloudWatchPromQlStandIn('us-east-2');
    await promql.start();
    const signer = new SignatureV4({ service: 'monitoring', region: 'us-east-2', credentials: { accessKeyId: STAND_IN_ACCESS_KEY, secretAccessKey: 'stand-in-secret' }, sha256: Sha256 });
    const query = async (promqlText: string, at: number) => {
      const url = new URL(`${promql.url}/api/v1/query`);
      url.search = new URLSearchParams({ query: promqlText, time: String(at / 1000) }).toString();
      const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { host: url.host } });
      return ((await (await fetch(url, { headers: signed.headers as Record<string, string> })).json()) as { data: { result: Array<{ value?: [number, string]; histogram?: [number, NativeJson] }> } }).data.result;
    };
    try {
      promql.series.push(...feed(T0 + 20 * MINUTE));
      const p = T0 + 5 * MINUTE;
      const fleet = defaultLlmFleet(SPIKE);
      const instance = fleet.instances[2] as LlmInstance;
      const tokens = await query('sum_over_time({"vllm:prompt_tokens_total", "@resource.host.id"="i-0c4a1e5f0b7d2a003"}[60s])', p + MINUTE);
      expect(tokens.map((r) => Number(r.value?.[1]))).toEqual([instancePeriod(fleet, instance, p).promptTokens]);
      // The period's three deltas, added and served at the stand-in's scale (3): every bucket (2^(i/8), 2^((i+1)/8)].
      const ttft = await query('sum_over_time({"vllm:time_to_first_token_seconds", "@resource.host.id"="i-0c4a1e5f0b7d2a003"}[60s])', p + MINUTE);
      const truth = reduceScale(pooled(instancePeriod(fleet, instance, p).ttft.map(([, h]) => h)), promql.histogramMaxScale);
      expect(ttft.map((r) => r.value)).toEqual([undefined]);
      const served = ttft[0]?.histogram?.[1];
      expect(Number(served?.count)).toBe(truth.count);
      expect(Number(served?.sum)).toBeCloseTo(truth.sum, 9);
      const expected = truth.positive.bucketCounts.flatMap((c, k) => (c > 0 ? [[exponentialBound(truth.positive.offset + k - 1, truth.scale), exponentialBound(truth.positive.offset + k, truth.scale), c]] : []));
      expect(served?.buckets.map(([rule, lower, upper, count]) => [rule, Number(lower), Number(upper), Number(count)])).toEqual(expected.map(([lower, upper, c]) => [0, expect.closeTo(lower as number, 12), expect.closeTo(upper as number, 12), c]));
    } finally {
      await promql.stop();
    }
  });
});
