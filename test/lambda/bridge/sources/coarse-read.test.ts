import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type GetMetricDataCommandInput, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { resolveConfig } from '../../../../contract/bridge-config';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache, type DiscoveredMetric } from '../../../../lambda/bridge/cloudwatch/discovery';
import { fetchChunk } from '../../../../lambda/bridge/cloudwatch/fetch';
import { QueryPlan, type PlannedQuery } from '../../../../lambda/bridge/cloudwatch/plan';
import { forEachConcurrently, RateLimiter } from '../../../../lambda/bridge/concurrency';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';
import { MAX_READS_PER_COARSE_CALL, packCoarse, type CoarseFetch } from '../../../../lambda/bridge/sources/coarse-read';
import { GetMetricDataRead, GetMetricDataSource } from '../../../../lambda/bridge/sources/get-metric-data';
import type { PagePoints, SourceContext } from '../../../../lambda/bridge/sources';
import { SeriesTable } from '../../../../lambda/bridge/state/series-table';
import { emptyState } from '../../../../lambda/bridge/state/state';

const MIN = 60_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
const cw = mockClient(CloudWatchClient);
const infos: string[] = [];
const logger: BridgeLogger = { debug: () => {}, info: (m) => void infos.push(m), warn: () => {}, error: () => {} };
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
const config = resolveConfig({ namespaces: ['AWS/SageMaker', '/aws/sagemaker/Endpoints'], sagemakerMetadata: false }, { AWS_REGION: 'us-east-1' });

/** A catch-up: read from a base 6 hours back; the too-old span [start, skipTo) read coarsely, the rest per period. */
const start = T - 360 * MIN;
const end = T - 2 * MIN;
const skipTo = T - 50 * MIN;
const span = { start, end };
const coarsePeriod = (from: number) => (skipTo - from) / 1000;

const variant = (i: number) => [
  { Name: 'EndpointName', Value: `e${i}` },
  { Name: 'VariantName', Value: 'v' },
];
/** `n` variants, each with a counter (Invocations, Sum) and a gauge (CPUUtilization, Average). */
function fleet(n: number): DiscoveredMetric[] {
  return Array.from({ length: n }, (_, i) => [
    { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: variant(i) },
    { namespace: '/aws/sagemaker/Endpoints', metricName: 'CPUUtilization', dimensions: variant(i) },
  ]).flat();
}

/** What CloudWatch answers for one query over the coarse span: a value no other query has. */
const valueOf = (metricName: string | undefined, endpoint: string | undefined) => Number(endpoint?.slice(1)) * 10 + (metricName === 'Invocations' ? 1 : 2);

function context(): SourceContext {
  const deps = { cloudwatch: new CloudWatchClient({ region: 'us-east-1' }), discoveryCache: new DiscoveryCache(), baseLabels: {}, logger };
  return { config, catalog, deps, calls: new ApiCallCounter(), startedAt: T };
}

/**
 * Chunks of `counters[i]` counter queries and as many gauge queries, the counters spread over the chunk; each a
 * read of a class read from `from` (its own base), whose coarse span is [from, skipTo).
 */
function reads(counters: readonly number[], from: readonly number[] = counters.map(() => start), skip = true) {
  const ctx = context();
  const total = counters.reduce((a, b) => a + b, 0);
  const queries = [...new QueryPlan(fleet(total), catalog, {}, 1024).chunks()].flat();
  const counterQueries = queries.filter((q) => q.template.kind === 'counter');
  const gauges = queries.filter((q) => q.template.kind !== 'counter');
  const limiter = new RateLimiter(1e9);
  let used = 0;
  return counters.map((n, i) => {
    const chunk: PlannedQuery[] = [];
    for (let k = 0; k < n; k++) chunk.push(gauges[used + k] as PlannedQuery, counterQueries[used + k] as PlannedQuery);
    used += n;
    const base = from[i] as number;
    const settings = { readStart: base, fetchStart: base, nextBase: T - 12 * MIN, heldBase: undefined };
    return new GetMetricDataRead(chunk, ctx, limiter, {}, { settings, from: base, ...(skip ? { skip: { to: skipTo, table: new SeriesTable() } } : {}) });
  });
}

function fetchOf(ctx: SourceContext): CoarseFetch {
  return (queries, fetchSpan, onPage) => fetchChunk(ctx.deps.cloudwatch, queries, fetchSpan, new RateLimiter(1e9), ctx.calls, logger, onPage);
}

/** Answers every coarse query with its own value at the span's start (PartialData for `partial` endpoints); per-period calls with nothing. */
function answer(partial: ReadonlySet<string> = new Set()) {
  cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput): { MetricDataResults: MetricDataResult[] } => {
    const coarse = input.EndTime?.getTime() === skipTo;
    return {
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
        const metric = q.MetricStat?.Metric;
        const endpoint = metric?.Dimensions?.find((d) => d.Name === 'EndpointName')?.Value;
        if (!coarse) return { Id: q.Id, Timestamps: [], Values: [], StatusCode: 'Complete' };
        const cut = endpoint !== undefined && partial.has(endpoint);
        return { Id: q.Id, Timestamps: cut ? [] : [input.StartTime as Date], Values: cut ? [] : [valueOf(metric?.MetricName, endpoint)], StatusCode: cut ? 'PartialData' : 'Complete' };
      }),
    };
  });
}

const calls = () => cw.commandCalls(GetMetricDataCommand).map((call) => call.args[0].input);
const coarseCalls = () => calls().filter((input) => input.EndTime?.getTime() === skipTo);

/**
 * Runs the packed reads `concurrency` at once, taken from the generator as lanes free up, as the cycle's stream stage
 * does (a read starts before the next ones are handed out); each read's pages, in order.
 */
async function run(all: GetMetricDataRead[], concurrency = 1) {
  const packed: GetMetricDataRead[] = [];
  const pages = new Map<GetMetricDataRead, PagePoints[][]>();
  await forEachConcurrently(packCoarse(all, span, fetchOf(context())), concurrency, async (read) => {
    packed.push(read);
    const own: PagePoints[][] = [];
    pages.set(read, own);
    await read.read(span, async (page) => void own.push([...page]));
  });
  return { packed, pages };
}

/** The coarse page a read was handed: each point's value must be its own query's. */
function expectOwnCoarsePage(read: GetMetricDataRead, page: readonly PagePoints[] | undefined) {
  const counters = [...Array(read.streams).keys()].filter((stream) => read.series[read.outputs(stream)[0] as number]?.kind === 'counter');
  expect(page?.map((p) => p.index)).toEqual(counters);
  for (const p of page ?? []) {
    const series = read.series[read.outputs(p.index)[0] as number];
    const endpoint = series?.labels.find((l) => l.name === 'endpoint_name')?.value;
    expect(p.values).toEqual([valueOf('Invocations', endpoint)]);
    expect(p.timestamps).toEqual([new Date(start)]);
  }
}

beforeEach(() => {
  cw.reset();
  infos.length = 0;
});

describe('coarse spans packed across reads', () => {
  test('three reads whose coarse spans agree, 450 counters in all: one coarse call; each read gets its own datapoints at its own positions', async () => {
    answer();
    const all = reads([150, 100, 200]);
    const { packed, pages } = await run(all);
    expect(new Set(packed)).toEqual(new Set(all));
    expect(coarseCalls()).toHaveLength(1);
    expect(coarseCalls()[0]?.MetricDataQueries).toHaveLength(450);
    expect(coarseCalls()[0]?.MetricDataQueries?.every((q) => q.MetricStat?.Period === coarsePeriod(start) && q.MetricStat.Metric?.MetricName === 'Invocations')).toBe(true);
    for (const read of all) {
      expect(read.coarseTo).toBe(skipTo);
      expectOwnCoarsePage(read, pages.get(read)?.[0]);
    }
    // Each read's own per-period call goes on from the end of the coarse span.
    expect(calls().filter((input) => input.EndTime?.getTime() === end).map((input) => [input.StartTime?.getTime(), input.MetricDataQueries?.length])).toEqual([
      [skipTo, 300],
      [skipTo, 200],
      [skipTo, 400],
    ]);
  });

  test('1,150 counters in three reads: ceil(1150 / 500) = 3 calls of 500, 500 and 150; a read straddling two calls gets both parts', async () => {
    answer();
    const all = reads([400, 350, 400]);
    const { pages } = await run(all, 2);
    expect(coarseCalls().map((input) => input.MetricDataQueries?.length)).toEqual([500, 500, 150]);
    for (const read of all) expectOwnCoarsePage(read, pages.get(read)?.[0]);
    // 600 counters: two calls, where a call a read used to be 3.
    cw.reset();
    answer();
    const six = reads([200, 200, 200]);
    const again = await run(six, 3);
    expect(coarseCalls().map((input) => input.MetricDataQueries?.length)).toEqual([500, 100]);
    for (const read of six) expectOwnCoarsePage(read, again.pages.get(read)?.[0]);
  });

  test('a metric\'s statistics stay in one call but where a call ends: 3 reads of 30 latency histograms (390 counters each), 3 calls, 2 metrics split', async () => {
    answer();
    const ctx = context();
    const metrics = Array.from({ length: 90 }, (_, i) => ({ namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: variant(i) }));
    const byMetric = new Map<DiscoveredMetric, PlannedQuery[]>();
    for (const query of [...new QueryPlan(metrics, catalog, {}, 1024).chunks()].flat()) byMetric.set(query.metric, [...(byMetric.get(query.metric) ?? []), query]);
    const widths = [...byMetric.values()].map((qs) => qs.length);
    expect(new Set(widths)).toEqual(new Set([13]));
    const settings = { readStart: start, fetchStart: start, nextBase: T - 12 * MIN, heldBase: undefined };
    const limiter = new RateLimiter(1e9);
    const all = [0, 1, 2].map((r) => {
      const chunk = [...byMetric.values()].slice(r * 30, (r + 1) * 30).flat();
      return new GetMetricDataRead(chunk, ctx, limiter, {}, { settings, from: start, skip: { to: skipTo, table: new SeriesTable() } });
    });
    const counters = all.map((read) => read.coarseQueries(span)?.queries.length);
    expect(counters).toEqual([390, 390, 390]);
    await run(all, 2);
    expect(coarseCalls().map((input) => input.MetricDataQueries?.length)).toEqual([500, 500, 170]);
    // Whole metrics in each call but the one each call's end falls in (500 = 38 x 13 + 6, 1,000 = 76 x 13 + 12).
    const callsOf = new Map<string, Set<number>>();
    coarseCalls().forEach((input, call) => {
      for (const q of input.MetricDataQueries ?? []) {
        const endpoint = q.MetricStat?.Metric?.Dimensions?.find((d) => d.Name === 'EndpointName')?.Value as string;
        callsOf.set(endpoint, (callsOf.get(endpoint) ?? new Set()).add(call));
      }
    });
    expect(callsOf.size).toBe(90);
    expect([...callsOf.values()].map((set) => [...set])).toEqual(expect.arrayContaining([[0, 1], [1, 2]]));
    expect([...callsOf.values()].filter((set) => set.size > 1)).toHaveLength(2);
    for (const read of all) expect(read.coarseTo).toBe(skipTo);
  });

  test('at most MAX_READS_PER_COARSE_CALL reads share a call, so the reads held back stay a few chunks', async () => {
    answer();
    const all = reads(Array(MAX_READS_PER_COARSE_CALL + 2).fill(10));
    const { pages } = await run(all);
    expect(coarseCalls().map((input) => input.MetricDataQueries?.length)).toEqual([10 * MAX_READS_PER_COARSE_CALL, 20]);
    for (const read of all) expectOwnCoarsePage(read, pages.get(read)?.[0]);
  });

  test('a partial coarse answer for one read\'s queries: that read (only) reads its span per period; the others keep theirs', async () => {
    const all = reads([150, 100, 200]);
    // One of the second read's variants.
    const cut = all[1]?.series.find((s) => s.kind === 'counter')?.labels.find((l) => l.name === 'endpoint_name')?.value as string;
    answer(new Set([cut]));
    const { pages } = await run(all);
    expect(coarseCalls()).toHaveLength(1);
    const [first, second, third] = all as [GetMetricDataRead, GetMetricDataRead, GetMetricDataRead];
    expect([first.coarseTo, second.coarseTo, third.coarseTo]).toEqual([skipTo, undefined, skipTo]);
    expectOwnCoarsePage(first, pages.get(first)?.[0]);
    expectOwnCoarsePage(third, pages.get(third)?.[0]);
    // The cut read's pages are its per-period call's only (no coarse datapoint), from the start of the span.
    expect(pages.get(second)).toEqual([[]]);
    expect(calls().filter((input) => input.EndTime?.getTime() === end).map((input) => input.StartTime?.getTime())).toEqual([skipTo, start, skipTo]);
    expect(infos.filter((m) => m.startsWith('a coarse read of periods too old to write was cut short'))).toHaveLength(1);
  });

  test('reads with different coarse windows are never packed together', async () => {
    answer();
    const earlier = start - 30 * MIN;
    const all = reads([150, 100, 200, 50], [start, earlier, start, earlier]);
    const { pages } = await run(all);
    const byStart = coarseCalls().map((input) => [input.StartTime?.getTime(), input.MetricDataQueries?.length]);
    expect(byStart).toEqual([
      [start, 350],
      [earlier, 150],
    ]);
    for (const input of coarseCalls()) expect(input.MetricDataQueries?.every((q) => q.MetricStat?.Period === coarsePeriod(input.StartTime?.getTime() as number))).toBe(true);
    const [a, b, c, d] = all as [GetMetricDataRead, GetMetricDataRead, GetMetricDataRead, GetMetricDataRead];
    for (const read of [a, b, c, d]) expect(read.coarseTo).toBe(skipTo);
    for (const read of [a, c]) expectOwnCoarsePage(read, pages.get(read)?.[0]);
    for (const read of [b, d]) expect(pages.get(read)?.[0]?.every((p) => p.timestamps[0]?.valueOf() === earlier)).toBe(true);
  });

  test('a read whose coarse span is none, or whose chunk has no counter, joins no call and is handed out at once', async () => {
    answer();
    const [packedRead] = reads([100]) as [GetMetricDataRead];
    // A class that may not skip (its next base inside the span, a held base): read per period.
    const [notCoarse] = reads([100], [start], false) as [GetMetricDataRead];
    const [noCounter] = reads([0]) as [GetMetricDataRead];
    const order = [...packCoarse([packedRead, notCoarse, noCounter], span, fetchOf(context()))];
    // Those without coarse queries come first: the other waits for its call to be complete (the end of the reads).
    expect(order).toEqual([notCoarse, noCounter, packedRead]);
    expect([notCoarse.share, noCounter.share]).toEqual([undefined, undefined]);
    expect(packedRead.share).toBeDefined();
    await forEachConcurrently(order, 1, async (read) => void (await read.read(span, async () => {})));
    expect(coarseCalls().map((input) => input.MetricDataQueries?.length)).toEqual([100]);
    expect([packedRead.coarseTo, notCoarse.coarseTo, noCounter.coarseTo]).toEqual([skipTo, undefined, skipTo]);
  });

  test('a failed coarse call fails every read that shares it', async () => {
    cw.on(GetMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const all = reads([150, 100, 200]);
    const packed = [...packCoarse(all, span, fetchOf(context()))];
    const outcomes = await Promise.allSettled(packed.map((read) => read.read(span, async () => {})));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'ok'))).toEqual(['Rate exceeded', 'Rate exceeded', 'Rate exceeded']);
    expect(coarseCalls()).toHaveLength(1);
  });
});

describe('GetMetricDataSource packs its catch-up\'s coarse reads', () => {
  test('two chunks of utilization gauges and counters: one coarse call where each read made its own', async () => {
    const metrics = (names: readonly string[]) => Array.from({ length: 200 }, (_, i) => names.map((MetricName) => ({ MetricName, Dimensions: variant(i) }))).flat();
    cw.on(ListMetricsCommand, { Namespace: 'AWS/SageMaker' }).resolves({ Metrics: metrics(['Invocations', 'Invocation4XXErrors']) });
    cw.on(ListMetricsCommand, { Namespace: '/aws/sagemaker/Endpoints' }).resolves({ Metrics: metrics(['CPUUtilization', 'MemoryUtilization']) });
    answer();
    const source = new GetMetricDataSource(context());
    await source.discover();
    const plan = source.plan({ startedAt: T, readStart: start, previous: emptyState() });
    await plan.prepare?.(span, { periodMs: MIN, readStart: start, fetchStart: start, end, nextBase: T - 12 * MIN, writableFrom: skipTo, skipTo });
    const all = [...plan.reads()];
    expect(all).toHaveLength(2);
    const coarse = all.map((read) => (read as GetMetricDataRead).coarseQueries(span)?.queries.length ?? 0);
    // The first chunk: 400 gauges and 100 counters; the second 300 counters.
    expect(coarse).toEqual([100, 300]);
    await forEachConcurrently(all, 2, async (read) => void (await read.read(span, async () => {})));
    expect(coarseCalls()).toHaveLength(1);
    expect(coarseCalls()[0]?.MetricDataQueries).toHaveLength(400);
    for (const read of all) expect(read.coarseTo).toBe(skipTo);
    // A dry run hands its reads out in family order, unpacked: a coarse call each.
    cw.resetHistory();
    const dry = source.plan({ startedAt: T, readStart: start, previous: emptyState(), dryRun: true });
    await dry.prepare?.(span, { periodMs: MIN, readStart: start, fetchStart: start, end, nextBase: T - 12 * MIN, writableFrom: skipTo, skipTo });
    await forEachConcurrently(dry.reads(), 1, async (read) => void (await read.read(span, async () => {})));
    expect(coarseCalls().length).toBeGreaterThan(1);
  });
});
