/**
 * The figures `npm run bench` shows beside a peer: the remote-write encoder beside the `prometheus-remote-write`
 * package, the CloudWatch bill beside a YACE-style scrape and CloudWatch Metric Streams, and the bundled Lambda
 * handler's cold init, and GetMetricData's SDK serde beside the bridge's hand-written codec.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CloudWatchClient, GetMetricDataInput$, GetMetricDataOutput$, type GetMetricDataCommandInput, type Metric } from '@aws-sdk/client-cloudwatch';
import { buildSync } from 'esbuild';
import { pushTimeseries } from 'prometheus-remote-write';
import { readGetMetricDataResponse, writeGetMetricDataRequest } from '../../lambda/bridge/cloudwatch/get-metric-data-protocol';
import { encodeWriteRequest } from '../../lambda/bridge/remote-write/encode';

const REPO_ROOT = join(__dirname, '..', '..');

/**
 * CloudWatch list prices, us-east-1, from https://aws.amazon.com/cloudwatch/pricing/ (as quoted in the docs corpus:
 * "GetMetricData $0.01 per 1,000 metrics requested"; "Metric Streams $0.003 per 1,000 metric updates").
 */
export const GET_METRIC_DATA_PER_1000 = 0.01;
export const METRIC_STREAM_UPDATE_PER_1000 = 0.003;
const MINUTES_PER_MONTH = 30 * 24 * 60;

interface BenchSeries {
  readonly labels: Array<{ name: string; value: string }>;
  readonly samples: Array<{ timestamp: number; value: number }>;
}

/** The one call into the bridge's encoder; if its signature changes, only this adapter does. */
function encodeOurs(batch: readonly BenchSeries[]): Uint8Array {
  return encodeWriteRequest(batch.map((s) => ({ ...s, kind: 'gauge' as const })));
}

/** The peer's whole path to a request body (label objects, verify, protobuf, snappy), with the HTTP send captured. */
async function encodePeer(batch: readonly BenchSeries[]): Promise<number> {
  let bytes = 0;
  await pushTimeseries(
    batch.map((s) => ({ labels: Object.fromEntries(s.labels.map((l) => [l.name, l.value])) as { __name__: string }, samples: s.samples })),
    {
      url: 'http://127.0.0.1:9/api/v1/write',
      fetch: async (_url, init) => {
        bytes = (init?.body as ArrayBufferLike).byteLength;
        return { status: 204, statusText: 'No Content', text: async () => '' };
      },
    },
  );
  return bytes;
}

/** Series shaped like a steady cycle's: SageMaker labels, 5 one-minute samples each, in requests of 2,000 samples. */
function steadyCycleBatches(seriesCount: number, samplesPerSeries: number, perRequest: number): BenchSeries[][] {
  const T = 1_800_000_000_000;
  const names = ['aws_sagemaker_invocations_total', 'aws_sagemaker_model_latency_seconds', 'aws_sagemaker_endpoint_cpu_utilization_ratio', 'aws_sagemaker_invocation_4xx_errors_total'];
  const series: BenchSeries[] = Array.from({ length: seriesCount }, (_, i) => ({
    labels: [
      { name: '__name__', value: names[i % names.length] as string },
      { name: 'account_id', value: '123456789012' },
      { name: 'endpoint_name', value: `fleet-${String(Math.floor(i / 8)).padStart(5, '0')}` },
      { name: 'region', value: 'us-east-2' },
      { name: 'variant_name', value: i % 2 ? 'blue' : 'green' },
    ],
    samples: Array.from({ length: samplesPerSeries }, (_, j) => ({ timestamp: T + j * 60_000, value: 100 + ((i * 31 + j * 7) % 997) / 10 })),
  }));
  const batches: BenchSeries[][] = [];
  const perBatch = Math.max(1, Math.floor(perRequest / samplesPerSeries));
  for (let i = 0; i < series.length; i += perBatch) batches.push(series.slice(i, i + perBatch));
  return batches;
}

export interface EncoderRow {
  readonly name: string;
  readonly samplesPerSecond: number;
  readonly bytesPerSample: number;
}

export async function compareEncoders(seriesCount = 40_000, samplesPerSeries = 5): Promise<{ samples: number; rows: EncoderRow[] }> {
  const batches = steadyCycleBatches(seriesCount, samplesPerSeries, 2000);
  const samples = seriesCount * samplesPerSeries;
  const measure = async (name: string, encode: (batch: BenchSeries[]) => Promise<number> | number): Promise<EncoderRow> => {
    let bytes = 0;
    for (const batch of batches) bytes += await encode(batch); // warm-up, and the size
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      for (const batch of batches) await encode(batch);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const ms = times[2] as number;
    return { name, samplesPerSecond: samples / (ms / 1000), bytesPerSample: bytes / samples };
  };
  return {
    samples,
    rows: [await measure('inferwatch encodeWriteRequest', (b) => encodeOurs(b).length), await measure('prometheus-remote-write 0.5 (npm), pushTimeseries', encodePeer)],
  };
}

export interface BillRow {
  readonly name: string;
  readonly unitsPerMonth: number;
  readonly unit: string;
  readonly dollarsPerMonth: number;
}

/**
 * A month of CloudWatch for one fleet. GetMetricData bills every metric requested, whatever the datapoints: the bridge
 * asks for each query once per cycle (its steady-cycle count, measured), a YACE-style exporter once per query each
 * minute. Metric Streams bill one update per metric per minute, one more for the percentiles (one to five extra
 * statistics are one extra update), and Firehose on top (not counted here).
 */
export function cloudWatchBill(input: { metricsRequestedPerCycle: number; distinctQueries: number; metrics: number; streamExtraUpdates: number; cycleMinutes: number }): BillRow[] {
  const bridge = (input.metricsRequestedPerCycle * MINUTES_PER_MONTH) / input.cycleMinutes;
  const yace = input.distinctQueries * MINUTES_PER_MONTH;
  const streams = (input.metrics + input.streamExtraUpdates) * MINUTES_PER_MONTH;
  return [
    { name: `inferwatch bridge, a cycle every ${input.cycleMinutes} min (GetMetricData)`, unitsPerMonth: bridge, unit: 'metrics requested', dollarsPerMonth: (bridge / 1000) * GET_METRIC_DATA_PER_1000 },
    { name: 'YACE-style scrape every 60 s, period 60 (GetMetricData)', unitsPerMonth: yace, unit: 'metrics requested', dollarsPerMonth: (yace / 1000) * GET_METRIC_DATA_PER_1000 },
    { name: 'CloudWatch Metric Streams (plus Firehose)', unitsPerMonth: streams, unit: 'metric updates', dollarsPerMonth: (streams / 1000) * METRIC_STREAM_UPDATE_PER_1000 },
  ];
}

export interface ColdInit {
  readonly bundleBytes: number;
  readonly runsMs: number[];
  readonly medianMs: number;
  readonly error?: string;
}

/**
 * Bundles lambda/bridge/handler.ts as lib/cloudwatch-bridge.ts's NodejsFunction does (esbuild, CommonJS, minified,
 * source map, the SDK bundled, the catalog beside it) and times `require` of the bundle in fresh processes, with the
 * source maps enabled as the function's NODE_OPTIONS does.
 */
/** Issue 23 asks for the median of at least 9 runs, with the spread. */
export function coldInit(runs = 9): ColdInit {
  const out = mkdtempSync(join(tmpdir(), 'inferwatch-bundle-'));
  try {
    const bundle = join(out, 'index.js');
    buildSync({
      entryPoints: [join(REPO_ROOT, 'lambda', 'bridge', 'handler.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      outfile: bundle,
      logLevel: 'error',
    });
    copyFileSync(join(REPO_ROOT, 'lambda', 'bridge', 'catalog', 'default-catalog.yaml'), join(out, 'default-catalog.yaml'));
    const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(bundle)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
    const runsMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const run = spawnSync(process.execPath, ['--enable-source-maps', '-e', script], {
        env: { PATH: process.env.PATH, INFERWATCH_CONFIG: '{}', AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'inferwatch-bench' },
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(lastLine(run.stderr) || `exit ${run.status}`);
      runsMs.push(Number(run.stdout));
    }
    const sorted = [...runsMs].sort((a, b) => a - b);
    return { bundleBytes: statSync(bundle).size, runsMs, medianMs: sorted[Math.floor(sorted.length / 2)] as number };
  } catch (error) {
    return { bundleBytes: 0, runsMs: [], medianMs: NaN, error: (error as Error).message };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? ''
  ).slice(0, 300);
}

export interface SerdeRow {
  readonly name: string;
  /** Median ms per call, SDK's schema-driven JSON serde. */
  readonly sdkMs: number;
  /** Median ms per call, lambda/bridge/cloudwatch/get-metric-data-protocol.ts. */
  readonly fastMs: number;
  readonly bytes: number;
}

/** A 500-query GetMetricData request as fetch.ts writes one: 13 statistics of a latency histogram share a Metric. */
function realisticRequest(): GetMetricDataCommandInput {
  const stats = ['Sum', 'SampleCount', 'p50', 'p90', 'p99', 'TC(:1000)', 'TC(1000:5000)', 'PR(:1000)', 'PR(:5000)', 'PR(:25000)', 'PR(:100000)', 'PR(:500000)', 'Maximum'];
  const metrics: Metric[] = Array.from({ length: Math.ceil(500 / stats.length) }, (_, i) => ({
    Namespace: 'AWS/SageMaker',
    MetricName: 'ModelLatency',
    Dimensions: [
      { Name: 'EndpointName', Value: `fleet-${String(i).padStart(5, '0')}` },
      { Name: 'VariantName', Value: i % 2 ? 'blue' : 'green' },
    ],
  }));
  const T = 1_800_000_000_000;
  return {
    MetricDataQueries: Array.from({ length: 500 }, (_, i) => ({
      Id: `q${i}`,
      MetricStat: { Metric: metrics[Math.floor(i / stats.length)], Period: 60, Stat: stats[i % stats.length] },
      ReturnData: true,
    })),
    StartTime: new Date(T - 15 * 60_000),
    EndTime: new Date(T),
    ScanBy: 'TimestampAscending',
  };
}

/** A 200 answer's bytes: `results` results of `points` one-minute datapoints each. */
function realisticAnswer(results: number, points: number): Uint8Array {
  const start = 1_800_000_000 - points * 60;
  return Buffer.from(
    JSON.stringify({
      MetricDataResults: Array.from({ length: results }, (_, r) => ({
        Id: `q${r}`,
        Label: `fleet-${r} ModelLatency`,
        Timestamps: Array.from({ length: points }, (_, p) => start + p * 60),
        Values: Array.from({ length: points }, (_, p) => ((r * 31 + p * 7) % 99_991) / 10),
        StatusCode: 'Complete',
      })),
      Messages: [],
    }),
  );
}

/** Median ms per call over 5 rounds of `calls` calls, after a warm-up round. */
async function msPerCall(calls: number, run: () => unknown): Promise<number> {
  for (let i = 0; i < calls; i++) await run();
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) await run();
    rounds.push((performance.now() - start) / calls);
  }
  return rounds.sort((a, b) => a - b)[2] as number;
}

/**
 * GetMetricData's serde, the SDK's (the codec CloudWatchClient's AWS JSON 1.0 protocol uses, over the operation's
 * schema) beside the bridge's hand-written one, for a 500-query request and two answers: 500 results of 10 datapoints,
 * and one at the 100,800-datapoint limit of a call. Each side starts from the same bytes or input and ends where the
 * SDK's protocol hands over: a request body, or the output object with Date timestamps.
 */
export async function compareGetMetricDataSerde(): Promise<SerdeRow[]> {
  const codec = new CloudWatchClient({ region: 'us-east-1' }).config.protocol.getPayloadCodec() as {
    createSerializer(): { write(schema: unknown, value: unknown): void; flush(): Uint8Array | string };
    createDeserializer(): { read(schema: unknown, data: Uint8Array): Promise<unknown> };
  };
  const serializer = codec.createSerializer();
  const deserializer = codec.createDeserializer();
  const request = realisticRequest();
  const sdkBody = (): Uint8Array | string => {
    serializer.write(GetMetricDataInput$, request);
    return serializer.flush();
  };
  const rows: SerdeRow[] = [
    { name: 'request, 500 queries', sdkMs: await msPerCall(200, sdkBody), fastMs: await msPerCall(200, () => writeGetMetricDataRequest(request)), bytes: Buffer.byteLength(writeGetMetricDataRequest(request) ?? '') },
  ];
  for (const [name, results, points, calls] of [
    ['answer, 500 results × 10 datapoints', 500, 10, 100],
    ['answer, 100 results × 1,008 datapoints (the 100,800 limit)', 100, 1_008, 10],
  ] as const) {
    const bytes = realisticAnswer(results, points);
    const fast = () => readGetMetricDataResponse(JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')));
    rows.push({ name, sdkMs: await msPerCall(calls, () => deserializer.read(GetMetricDataOutput$, bytes)), fastMs: await msPerCall(calls, fast), bytes: bytes.byteLength });
  }
  return rows;
}

/** The serde comparison as a section of the bench's report. */
export function renderSerdeRows(rows: readonly SerdeRow[]): string[] {
  return [
    "## GetMetricData serde: the SDK's schema walk beside the bridge's codec",
    '',
    "Median ms per call of 5 rounds after a warm-up: the request body from a fetch.ts-shaped 500-query input, the output object (Date timestamps) from an answer's bytes. `get-metric-data-protocol.test.ts` holds the two equal.",
    '',
    '| what | bytes | SDK ms | codec ms | SDK ÷ codec |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((row) => `| ${row.name} | ${row.bytes.toLocaleString('en-US')} | ${row.sdkMs.toFixed(3)} | ${row.fastMs.toFixed(3)} | ${(row.sdkMs / row.fastMs).toFixed(1)}× |`),
    '',
  ];
}
