import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache, discoverMetrics, type DiscoveredMetric } from '../../../../lambda/bridge/cloudwatch/discovery';
import { CloudWatchDataError, fetchChunk, type PagePoints } from '../../../../lambda/bridge/cloudwatch/fetch';
import { PlannedKeys, QueryPlan, type PlannedQuery } from '../../../../lambda/bridge/cloudwatch/plan';
import { RateLimiter } from '../../../../lambda/bridge/concurrency';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';

const cw = mockClient(CloudWatchClient);
const client = new CloudWatchClient({ region: 'us-east-1' });
const T = 1_800_000_000_000;
const span = { start: T - 600_000, end: T + 300_000, periodSeconds: 60 };
const unlimited = new RateLimiter(1e9);
const warnings: string[] = [];
const logger: BridgeLogger = { debug: () => {}, info: () => {}, warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) };
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');

function endpoints(n: number): DiscoveredMetric[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: '/aws/sagemaker/Endpoints',
    metricName: 'CPUUtilization',
    dimensions: [
      { Name: 'EndpointName', Value: `e${i}` },
      { Name: 'VariantName', Value: 'AllTraffic' },
    ],
  }));
}

beforeEach(() => {
  cw.reset();
  warnings.length = 0;
});

const summaries = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'summary');
const queriesOf = (metrics: DiscoveredMetric[], base: Record<string, string> = {}, from = catalog) => [...new QueryPlan(metrics, from, base, 1024).chunks()].flat();

async function fetchAll(queries: PlannedQuery[], calls = new ApiCallCounter()) {
  const pages: PagePoints[][] = [];
  const chunks: PlannedQuery[][] = [];
  for (let i = 0; i < queries.length; i += 500) chunks.push(queries.slice(i, i + 500));
  let forbidden = 0;
  for (const chunk of chunks) {
    const outcome = await fetchChunk(client, chunk, span, unlimited, calls, logger, (page) => void pages.push([...page]));
    forbidden += outcome.forbidden;
  }
  return { pages, forbidden, calls };
}

/** `n` variants, each with ConcurrentRequestsPerModel (high resolution, 10 s) and Invocations. */
function variantsWithConcurrency(n: number): DiscoveredMetric[] {
  return Array.from({ length: n }, (_, i) => {
    const dimensions = [
      { Name: 'EndpointName', Value: `e${i}` },
      { Name: 'VariantName', Value: 'AllTraffic' },
    ];
    return [
      { namespace: 'AWS/SageMaker', metricName: 'ConcurrentRequestsPerModel', dimensions },
      { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions },
    ];
  }).flat();
}

describe('QueryPlan periods', () => {
  const hiRes = (q: PlannedQuery) => q.metric.metricName === 'ConcurrentRequestsPerModel';

  test('highResolution off (the default): every query at the cycle period, as before', () => {
    const plan = new QueryPlan(variantsWithConcurrency(3), catalog, {}, 1024, { period: 60, highResolution: false });
    const chunks = [...plan.chunks()];
    expect(chunks).toHaveLength(1);
    expect(chunks.flat().map((q) => q.periodSeconds)).toEqual(Array(6).fill(60));
    expect(plan.samplesPerPeriod).toBe(plan.size);
    expect([...new QueryPlan(variantsWithConcurrency(3), catalog, {}, 1024).chunks()].flat().every((q) => q.periodSeconds === 60)).toBe(true);
  });

  test('highResolution on: the 10 s metrics in chunks of their own, after the cycle period ones, each chunk one period and at most 500', () => {
    const plan = new QueryPlan(variantsWithConcurrency(700), catalog, {}, 1024, { period: 60, highResolution: true });
    const chunks = [...plan.chunks()];
    expect(chunks.map((c) => [c.length, c[0]?.periodSeconds])).toEqual([
      [500, 60],
      [200, 60],
      [500, 10],
      [200, 10],
    ]);
    for (const chunk of chunks) expect(new Set(chunk.map((q) => q.periodSeconds)).size).toBe(1);
    expect(chunks.flat().filter(hiRes).every((q) => q.periodSeconds === 10)).toBe(true);
    expect(chunks.flat().filter((q) => !hiRes(q)).every((q) => q.periodSeconds === 60)).toBe(true);
    // The same queries (the same bill), six datapoints a minute from each 10 s one.
    expect(plan.size).toBe(1400);
    expect(plan.samplesPerPeriod).toBe(700 + 700 * 6);
    // The period's series keep their names: only the period changes.
    expect(chunks[2]?.[0]?.labels[0]).toEqual({ name: '__name__', value: 'aws_sagemaker_concurrent_requests_per_model' });
  });

  test('a 2-minute period reads them at 10 s (12 a period); a 10 s period has nothing shorter to read', () => {
    const two = new QueryPlan(variantsWithConcurrency(2), catalog, {}, 1024, { period: 120, highResolution: true });
    expect([...two.chunks()].map((c) => c.map((q) => q.periodSeconds))).toEqual([[120, 120], [10, 10]]);
    expect(two.samplesPerPeriod).toBe(2 + 2 * 12);
    const ten = new QueryPlan(variantsWithConcurrency(2), catalog, {}, 1024, { period: 10, highResolution: true });
    expect([...ten.chunks()].map((c) => c.map((q) => q.periodSeconds))).toEqual([[10, 10, 10, 10]]);
  });
});

describe('QueryPlan', () => {
  test('one query per metric and statistic, with labels from dimensions plus the base labels', () => {
    const queries = queriesOf([{ namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }] }], { region: 'us-east-1' }, summaries);
    expect(queries.map((q) => q.template.stat)).toEqual(['Sum', 'SampleCount', 'p50', 'p90', 'p99']);
    expect(Object.fromEntries(queries[2]?.labels.map((l) => [l.name, l.value]) ?? [])).toEqual({ __name__: 'aws_sagemaker_model_latency_seconds', endpoint_name: 'e', variant_name: 'v', quantile: '0.5', region: 'us-east-1' });
  });

  test('a histogram reads SampleCount once: the query feeds both the +Inf bucket and _count', () => {
    const metric = { namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: [{ Name: 'EndpointName', Value: 'e' }] };
    const planned = new PlannedKeys();
    const plan = new QueryPlan([metric], catalog, {}, 1024, undefined, planned);
    const queries = [...plan.chunks()].flat();
    expect(plan.size).toBe(13);
    expect(plan.seriesCount).toBe(14);
    expect(queries.map((q) => q.template.stat).filter((s) => s === 'SampleCount')).toHaveLength(1);
    const sampleCount = queries.find((q) => q.template.stat === 'SampleCount');
    const names = [sampleCount, ...(sampleCount?.also ?? [])].map((s) => Object.fromEntries(s?.labels.map((l) => [l.name, l.value]) ?? []));
    expect(names).toEqual([
      { __name__: 'aws_sagemaker_model_latency_seconds_bucket', endpoint_name: 'e', le: '+Inf' },
      { __name__: 'aws_sagemaker_model_latency_seconds_count', endpoint_name: 'e' },
    ]);
    expect(planned.size).toBe(14);
  });

  test('two CloudWatch metrics landing on one series: the second is skipped and reported', () => {
    const metrics: DiscoveredMetric[] = [
      { namespace: 'neuron_monitor', metricName: 'NeuronCoreUtilization', dimensions: [{ Name: 'NeuronCore', Value: '0' }] },
      { namespace: 'neuron_monitor', metricName: 'NeuronCore Utilization', dimensions: [{ Name: 'NeuronCore', Value: '0' }] },
    ];
    const plan = new QueryPlan(metrics, catalog, {}, 1024);
    expect([...plan.chunks()].flat()).toHaveLength(1);
    expect(plan.collisions).toHaveLength(1);
  });

  test('chunks of at most 500, whole metrics each, each family together: names sorted, statistic before dimensions within a call', () => {
    const metrics: DiscoveredMetric[] = [
      ...endpoints(300),
      ...Array.from({ length: 300 }, (_, i) => ({ namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: [{ Name: 'EndpointName', Value: `e${i}` }] })),
    ];
    const plan = new QueryPlan(metrics, summaries, {}, 1024);
    const chunks = [...plan.chunks()];
    expect(plan.size).toBe(300 + 300 * 5);
    // Packed widest first (QueryPlan.pack): the 300 ModelLatency fill three calls, the CPU metrics the fourth, yielded first by family.
    expect(chunks.map((c) => c.length)).toEqual([300, 500, 500, 500]);
    const families = chunks.flat().map((q) => summaries.familyOf(q.labels[0]?.value ?? '')?.family);
    expect(families.filter((family, i) => family !== families[i - 1])).toEqual(['aws_sagemaker_endpoint_cpu_utilization_ratio', 'aws_sagemaker_model_latency_seconds']);
    const names = chunks[1]?.map((q) => q.labels[0]?.value);
    expect(names?.filter((name, i) => name !== names[i - 1])).toEqual(['aws_sagemaker_model_latency_seconds_sum', 'aws_sagemaker_model_latency_seconds_count', 'aws_sagemaker_model_latency_seconds']);
  });
});

describe('fetchChunk', () => {
  test('1,100 queries take exactly 3 calls of at most 500, one window, oldest first', async () => {
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({ Id: q.Id, Timestamps: [new Date(T)], Values: [50], StatusCode: 'Complete' })),
    }));
    const { pages, calls } = await fetchAll(queriesOf(endpoints(1100)));
    const inputs = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.MetricDataQueries?.length)).toEqual([500, 500, 100]);
    for (const input of inputs) {
      expect(input).toMatchObject({ StartTime: new Date(span.start), EndTime: new Date(span.end), ScanBy: 'TimestampAscending' });
      expect(new Set(input.MetricDataQueries?.map((q) => q.Id)).size).toBe(input.MetricDataQueries?.length);
      expect(input.MetricDataQueries?.every((q) => q.MetricStat?.Period === 60 && /^[a-z][a-zA-Z0-9_]*$/.test(q.Id ?? ''))).toBe(true);
    }
    expect(pages.flat().every((p) => p.values.length === 1 && p.values[0] === 50)).toBe(true);
    expect(calls.count('cloudwatch', 'GetMetricData')).toBe(3);
    expect(calls.metricsRequested).toBe(1100);
    expect(calls.metricsRequestedFiveStats).toBe(1100);
  });

  test('metrics requested under both readings: a histogram latency is 13 statistics, 3 metrics of up to five; later pages add nothing', async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [], NextToken: 'page2' })
      .resolves({ MetricDataResults: [] });
    const latency = (e: string): DiscoveredMetric => ({ namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: [{ Name: 'EndpointName', Value: e }, { Name: 'VariantName', Value: 'v' }] });
    const calls = new ApiCallCounter();
    await fetchChunk(client, queriesOf([latency('a'), latency('b'), ...endpoints(2)]), span, unlimited, calls, logger, () => {});
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2);
    expect([calls.metricsRequested, calls.metricsRequestedFiveStats]).toEqual([2 * 13 + 2, 2 * 3 + 2]);
  });

  test('follows NextToken, one page at a time, and reports a query still PartialData at the end as incomplete', async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(T)], Values: [1], StatusCode: 'PartialData' }], NextToken: 'page2' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(T + 60_000)], Values: [2], StatusCode: 'Complete' }] })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(T)], Values: [1], StatusCode: 'PartialData' }] });
    const calls = new ApiCallCounter();
    const pages: number[][] = [];
    const outcome = await fetchChunk(client, queriesOf(endpoints(1)), span, unlimited, calls, logger, (page) => void pages.push(page.flatMap((p) => p.values)));
    expect(pages).toEqual([[1], [2]]);
    expect(outcome.incomplete.size).toBe(0);
    expect(cw.commandCalls(GetMetricDataCommand)[1]?.args[0].input.NextToken).toBe('page2');
    expect(calls.metricsRequested).toBe(1);
    const partial = await fetchChunk(client, queriesOf(endpoints(1)), span, unlimited, calls, logger, () => {});
    expect([...partial.incomplete]).toEqual([0]);
  });

  test('InternalError for a query fails the cycle; Forbidden is logged, counted and skipped; Messages are logged', async () => {
    cw.on(GetMetricDataCommand).resolvesOnce({
      MetricDataResults: [
        { Id: 'q0', StatusCode: 'Forbidden', Timestamps: [], Values: [] },
        { Id: 'q1', StatusCode: 'Complete', Timestamps: [], Values: [], Messages: [{ Code: 'ArithmeticError', Value: 'division by zero' }] },
      ],
      Messages: [{ Code: 'MaxMetricsExceeded', Value: 'too many' }],
    });
    const { forbidden } = await fetchAll(queriesOf(endpoints(2)));
    expect(forbidden).toBe(1);
    expect(warnings).toEqual(expect.arrayContaining(['GetMetricData message', 'GetMetricData result message', expect.stringContaining('Forbidden')]));

    cw.reset();
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', StatusCode: 'InternalError' }] });
    await expect(fetchAll(queriesOf(endpoints(1)))).rejects.toThrow(CloudWatchDataError);
  });
});

describe('RateLimiter', () => {
  test('spaces calls so that no second holds more than the limit, shared by every lane', async () => {
    let now = 0;
    const starts: number[] = [];
    const limiter = new RateLimiter(25, () => now, async (ms) => void (now += ms));
    for (let i = 0; i < 60; i++) {
      await limiter.take();
      starts.push(now);
    }
    for (const start of starts) expect(starts.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(25);
    expect(starts.at(-1)).toBeCloseTo(59 * 40, 6);
  });
});

describe('discoverMetrics', () => {
  test('ListMetrics per namespace, RecentlyActive PT3H, paginated, cached for the TTL', async () => {
    cw.on(ListMetricsCommand).resolves({ Metrics: [] });
    cw.on(ListMetricsCommand, { Namespace: 'AWS/SageMaker', NextToken: undefined }).resolves({ Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'a' }] }], NextToken: 't' });
    cw.on(ListMetricsCommand, { Namespace: 'AWS/SageMaker', NextToken: 't' }).resolves({ Metrics: [{ MetricName: 'ModelLatency', Dimensions: [] }] });
    const cache = new DiscoveryCache();
    const calls = new ApiCallCounter();
    const first = await discoverMetrics(client, ['AWS/SageMaker', 'Other'], cache, T, 600_000, calls);
    expect(first.map((m) => m.metricName)).toEqual(['Invocations', 'ModelLatency']);
    // Namespaces are listed at once; each one's pages in order.
    const inputs = cw.commandCalls(ListMetricsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual(
      expect.arrayContaining([
        { Namespace: 'AWS/SageMaker', RecentlyActive: 'PT3H', NextToken: undefined },
        { Namespace: 'AWS/SageMaker', RecentlyActive: 'PT3H', NextToken: 't' },
        { Namespace: 'Other', RecentlyActive: 'PT3H', NextToken: undefined },
      ]),
    );
    expect(inputs).toHaveLength(3);
    await discoverMetrics(client, ['AWS/SageMaker', 'Other'], cache, T + 599_000, 600_000, calls);
    expect(cw.commandCalls(ListMetricsCommand)).toHaveLength(3);
    await discoverMetrics(client, ['AWS/SageMaker'], cache, T + 600_000, 600_000, calls);
    expect(cw.commandCalls(ListMetricsCommand)).toHaveLength(5);
  });

  test('metrics with equal dimension lists share one list; a list that differs in a name, a value or the order has its own', async () => {
    const dims = (...pairs: [string | undefined, string | undefined][]) => pairs.map(([Name, Value]) => ({ Name, Value }));
    cw.on(ListMetricsCommand).resolves({
      Metrics: [
        { MetricName: 'Invocations', Dimensions: dims(['EndpointName', 'a'], ['VariantName', 'v']) },
        { MetricName: 'ModelLatency', Dimensions: dims(['EndpointName', 'a'], ['VariantName', 'v']) },
        { MetricName: 'Invocations', Dimensions: dims(['VariantName', 'v'], ['EndpointName', 'a']) },
        { MetricName: 'Invocations', Dimensions: dims(['EndpointName', 'a'], ['VariantName', 'w']) },
        { MetricName: 'Invocations', Dimensions: dims(['EndpointName', undefined]) },
        { MetricName: 'Invocations', Dimensions: dims(['EndpointName', '\u0002']) },
        { MetricName: 'Invocations' },
      ],
    });
    const [a, b, swapped, other, noValue, oddValue, none] = await discoverMetrics(client, ['AWS/SageMaker'], new DiscoveryCache(), T, 600_000, new ApiCallCounter());
    expect(a?.dimensions).toBe(b?.dimensions);
    expect(a?.dimensions).toEqual(dims(['EndpointName', 'a'], ['VariantName', 'v']));
    // A dimension in two lists is one object.
    expect(other?.dimensions[0]).toBe(a?.dimensions[0]);
    expect(swapped?.dimensions[1]).toBe(a?.dimensions[0]);
    expect(new Set([a, swapped, other, noValue, oddValue, none].map((m) => m?.dimensions)).size).toBe(6);
    expect([swapped, other, noValue, oddValue, none].map((m) => m?.dimensions)).toEqual([dims(['VariantName', 'v'], ['EndpointName', 'a']), dims(['EndpointName', 'a'], ['VariantName', 'w']), dims(['EndpointName', undefined]), dims(['EndpointName', '\u0002']), []]);
  });
});
