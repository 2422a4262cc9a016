import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { ListEndpointsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { fleetOf } from '../support/stand-ins/fleet';

/** The fleet-scale stand-in is as strict as AWS: every documented limit the benchmark relies on, through the real SDK. */
describe('fleet stand-in', () => {
  const fleet = fleetOf(100);
  const standIn = new AwsStandIn(fleet, { latencyMs: 100, recordBodies: false });
  let cloudwatch: CloudWatchClient;
  let sagemaker: SageMakerClient;
  // A day that started 3 to 4 days ago: CloudWatch answers 60 s periods only for start times within 15 days.
  const T = Math.floor(Date.now() / 86_400_000 - 4) * 86_400_000;

  const variants = fleet.endpoints.flatMap((e) => e.variants.map((v) => [{ Name: 'EndpointName', Value: e.name }, { Name: 'VariantName', Value: v.name }]));
  /** Invocations Sum of `count` variants: a datapoint in every period. */
  const invocations = (count: number, offset = 0): MetricDataQuery[] =>
    Array.from({ length: count }, (_, i) => ({
      Id: `q${i}`,
      MetricStat: { Metric: { Namespace: 'AWS/SageMaker', MetricName: 'Invocations', Dimensions: variants[(i + offset) % variants.length] }, Period: 60, Stat: 'Sum' },
    }));
  const getMetricData = (queries: MetricDataQuery[], minutes: number, nextToken?: string) =>
    cloudwatch.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(T), EndTime: new Date(T + minutes * 60_000), ScanBy: 'TimestampAscending', NextToken: nextToken }));

  beforeAll(async () => {
    await standIn.start();
    const env = standIn.env();
    const common = { region: env.AWS_REGION, credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, maxAttempts: 1 };
    cloudwatch = new CloudWatchClient({ ...common, endpoint: standIn.url });
    sagemaker = new SageMakerClient({ ...common, endpoint: standIn.url });
  });

  afterAll(async () => {
    cloudwatch.destroy();
    sagemaker.destroy();
    await standIn.stop();
  });

  beforeEach(() => standIn.resetCounts());

  test('the fleet: 100 variants in about 57 endpoints of one or two variants, one 4-core Neuron host per 10 variants', () => {
    expect(fleet.endpoints.flatMap((e) => e.variants)).toHaveLength(100);
    expect(fleet.endpoints).toHaveLength(57);
    expect(new Set(fleet.endpoints.map((e) => e.variants.length))).toEqual(new Set([1, 2]));
    expect(fleet.neuronHosts).toHaveLength(10);
    // 11 SageMaker metrics per variant, 19 per Neuron host, and one metric outside the catalog.
    expect(standIn.metricCount).toBe(100 * 11 + 10 * 19 + 1);
  });

  test('ListMetrics pages 500 metrics at a time', async () => {
    const first = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'AWS/SageMaker' }));
    expect(first.Metrics).toHaveLength(500);
    const second = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'AWS/SageMaker', NextToken: first.NextToken }));
    expect(second.Metrics).toHaveLength(701 - 500);
    expect(second.NextToken).toBeUndefined();
  });

  test('GetMetricData refuses more than 500 queries', async () => {
    await expect(getMetricData(invocations(501), 5)).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 }, message: expect.stringContaining('greater than 500') });
  });

  test('GetMetricData answers at most 100,800 datapoints, then NextToken; only first pages are billed', async () => {
    // 100 queries x one day of minutes = 144,000 datapoints: one full page and the rest.
    const queries = invocations(100);
    const first = await getMetricData(queries, 1440);
    const count = (page: typeof first) => (page.MetricDataResults ?? []).reduce((n, r) => n + (r.Values ?? []).length, 0);
    expect(count(first)).toBe(100_800);
    expect(first.NextToken).toBeDefined();
    const second = await getMetricData(queries, 1440, first.NextToken);
    expect(count(second)).toBe(144_000 - 100_800);
    expect(second.NextToken).toBeUndefined();
    expect(standIn.metricsRequested).toBe(100);
    expect(standIn.getMetricDataFirstPages).toBe(1);
    expect(standIn.counts.get('GetMetricData')).toBe(2);
    expect(standIn.datapointsServed).toBe(144_000);
    expect(standIn.distinctQueries.size).toBe(100);
  });

  test('the minimum of calls is counted per (StartTime, EndTime) window: reads of two windows never share a call', async () => {
    // 250 queries over 5 minutes and 250 over 10: ceil(500 / 500) = 1 would need one call of two windows.
    await getMetricData(invocations(250), 5);
    await getMetricData(invocations(250, 250), 10);
    expect(standIn.metricsRequested).toBe(500);
    expect(standIn.cloudwatch.getMetricDataMinimum()).toBe(2);
    // Reads of one window add up: 250 more over 5 minutes still fit the first window's one call; a third window is a third call.
    await getMetricData(invocations(250, 500), 5);
    expect(standIn.cloudwatch.getMetricDataMinimum()).toBe(2);
    await getMetricData(invocations(1), 15);
    expect(standIn.cloudwatch.getMetricDataMinimum()).toBe(3);
    // A window's datapoints past 100,800 take pages: 100 queries over a day need two.
    standIn.resetCounts();
    const first = await getMetricData(invocations(100), 1440);
    await getMetricData(invocations(100), 1440, first.NextToken);
    expect(standIn.cloudwatch.getMetricDataMinimum()).toBe(2);
  });

  test('past 50 GetMetricData calls in one second, CloudWatch answers Throttling; requests are served concurrently', async () => {
    // A fresh second: the calls of the tests before count against the quota too.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const outcomes = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => getMetricData(invocations(1, i), 5)));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as { name: string; $metadata: { httpStatusCode: number } });
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(50);
    expect(refused).toHaveLength(10);
    expect(refused.every((e) => e.name === 'Throttling' && e.$metadata.httpStatusCode === 400)).toBe(true);
    expect(standIn.throttled.get('GetMetricData')).toBe(10);
    // The SDK opens up to 50 sockets; with 100 ms of latency the stand-in held many of them at once, not one after another.
    expect(standIn.peakInFlight).toBeGreaterThanOrEqual(10);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expect(getMetricData(invocations(1), 5)).resolves.toBeDefined();
  });

  test('timings precomputed ahead of a catch-up answer exactly what drawing them at read time answers, fine and coarse', async () => {
    const stats = ['Sum', 'SampleCount', 'p90', 'TC(:25000)', 'TC(:50000)'];
    const queries = (period: number, asked: readonly string[] = stats): MetricDataQuery[] =>
      variants.slice(0, 6).flatMap((dims, v) =>
        ['ModelLatency', 'OverheadLatency'].flatMap((metricName, m) =>
          asked.map((stat, s) => ({ Id: `q${v}_${m}_${s}`, MetricStat: { Metric: { Namespace: 'AWS/SageMaker', MetricName: metricName, Dimensions: dims }, Period: period, Stat: stat } })),
        ),
      );
    const periods = [60, 900, 3600];
    const answer = async (period: number) => (await getMetricData(queries(period), 120)).MetricDataResults;
    const drawn = await Promise.all(periods.map(answer));
    expect(drawn.flat().every((r) => (r?.Values ?? []).length > 0)).toBe(true);
    // Half the span held: the reads cross from held minutes to minutes drawn at read time.
    const held = standIn.cloudwatch.precomputeMinutes(T, T + 60 * 60_000);
    expect(held).toBe(100 * 2 * 60);
    try {
      expect(await Promise.all(periods.map(answer))).toEqual(drawn);
      // The coarse sums (Sum, SampleCount, TC) on their own come from the held minutes too.
      const additive = stats.filter((stat) => stat !== 'p90');
      const hitsBefore = standIn.cloudwatch.precomputed.hits;
      const sums = (await getMetricData(queries(3600, additive), 120)).MetricDataResults;
      expect(standIn.cloudwatch.precomputed.hits).toBeGreaterThan(hitsBefore);
      expect(sums?.map((r) => r.Values)).toEqual(drawn[2]?.filter((r) => !r.Id?.endsWith('_2')).map((r) => r.Values));
    } finally {
      standIn.cloudwatch.clearPrecomputed();
    }
  });

  test('ListEndpoints: MaxResults 1 to 100 (default 10), NextToken, newest first, and the documented filters', async () => {
    await expect(sagemaker.send(new ListEndpointsCommand({ MaxResults: 101 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(sagemaker.send(new ListEndpointsCommand({ MaxResults: 0 }))).rejects.toMatchObject({ name: 'ValidationException' });
    const byDefault = await sagemaker.send(new ListEndpointsCommand({}));
    expect(byDefault.Endpoints).toHaveLength(10);
    expect(byDefault.Endpoints?.[0]?.EndpointName).toBe(fleet.endpoints[fleet.endpoints.length - 1]?.name);
    standIn.resetCounts();
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sagemaker.send(new ListEndpointsCommand({ MaxResults: 25, NextToken: nextToken, SortBy: 'Name', SortOrder: 'Ascending' }));
      names.push(...(page.Endpoints ?? []).map((e) => e.EndpointName as string));
      nextToken = page.NextToken;
    } while (nextToken);
    expect(names).toEqual(fleet.endpoints.map((e) => e.name));
    expect(standIn.counts.get('ListEndpoints')).toBe(3);

    const third = fleet.endpoints[2];
    const createdAt = third?.createdAt as number;
    const created = await sagemaker.send(new ListEndpointsCommand({ MaxResults: 100, CreationTimeAfter: new Date(createdAt * 1000) }));
    expect(created.Endpoints).toHaveLength(fleet.endpoints.length - 2);

    const modified = new Date(Date.UTC(2026, 0, 1));
    expect((await sagemaker.send(new ListEndpointsCommand({ MaxResults: 100, LastModifiedTimeAfter: modified }))).Endpoints).toHaveLength(0);
    standIn.updateEndpoint(third?.name as string, [{ name: 'AllTraffic', instanceType: 'ml.g5.xlarge', instances: 4, weight: 1 }], modified.getTime() / 1000 + 60);
    const changed = await sagemaker.send(new ListEndpointsCommand({ MaxResults: 100, LastModifiedTimeAfter: modified }));
    expect(changed.Endpoints?.map((e) => e.EndpointName)).toEqual([third?.name]);
  });
});
