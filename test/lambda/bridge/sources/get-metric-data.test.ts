import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache } from '../../../../lambda/bridge/cloudwatch/discovery';
import { resolveConfig } from '../../../../contract/bridge-config';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';
import { GetMetricDataSource } from '../../../../lambda/bridge/sources/get-metric-data';
import type { PagePoints, SourcePlan } from '../../../../lambda/bridge/sources';
import { emptyState } from '../../../../lambda/bridge/state/state';

const MIN = 60_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
const cw = mockClient(CloudWatchClient);
const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
const variant = (endpoint: string, metric = 'ModelLatency') => ({ MetricName: metric, Dimensions: [{ Name: 'EndpointName', Value: endpoint }, { Name: 'VariantName', Value: 'v' }] });

function source(overrides: Record<string, unknown> = {}) {
  const config = resolveConfig({ namespaces: ['AWS/SageMaker'], sagemakerMetadata: false, ...overrides }, { AWS_REGION: 'us-east-1' });
  const calls = new ApiCallCounter();
  const deps = { cloudwatch: new CloudWatchClient({ region: 'us-east-1' }), discoveryCache: new DiscoveryCache(), baseLabels: { region: 'us-east-1' }, logger: quiet };
  return { source: new GetMetricDataSource({ config, catalog, deps, calls, startedAt: T }), calls };
}

const names = (plan: SourcePlan) => [...plan.reads()].flatMap((read) => read.series.map((s) => s.labels[0]?.value));

beforeEach(() => {
  cw.reset();
  cw.on(ListMetricsCommand).resolves({ Metrics: [variant('a'), variant('b', 'Invocations')] });
});

describe('GetMetricDataSource', () => {
  test('discovers with ListMetrics, keeps its shard, and plans one series per catalog template', async () => {
    const { source: all, calls } = source();
    await all.discover();
    const plan = all.plan({ startedAt: T, readStart: T - 17 * MIN, previous: emptyState() });
    expect(plan.discovered).toBe(2);
    expect(calls.count('cloudwatch', 'ListMetrics')).toBe(1);
    // ModelLatency: 13 queries, 14 series (SampleCount feeds the +Inf bucket and _count); Invocations: 1.
    expect(plan.queries).toBe(14);
    expect(names(plan)).toHaveLength(15);
    const { source: sharded } = source({ shard: { index: 1, count: 2 } });
    await sharded.discover();
    const other = sharded.plan({ startedAt: T, readStart: T - 17 * MIN, previous: emptyState() });
    const { source: first } = source({ shard: { index: 0, count: 2 } });
    await first.discover();
    expect(other.discovered + first.plan({ startedAt: T, readStart: T - 17 * MIN, previous: emptyState() }).discovered).toBe(2);
  });

  test('a statistic that feeds two series hands each page to both, once; an ended variant\'s series are marked', async () => {
    const { source: gmd } = source();
    await gmd.discover();
    const previous = { ...emptyState(), sagemaker: { endpoints: {}, configs: {}, ended: { 'a/v': T - 30 * MIN } } };
    const plan = gmd.plan({ startedAt: T, readStart: T - 17 * MIN, previous });
    const [read] = [...plan.reads()];
    if (!read) throw new Error('no read');
    expect(read.periodMs).toBe(MIN);
    const stream = [...Array(read.streams).keys()].find((s) => read.outputs(s).length === 2) as number;
    expect(read.outputs(stream).map((o) => read.series[o]?.labels[0]?.value)).toEqual(['aws_sagemaker_model_latency_seconds_bucket', 'aws_sagemaker_model_latency_seconds_count']);
    expect(read.series.filter((s) => s.ended).map((s) => s.labels.find((l) => l.name === 'endpoint_name')?.value)).toEqual(Array(14).fill('a'));
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
      MetricDataResults: input.MetricDataQueries?.map((q) => ({ Id: q.Id, Timestamps: [new Date(T - 10 * MIN)], Values: [4], StatusCode: 'Complete' })),
    }));
    const pages: PagePoints[][] = [];
    const outcome = await read.read({ start: T - 17 * MIN, end: T - 2 * MIN }, async (page) => void pages.push([...page]));
    expect(pages).toHaveLength(1);
    expect(pages[0]).toHaveLength(read.streams);
    expect(outcome).toEqual({ forbidden: 0, incomplete: new Set() });
    const call = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(call?.MetricDataQueries).toHaveLength(14);
    expect([call?.StartTime, call?.EndTime]).toEqual([new Date(T - 17 * MIN), new Date(T - 2 * MIN)]);
  });

  test('high-resolution metrics are read at the cycle period when the read starts past CloudWatch\'s 3 hours', async () => {
    cw.on(ListMetricsCommand).resolves({ Metrics: [variant('a', 'ConcurrentRequestsPerModel')] });
    const { source: withCatalog } = source({ highResolution: true });
    await withCatalog.discover();
    // ConcurrentRequestsPerModel is published every 10 s.
    const recent = [...withCatalog.plan({ startedAt: T, readStart: T - 17 * MIN, previous: emptyState() }).reads()];
    const old = [...withCatalog.plan({ startedAt: T, readStart: T - 200 * MIN, previous: emptyState() }).reads()];
    expect(recent.map((r) => r.periodMs)).toEqual([10_000]);
    expect(old.map((r) => r.periodMs)).toEqual([MIN]);
  });
});
