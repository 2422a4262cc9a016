import { addHistograms, exponentialBound, type ExponentialHistogram, type PromSeriesData } from './cloudwatch-promql-stand-in';

/**
 * vLLM endpoints as SageMaker AI detailed observability publishes them to CloudWatch, for the PromQL stand-in: the
 * source series of the LLM name contract (vLLM's `vllm:*` metrics, DCGM's GPU metrics, ICECount and
 * E2EScalingLatency), with the labels the SageMaker OpenTelemetry reference lists
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/inference-monitoring.md). Counters and histograms are OTel deltas,
 * each sample the amount of the interval ending at its timestamp; histograms are OTel exponential histograms, which
 * the stand-in serves as CloudWatch does. Gauges are sampled mid-period. Every value is a function of the period, so
 * a test or the demo can ask for the truth of any minute.
 *
 * Load follows a 40-minute wave. During `spike` one endpoint's time to first token jumps (the demo's incident): its
 * queue grows, its KV cache fills, SageMaker scales it out, meets insufficient capacity once, and reports how long the
 * scale-out took.
 */

const MINUTE = 60_000;
/** An A10G's framebuffer as DCGM reports it, MiB. */
const GPU_MIB = 23_028;
/** vLLM's default --gpu-memory-utilization: what it reserves of each GPU at start. */
const VLLM_RESERVATION = 0.9;

export interface LlmInstance {
  readonly endpoint: string;
  readonly variant: string;
  /** Absent on an endpoint that hosts its model without inference components. */
  readonly component?: string;
  readonly instanceId: string;
  readonly zone: string;
  readonly instanceType: string;
  readonly gpus: number;
  /** Requests a minute at the wave's mean. */
  readonly requestsPerMinute: number;
  /** The vLLM engine's metric names: V0's, or V1's (which renamed two of them). */
  readonly vllm: 'v0' | 'v1';
}

/**
 * The names an engine publishes where V0 and V1 differ. V1 renamed `gpu_cache_usage_perc` to `kv_cache_usage_perc` and
 * `time_per_output_token_seconds` to `inter_token_latency_seconds`; the releases of the deprecation window publish the
 * old histogram beside the new one, with the same observations (the PromQL source reads the new name only).
 */
const VLLM_NAMES = {
  v0: { kvCache: 'vllm:gpu_cache_usage_perc', itl: ['vllm:time_per_output_token_seconds'] },
  v1: { kvCache: 'vllm:kv_cache_usage_perc', itl: ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds'] },
} as const;

export interface LlmSpike {
  readonly endpoint: string;
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
}

export interface LlmFleet {
  readonly instances: readonly LlmInstance[];
  readonly spike?: LlmSpike;
}

/**
 * Two vLLM endpoints: a chat model as an inference component on two instances (vLLM V1), a code model on one, alone
 * (vLLM V0).
 */
export function defaultLlmFleet(spike?: LlmSpike): LlmFleet {
  const chat = { endpoint: 'llm-chat', variant: 'AllTraffic', component: 'llama-3-8b-chat', instanceType: 'ml.g5.12xlarge', gpus: 2, requestsPerMinute: 240, vllm: 'v1' } as const;
  return {
    instances: [
      { ...chat, instanceId: 'i-0c4a1e5f0b7d2a001', zone: 'us-east-2a' },
      { ...chat, instanceId: 'i-0c4a1e5f0b7d2a002', zone: 'us-east-2b' },
      { endpoint: 'llm-code', variant: 'AllTraffic', instanceId: 'i-0c4a1e5f0b7d2a003', zone: 'us-east-2a', instanceType: 'ml.g5.2xlarge', gpus: 1, requestsPerMinute: 90, vllm: 'v0' },
    ],
    spike,
  };
}

/** Load over the wave's mean, 0.4 to 1.6: a 40-minute wave, shifted per instance so the lines do not coincide. */
export function loadFactor(instance: LlmInstance, period: number): number {
  const phase = [...instance.instanceId].reduce((n, c) => n + c.charCodeAt(0), 0) % 7;
  return 1 + 0.6 * Math.sin((2 * Math.PI * (period / MINUTE + phase * 3)) / 40);
}

function inSpike(fleet: LlmFleet, instance: LlmInstance, period: number): boolean {
  const spike = fleet.spike;
  return spike !== undefined && spike.endpoint === instance.endpoint && period >= spike.start && period < spike.end;
}

/**
 * A latency distribution: log-logistic, so its CDF has a closed form. `median` in seconds; the larger `shape`, the
 * thinner the tail (the p99 is `median * 99^(1/shape)`).
 */
export interface Latency {
  readonly median: number;
  readonly shape: number;
}

export function latencyCdf(latency: Latency, x: number): number {
  return x <= 0 ? 0 : 1 / (1 + (x / latency.median) ** -latency.shape);
}

export function latencyQuantile(latency: Latency, q: number): number {
  return latency.median * (q / (1 - q)) ** (1 / latency.shape);
}

/** Time to first token. Calm: a median of 200-260 ms, growing with the load. Spike: requests queue for seconds. */
export function ttftLatency(spiking: boolean, load: number): Latency {
  return spiking ? { median: 2.4, shape: 3.5 } : { median: 0.22 * (0.8 + 0.25 * load), shape: 4 };
}

/** Time between output tokens: larger batches decode slower. */
export function itlLatency(spiking: boolean, load: number): Latency {
  return spiking ? { median: 0.05, shape: 4 } : { median: 0.03 * (0.85 + 0.2 * load), shape: 5 };
}

/**
 * The scale the collector's OTel SDK records histograms at: the finest at which these distributions fit the SDK's
 * default 160 buckets. CloudWatch serves them coarser (the PromQL stand-in's `histogramMaxScale`, 3).
 */
export const SOURCE_SCALE = 4;
/** Each instance's collector publishes every 20 s (`MetricPublishFrequencyInSeconds`): three deltas a period. */
const PUBLISH_EVERY_MS = 20_000;
const DELTAS_PER_PERIOD = MINUTE / PUBLISH_EVERY_MS;
/** The tails left out of a histogram's bucket range; their few observations go to the edge buckets. */
const TAIL = 1e-4;

/**
 * `n` observations of `latency` as an OTel exponential histogram at SOURCE_SCALE: whole counts in each bucket
 * (base^i, base^(i+1)], the sum at each bucket's midpoint (consistent with the buckets, as an engine's sum is).
 */
export function exponentialOf(latency: Latency, n: number): ExponentialHistogram {
  const perOctave = 2 ** SOURCE_SCALE;
  const first = Math.floor(Math.log2(latencyQuantile(latency, TAIL)) * perOctave);
  const last = Math.ceil(Math.log2(latencyQuantile(latency, 1 - TAIL)) * perOctave);
  const counts: number[] = [];
  let below = 0;
  let sum = 0;
  for (let i = first; i <= last; i++) {
    const upper = exponentialBound(i, SOURCE_SCALE);
    const atOrBelow = i === last ? n : Math.round(n * latencyCdf(latency, upper));
    counts.push(atOrBelow - below);
    sum += (atOrBelow - below) * ((exponentialBound(i - 1, SOURCE_SCALE) + upper) / 2);
    below = atOrBelow;
  }
  return { scale: SOURCE_SCALE, count: n, sum, zeroCount: 0, positive: { offset: first, bucketCounts: counts } };
}

/** The histograms of one instance's period as it publishes them: a delta per publish interval, stamped at its end. */
function deltas(latency: Latency, n: number, period: number): Array<[number, ExponentialHistogram]> {
  return Array.from({ length: DELTAS_PER_PERIOD }, (_, k) => {
    const share = Math.floor(((k + 1) * n) / DELTAS_PER_PERIOD) - Math.floor((k * n) / DELTAS_PER_PERIOD);
    return [period + (k + 1) * PUBLISH_EVERY_MS, exponentialOf(latency, share)];
  });
}

/** What one instance did in the period starting at `period`: the truth the series are made of. */
export interface InstancePeriod {
  readonly requests: number;
  readonly promptTokens: number;
  readonly generationTokens: number;
  /** Time to first token of the period's requests: its published deltas, stamped within the period. */
  readonly ttft: ReadonlyArray<[number, ExponentialHistogram]>;
  /** Time between output tokens: `outputIntervals` observations. */
  readonly itl: ReadonlyArray<[number, ExponentialHistogram]>;
  readonly outputIntervals: number;
  readonly running: number;
  readonly waiting: number;
  readonly kvCache: number;
  readonly gpuUtilPercent: number;
  readonly gpuUsedMib: number;
}

export function instancePeriod(fleet: LlmFleet, instance: LlmInstance, period: number): InstancePeriod {
  const load = loadFactor(instance, period);
  const spiking = inSpike(fleet, instance, period);
  const requests = Math.round(instance.requestsPerMinute * load * (spiking ? 1.5 : 1));
  const generationTokens = requests * 180;
  const minutesIntoSpike = spiking && fleet.spike ? (period - fleet.spike.start) / MINUTE : 0;
  return {
    requests,
    promptTokens: requests * 620,
    generationTokens,
    ttft: deltas(ttftLatency(spiking, load), requests, period),
    itl: deltas(itlLatency(spiking, load), generationTokens - requests, period),
    outputIntervals: generationTokens - requests,
    running: Math.min(64, Math.round(requests / 6)),
    waiting: spiking ? Math.round(6 + 4 * minutesIntoSpike) : Math.round(Math.max(0, load - 1.3) * 10),
    kvCache: spiking ? Math.min(0.99, 0.9 + 0.01 * minutesIntoSpike) : 0.25 + 0.35 * load,
    gpuUtilPercent: Math.min(100, Math.round(spiking ? 97 : 35 + 35 * load)),
    gpuUsedMib: Math.round(GPU_MIB * VLLM_RESERVATION + 300 * load),
  };
}

/** Placement events of the spiking endpoint: one insufficient-capacity error and the scale-out's duration. */
export function placementEvents(fleet: LlmFleet): { readonly iceAt: number; readonly scaledAt: number; readonly scalingSeconds: number } | undefined {
  const spike = fleet.spike;
  if (!spike) return undefined;
  const iceAt = spike.start + 3 * MINUTE;
  return { iceAt, scaledAt: iceAt + 14 * MINUTE, scalingSeconds: 1260 };
}

/** The OTel resource and datapoint attributes of an instance, as CloudWatch's PromQL API names them. */
function resource(instance: LlmInstance): Record<string, string> {
  return {
    'aws.sagemaker.endpoint.name': instance.endpoint,
    'aws.sagemaker.variant.name': instance.variant,
    ...(instance.component === undefined ? {} : { 'aws.sagemaker.inference_component.name': instance.component }),
    'aws.sagemaker.container.id': `${instance.instanceId}-vllm`,
    '@resource.host.id': instance.instanceId,
    '@resource.cloud.availability_zone': instance.zone,
    '@resource.host.type': instance.instanceType,
  };
}

/**
 * Appends each period's samples to the stand-in's series as the periods complete. Histograms are OTel exponential
 * histograms in delta temporality, three a period (one a publish interval), as the PromQL stand-in takes them: it
 * serves them as CloudWatch does (native histograms, reduced to its `histogramMaxScale`), so what the bridge reads of
 * them is exactly what it would read of any other OTel histogram.
 */
export class LlmFleetFeed {
  private readonly byKey = new Map<string, PromSeriesData>();
  /** Periods before this one are in the series. */
  private next: number;

  constructor(
    readonly fleet: LlmFleet,
    private readonly target: PromSeriesData[],
    /** Epoch ms of the first period, aligned to the minute. */
    from: number,
  ) {
    this.next = Math.floor(from / MINUTE) * MINUTE;
  }

  /** Writes every period that ended by `now`. */
  fill(now: number): void {
    for (; this.next + MINUTE <= now; this.next += MINUTE) this.period(this.next);
  }

  private period(p: number): void {
    const end = p + MINUTE;
    const mid = p + MINUTE / 2;
    for (const instance of this.fleet.instances) {
      const truth = instancePeriod(this.fleet, instance, p);
      const where = resource(instance);
      const names = VLLM_NAMES[instance.vllm];
      this.add('vllm:prompt_tokens_total', where, 'delta', end, truth.promptTokens);
      this.add('vllm:generation_tokens_total', where, 'delta', end, truth.generationTokens);
      this.histograms('vllm:time_to_first_token_seconds', where, truth.ttft);
      for (const name of names.itl) this.histograms(name, where, truth.itl);
      this.add('vllm:num_requests_running', where, 'gauge', mid, truth.running);
      this.add('vllm:num_requests_waiting', where, 'gauge', mid, truth.waiting);
      this.add(names.kvCache, where, 'gauge', mid, truth.kvCache);
      for (let gpu = 0; gpu < instance.gpus; gpu++) {
        const labels = { ...where, gpu: String(gpu) };
        this.add('DCGM_FI_DEV_GPU_UTIL', labels, 'gauge', mid, truth.gpuUtilPercent - gpu * 3);
        this.add('DCGM_FI_DEV_FB_USED', labels, 'gauge', mid, truth.gpuUsedMib);
        this.add('DCGM_FI_DEV_FB_FREE', labels, 'gauge', mid, GPU_MIB - truth.gpuUsedMib);
      }
    }
    this.placement(p, end);
  }

  private placement(p: number, end: number): void {
    const events = placementEvents(this.fleet);
    const spike = this.fleet.spike;
    if (!events || !spike) return;
    const where = { 'aws.sagemaker.endpoint.name': spike.endpoint, 'aws.sagemaker.variant.name': 'AllTraffic' };
    if (p === events.iceAt) this.add('ICECount', where, 'delta', end, 1);
    // Reported once, when the scale-out finished: the last value of that period.
    if (p === events.scaledAt) this.add('E2EScalingLatency', where, 'gauge', p + MINUTE / 2, events.scalingSeconds);
  }

  private histograms(name: string, where: Record<string, string>, deltas: ReadonlyArray<[number, ExponentialHistogram]>): void {
    this.seriesOf(name, where, 'histogram').histograms?.push(...deltas);
  }

  private add(name: string, labels: Record<string, string>, temporality: PromSeriesData['temporality'], at: number, value: number): void {
    this.seriesOf(name, labels, temporality).samples.push([at, value]);
  }

  private seriesOf(name: string, labels: Record<string, string>, kind: PromSeriesData['temporality'] | 'histogram'): PromSeriesData {
    const all = { __name__: name, ...labels };
    const key = JSON.stringify(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
    let series = this.byKey.get(key);
    if (!series) {
      series = kind === 'histogram' ? { labels: all, temporality: 'delta', samples: [], histograms: [] } : { labels: all, temporality: kind, samples: [] };
      this.byKey.set(key, series);
      this.target.push(series);
    }
    return series;
  }
}

/** Histograms added up as Prometheus' `sum_over_time` adds them (at the lowest scale among them). */
export function pooled(histograms: readonly ExponentialHistogram[]): ExponentialHistogram {
  if (histograms.length === 0) throw new Error('no histograms to pool');
  return histograms.reduce(addHistograms);
}

/**
 * Classic cumulative buckets `[le, count]` of an exponential histogram at the given `le` bounds, then `[+Inf, count]`:
 * each count the observations of the buckets whose upper bound is at most `le`. Exact where the bounds are powers of
 * two and the scale is 0 or finer (exponential bounds nest).
 */
export function classicBuckets(h: ExponentialHistogram, les: readonly number[]): Array<[number, number]> {
  const uppers = h.positive.bucketCounts.map((c, k): [number, number] => [exponentialBound(h.positive.offset + k, h.scale), c]);
  return [...les.map((le): [number, number] => [le, h.zeroCount + uppers.filter(([u]) => u <= le * (1 + 1e-12)).reduce((n, [, c]) => n + c, 0)]), [Infinity, h.count]];
}

/** The bounds (lower, upper] of the bucket that holds the histogram's `q` quantile: where the count reaches q * count. */
export function quantileBucket(h: ExponentialHistogram, q: number): [number, number] {
  let cumulative = h.zeroCount;
  const k = h.positive.bucketCounts.findIndex((c) => (cumulative += c) >= q * h.count);
  if (k < 0) throw new Error(`no bucket holds the ${q} quantile of ${h.count} observations`);
  const index = h.positive.offset + k;
  return [exponentialBound(index - 1, h.scale), exponentialBound(index, h.scale)];
}
