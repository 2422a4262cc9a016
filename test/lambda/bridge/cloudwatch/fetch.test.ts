import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache, discoverMetrics, type DiscoveredMetric } from '../../../../lambda/bridge/cloudwatch/discovery';
import { CloudWatchDataError, fetchMetricData } from '../../../../lambda/bridge/cloudwatch/fetch';
import { planQueries } from '../../../../lambda/bridge/cloudwatch/plan';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';

const cw = mockClient(CloudWatchClient);
const client = new CloudWatchClient({ region: 'us-east-1' });
const T = 1_800_000_000_000;
const window = { start: T, end: T + 300_000, readStart: T - 600_000 };
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

describe('planQueries', () => {
  test('one query per metric and statistic, with labels from dimensions plus the base labels', () => {
    const plan = planQueries([{ namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }] }], catalog, { region: 'us-east-1' }, 1024);
    expect(plan.queries.map((q) => q.template.stat)).toEqual(['Sum', 'SampleCount', 'p50', 'p90', 'p99']);
    expect(plan.queries[2]?.labels).toEqual({ endpoint_name: 'e', variant_name: 'v', quantile: '0.5', region: 'us-east-1' });
  });

  test('two CloudWatch metrics landing on one series: the second is skipped and reported', () => {
    const metrics: DiscoveredMetric[] = [
      { namespace: 'neuron_monitor', metricName: 'NeuronCoreUtilization', dimensions: [{ Name: 'NeuronCore', Value: '0' }] },
      { namespace: 'neuron_monitor', metricName: 'NeuronCore Utilization', dimensions: [{ Name: 'NeuronCore', Value: '0' }] },
    ];
    const plan = planQueries(metrics, catalog, {}, 1024);
    expect(plan.queries).toHaveLength(1);
    expect(plan.collisions).toHaveLength(1);
  });
});

describe('fetchMetricData', () => {
  test('1,100 queries take exactly 3 calls of at most 500, one window, oldest first', async () => {
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({ Id: q.Id, Timestamps: [new Date(T)], Values: [50], StatusCode: 'Complete' })),
    }));
    const plan = planQueries(endpoints(1100), catalog, {}, 1024);
    const calls = new ApiCallCounter();
    const outcome = await fetchMetricData(client, plan.queries, window, 60, calls, logger);
    const inputs = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.MetricDataQueries?.length)).toEqual([500, 500, 100]);
    for (const input of inputs) {
      expect(input).toMatchObject({ StartTime: new Date(window.readStart), EndTime: new Date(window.end), ScanBy: 'TimestampAscending' });
      expect(new Set(input.MetricDataQueries?.map((q) => q.Id)).size).toBe(input.MetricDataQueries?.length);
      expect(input.MetricDataQueries?.every((q) => q.MetricStat?.Period === 60 && /^[a-z][a-zA-Z0-9_]*$/.test(q.Id ?? ''))).toBe(true);
    }
    expect(outcome.points.every((p) => p.length === 1 && p[0]?.[1] === 50)).toBe(true);
    expect(calls.count('cloudwatch', 'GetMetricData')).toBe(3);
    expect(calls.metricsRequested).toBe(1100);
  });

  test('follows NextToken and merges one query across pages', async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(T)], Values: [1], StatusCode: 'PartialData' }], NextToken: 'page2' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(T + 60_000)], Values: [2], StatusCode: 'Complete' }] });
    const calls = new ApiCallCounter();
    const outcome = await fetchMetricData(client, planQueries(endpoints(1), catalog, {}, 1024).queries, window, 60, calls, logger);
    expect(outcome.points[0]).toEqual([
      [T, 1],
      [T + 60_000, 2],
    ]);
    expect(cw.commandCalls(GetMetricDataCommand)[1]?.args[0].input.NextToken).toBe('page2');
    expect(calls.metricsRequested).toBe(1);
  });

  test('InternalError for a query fails the cycle; Forbidden is logged, counted and skipped; Messages are logged', async () => {
    cw.on(GetMetricDataCommand).resolvesOnce({
      MetricDataResults: [
        { Id: 'q0', StatusCode: 'Forbidden', Timestamps: [], Values: [] },
        { Id: 'q1', StatusCode: 'Complete', Timestamps: [], Values: [], Messages: [{ Code: 'ArithmeticError', Value: 'division by zero' }] },
      ],
      Messages: [{ Code: 'MaxMetricsExceeded', Value: 'too many' }],
    });
    const outcome = await fetchMetricData(client, planQueries(endpoints(2), catalog, {}, 1024).queries, window, 60, new ApiCallCounter(), logger);
    expect(outcome.forbidden).toBe(1);
    expect(warnings).toEqual(expect.arrayContaining(['GetMetricData message', 'GetMetricData result message', expect.stringContaining('Forbidden')]));

    cw.reset();
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', StatusCode: 'InternalError' }] });
    await expect(fetchMetricData(client, planQueries(endpoints(1), catalog, {}, 1024).queries, window, 60, new ApiCallCounter(), logger)).rejects.toThrow(CloudWatchDataError);
  });
});

describe('discoverMetrics', () => {
  test('ListMetrics per namespace, RecentlyActive PT3H, paginated, cached for the TTL', async () => {
    cw.on(ListMetricsCommand)
      .resolvesOnce({ Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'a' }] }], NextToken: 't' })
      .resolvesOnce({ Metrics: [{ MetricName: 'ModelLatency', Dimensions: [] }] })
      .resolves({ Metrics: [] });
    const cache = new DiscoveryCache();
    const calls = new ApiCallCounter();
    const first = await discoverMetrics(client, ['AWS/SageMaker', 'Other'], cache, T, 600_000, calls);
    expect(first.map((m) => m.metricName)).toEqual(['Invocations', 'ModelLatency']);
    const inputs = cw.commandCalls(ListMetricsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { Namespace: 'AWS/SageMaker', RecentlyActive: 'PT3H', NextToken: undefined },
      { Namespace: 'AWS/SageMaker', RecentlyActive: 'PT3H', NextToken: 't' },
      { Namespace: 'Other', RecentlyActive: 'PT3H', NextToken: undefined },
    ]);
    await discoverMetrics(client, ['AWS/SageMaker', 'Other'], cache, T + 599_000, 600_000, calls);
    expect(cw.commandCalls(ListMetricsCommand)).toHaveLength(3);
    await discoverMetrics(client, ['AWS/SageMaker'], cache, T + 600_000, 600_000, calls);
    expect(cw.commandCalls(ListMetricsCommand)).toHaveLength(4);
  });
});
