import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { AwsStandIn } from './aws-stand-in';
import { countAtMost, isStatistic, LATENCY_PROFILES, rawLatencies, statisticOf } from './latency-distribution';

const values = (...v: number[]) => Float64Array.from(v).sort();

describe('raw latency values', () => {
  test('deterministic per seed, ascending, different per profile', () => {
    const a = rawLatencies('m|1', 'fast', 500, 1e6);
    expect(rawLatencies('m|1', 'fast', 500, 1e6)).toEqual(a);
    expect(rawLatencies('m|2', 'fast', 500, 1e6)).not.toEqual(a);
    for (const profile of LATENCY_PROFILES) {
      const v = rawLatencies('m|1', profile, 2000, 1);
      expect(v).toHaveLength(2000);
      expect(v.every((x, i) => i === 0 || x >= (v[i - 1] as number))).toBe(true);
    }
    const p99 = (profile: (typeof LATENCY_PROFILES)[number]) => statisticOf(rawLatencies('m|1', profile, 5000, 1), 'p99') as number;
    // fast/narrow stays in tens of ms; slow/wide and the bimodal tail reach far past it.
    expect(p99('fast')).toBeLessThan(0.05);
    expect(p99('slow')).toBeGreaterThan(0.4);
    expect(p99('bimodal')).toBeGreaterThan(0.5);
    const bimodal = rawLatencies('m|1', 'bimodal', 5000, 1);
    expect(statisticOf(bimodal, 'p50') as number).toBeLessThan(0.03);
  });
});

describe('CloudWatch statistics of raw values (Statistics definitions page)', () => {
  test('SampleCount, Sum, Average, Minimum, Maximum, nearest-rank percentiles', () => {
    const v = values(10, 20, 30, 40, 50, 60, 70, 80, 90, 100);
    expect(['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum', 'p50', 'p90', 'p99', 'p100'].map((s) => statisticOf(v, s))).toEqual([10, 550, 55, 10, 100, 50, 90, 100, 100]);
    expect(statisticOf(new Float64Array(0), 'SampleCount')).toBeUndefined();
  });

  test('TC and PR: lower bound exclusive, upper bound inclusive; PR is TC as a percentage', () => {
    // Values far apart (each in a bin of its own): counts are exact.
    const v = values(100, 200, 300, 400);
    expect(statisticOf(v, 'TC(:200)')).toBe(2);
    expect(statisticOf(v, 'TC(200:300)')).toBe(1);
    expect(statisticOf(v, 'TC(100:)')).toBe(3);
    expect(statisticOf(v, 'TC(:99)')).toBe(0);
    expect(statisticOf(v, 'PR(:300)')).toBe(75);
    expect(statisticOf(v, 'PR(100:400)')).toBe(75);
  });

  test('TC may be fractional: a bound inside a bin of close values is interpolated, and the count stays monotone', () => {
    const v = values(1000, 1001, 1002, 1003, 5000);
    const tc = statisticOf(v, 'TC(:1001.2)') as number;
    expect(Number.isInteger(tc)).toBe(false);
    expect(tc).toBeGreaterThan(1);
    expect(tc).toBeLessThan(4);
    let previous = 0;
    for (let x = 990; x <= 1010; x += 0.25) {
      const n = countAtMost(v, x);
      expect(n).toBeGreaterThanOrEqual(previous);
      previous = n;
    }
    expect(countAtMost(v, 1003)).toBe(4);
    expect(countAtMost(v, 5000)).toBe(5);
  });

  test('no percentile-type statistics over negative values', () => {
    expect(statisticOf(values(-1, 2, 3), 'p50')).toBeUndefined();
    expect(statisticOf(values(-1, 2, 3), 'TC(:2)')).toBeUndefined();
    expect(statisticOf(values(-1, 2, 3), 'Sum')).toBe(4);
  });

  test('the statistic syntax', () => {
    for (const ok of ['Sum', 'SampleCount', 'p99', 'p99.9', 'tc90', 'TC(:5000)', 'TC(0.005:0.03)', 'TC(10%:90%)', 'PR(:300)', 'PR(100:2000)', 'IQM', 'TM(2%:98%)']) expect([ok, isStatistic(ok)]).toEqual([ok, true]);
    for (const bad of ['Median', 'p', 'TC', 'TC(5000)', 'tc(:5)', 'Min', 'PR(:x)', '']) expect([bad, isStatistic(bad)]).toEqual([bad, false]);
  });

  test('GetMetricData refuses the whole call for a string that is no statistic, and answers TC from the raw values', async () => {
    const standIn = await new AwsStandIn({ endpoints: [{ name: 'e', variants: [{ name: 'v', instanceType: 'ml.m5.large', instances: 1, weight: 1, latencyProfile: 'slow' }] }], neuronHosts: [], neuronNamespace: 'n' }).start();
    try {
      const client = new CloudWatchClient({ region: 'us-east-2', endpoint: standIn.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      const dims = [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }];
      const t = 1_800_000_000_000;
      const ask = (stats: string[]) =>
        client.send(
          new GetMetricDataCommand({
            StartTime: new Date(t),
            EndTime: new Date(t + 60_000),
            ScanBy: 'TimestampAscending',
            MetricDataQueries: stats.map((Stat, i) => ({ Id: `q${i}`, MetricStat: { Metric: { Namespace: 'AWS/SageMaker', MetricName: 'ModelLatency', Dimensions: dims }, Period: 60, Stat } })),
          }),
        );
      await expect(ask(['SampleCount', 'Median'])).rejects.toMatchObject({ name: expect.stringMatching(/^Validation/) as unknown, message: expect.stringContaining('MetricDataQueries.member.2.MetricStat.Stat') as unknown });
      const answer = await ask(['SampleCount', 'TC(:100000)', 'PR(:100000)']);
      const raw = standIn.rawValuesAt('AWS/SageMaker', 'ModelLatency', dims, t);
      const [count, tc, pr] = (answer.MetricDataResults ?? []).map((r) => r.Values?.[0] as number);
      expect(count).toBe(raw.length);
      expect(tc).toBeCloseTo(countAtMost(raw, 100000), 9);
      expect(pr).toBeCloseTo((100 * (tc as number)) / (count as number), 9);
      client.destroy();
    } finally {
      await standIn.stop();
    }
  });
});
