import type { PromSeriesData } from './cloudwatch-promql-stand-in';

/**
 * vLLM endpoints as SageMaker AI detailed observability publishes them to CloudWatch, for the PromQL stand-in: the
 * source series of the LLM name contract (vLLM's `vllm:*` metrics, DCGM's GPU metrics, ICECount and
 * E2EScalingLatency), with the labels the SageMaker OpenTelemetry reference lists
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/inference-monitoring.md). Counters and histograms are OTel deltas,
 * each sample the amount of the period ending at its timestamp; gauges are sampled mid-period. Every value is a
 * function of the period, so a test or the demo can ask for the truth of any minute.
 *
 * Load follows a 40-minute wave. During `spike` one endpoint's time to first token jumps (the demo's incident): its
 * queue grows, its KV cache fills, SageMaker scales it out, meets insufficient capacity once, and reports how long the
 * scale-out took.
 */

const MINUTE = 60_000;
/** vLLM's TTFT bucket bounds (seconds), the part of them a chat model's answers fall in. */
export const TTFT_BUCKETS = [0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;
/** vLLM's time-per-output-token bounds (seconds), likewise. */
export const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5] as const;
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
}

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

/** Two vLLM endpoints: a chat model as an inference component on two instances, a code model on one, alone. */
export function defaultLlmFleet(spike?: LlmSpike): LlmFleet {
  const chat = { endpoint: 'llm-chat', variant: 'AllTraffic', component: 'llama-3-8b-chat', instanceType: 'ml.g5.12xlarge', gpus: 2, requestsPerMinute: 240 };
  return {
    instances: [
      { ...chat, instanceId: 'i-0c4a1e5f0b7d2a001', zone: 'us-east-2a' },
      { ...chat, instanceId: 'i-0c4a1e5f0b7d2a002', zone: 'us-east-2b' },
      { endpoint: 'llm-code', variant: 'AllTraffic', instanceId: 'i-0c4a1e5f0b7d2a003', zone: 'us-east-2a', instanceType: 'ml.g5.2xlarge', gpus: 1, requestsPerMinute: 90 },
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

/** Share of requests whose time to first token is at most each bound of TTFT_BUCKETS, cumulative. */
function ttftShares(spiking: boolean, load: number): number[] {
  // Calm: most first tokens in 100-500 ms, a tail to 1 s that grows with the load. Spike: requests queue for seconds.
  const calm = [0.2, 0.55, 0.85, 0.95 - 0.03 * load, 0.995 - 0.005 * load, 1, 1, 1, 1];
  const spiked = [0.02, 0.05, 0.1, 0.15, 0.2, 0.45, 0.8, 0.97, 1];
  return spiking ? spiked : calm;
}

/** Share of output tokens at most each bound of ITL_BUCKETS, cumulative: larger batches decode slower. */
function itlShares(spiking: boolean, load: number): number[] {
  const slow = spiking ? 0.15 : 0.05 * load;
  return [0.05, 0.4, 0.8 - slow, 0.9 - slow, 0.96 - slow / 2, 0.99, 1, 1, 1];
}

/** What one instance did in the period starting at `period`: the truth the series are made of. */
export interface InstancePeriod {
  readonly requests: number;
  readonly promptTokens: number;
  readonly generationTokens: number;
  /** Cumulative counts at each bound of TTFT_BUCKETS, then the total (+Inf). */
  readonly ttftBuckets: readonly number[];
  readonly ttftSum: number;
  readonly itlBuckets: readonly number[];
  readonly itlSum: number;
  readonly outputIntervals: number;
  readonly running: number;
  readonly waiting: number;
  readonly kvCache: number;
  readonly gpuUtilPercent: number;
  readonly gpuUsedMib: number;
}

/** Counts at each bound from cumulative shares, whole requests, ending with the total. */
function cumulative(shares: readonly number[], total: number): number[] {
  return [...shares.map((s) => Math.round(s * total)), total];
}

/** Sum of observations estimated at each bucket's midpoint: consistent with the buckets, as an engine's _sum is. */
function midpointSum(bounds: readonly number[], counts: readonly number[]): number {
  let sum = 0;
  counts.slice(0, bounds.length).forEach((count, i) => {
    const below = i === 0 ? 0 : (counts[i - 1] as number);
    const lower = i === 0 ? 0 : (bounds[i - 1] as number);
    sum += (count - below) * ((lower + (bounds[i] as number)) / 2);
  });
  return sum;
}

export function instancePeriod(fleet: LlmFleet, instance: LlmInstance, period: number): InstancePeriod {
  const load = loadFactor(instance, period);
  const spiking = inSpike(fleet, instance, period);
  const requests = Math.round(instance.requestsPerMinute * load * (spiking ? 1.5 : 1));
  const generationTokens = requests * 180;
  const ttftBuckets = cumulative(ttftShares(spiking, load), requests);
  const itlBuckets = cumulative(itlShares(spiking, load), generationTokens - requests);
  const minutesIntoSpike = spiking && fleet.spike ? (period - fleet.spike.start) / MINUTE : 0;
  return {
    requests,
    promptTokens: requests * 620,
    generationTokens,
    ttftBuckets,
    ttftSum: midpointSum(TTFT_BUCKETS, ttftBuckets),
    itlBuckets,
    itlSum: midpointSum(ITL_BUCKETS, itlBuckets),
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
 * Appends each period's samples to the stand-in's series as the periods complete. Histograms are written in the
 * layout vLLM exposes them in and OTel's explicit-bucket histogram carries: `<name>_bucket{le}` (cumulative over
 * `le`, a delta over time), `<name>_sum`, `<name>_count`. CloudWatch stores OTel histograms as exponential
 * histograms; how its PromQL API returns them is the PromQL source's question, and only `histogram` below would change.
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
      this.add('vllm:prompt_tokens_total', where, 'delta', end, truth.promptTokens);
      this.add('vllm:generation_tokens_total', where, 'delta', end, truth.generationTokens);
      this.histogram('vllm:time_to_first_token_seconds', where, end, TTFT_BUCKETS, truth.ttftBuckets, truth.ttftSum);
      this.histogram('vllm:time_per_output_token_seconds', where, end, ITL_BUCKETS, truth.itlBuckets, truth.itlSum);
      this.add('vllm:num_requests_running', where, 'gauge', mid, truth.running);
      this.add('vllm:num_requests_waiting', where, 'gauge', mid, truth.waiting);
      this.add('vllm:gpu_cache_usage_perc', where, 'gauge', mid, truth.kvCache);
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

  private histogram(name: string, where: Record<string, string>, at: number, bounds: readonly number[], counts: readonly number[], sum: number): void {
    [...bounds.map(String), '+Inf'].forEach((le, i) => this.add(`${name}_bucket`, { ...where, le }, 'delta', at, counts[i] as number));
    this.add(`${name}_sum`, where, 'delta', at, sum);
    this.add(`${name}_count`, where, 'delta', at, counts[counts.length - 1] as number);
  }

  private add(name: string, labels: Record<string, string>, temporality: PromSeriesData['temporality'], at: number, value: number): void {
    const all = { __name__: name, ...labels };
    const key = JSON.stringify(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
    let series = this.byKey.get(key);
    if (!series) {
      series = { labels: all, temporality, samples: [] };
      this.byKey.set(key, series);
      this.target.push(series);
    }
    series.samples.push([at, value]);
  }
}
