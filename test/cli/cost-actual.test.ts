import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { CostExplorer, CostExplorerAccessError } from '../../cli/cost-explorer';
import { dailyIncreases } from '../../cli/cost-actual';
import { sigv4Auth } from '../../lambda/bridge/remote-write/client';
import { encodeWriteRequest } from '../../lambda/bridge/remote-write/encode';
import type { TimeSeries } from '../../lambda/bridge/series';
import { ensurePrometheus, LocalPrometheus } from '../support/harness/prometheus';
import { CE_ACCESS_KEY, CE_SECRET, CostExplorerStandIn } from '../support/stand-ins/cost-explorer-stand-in';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** Per real-time variant and cycle with histograms: 38 statistics, 18 metrics of up to five statistics. */
const PER_STAT = 38;
const FIVE_STATS = 18;
const VARIANTS = ['blue', 'green'];

const prometheus = new LocalPrometheus();
const ce = new CostExplorerStandIn();
let work: string;
let config: string;
/** What the seeded bridge requested in us-east-2 per UTC day: [per statistic, per metric of up to five]. */
const requested = new Map<string, [number, number]>();

const labels = (name: string, extra: Record<string, string>) =>
  Object.entries({ __name__: name, ...extra })
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([n, value]) => ({ name: n, value }));

/**
 * A bridge in us-east-2 every 5 minutes from 4 days ago 06:00 to now, its state lost once (counters restart) two days
 * ago at noon; another in us-west-2 that the reconciliation must leave out.
 */
function bridgeHistory(): TimeSeries[] {
  const series: TimeSeries[] = [];
  const counter = (region: string, billing: string, perCycle: number) => {
    const samples: Array<{ timestamp: number; value: number }> = [];
    let value = 0;
    for (let t = TODAY - 4 * DAY + 6 * 3600_000 + 120_000; t < Date.now() - 60_000; t += 300_000) {
      value = t >= TODAY - 2 * DAY + 12 * 3600_000 && t < TODAY - 2 * DAY + 12 * 3600_000 + 300_000 ? perCycle : value + perCycle;
      samples.push({ timestamp: t, value });
      if (region === 'us-east-2' && t < TODAY) {
        const counts = requested.get(day(t)) ?? [0, 0];
        counts[billing === 'per_statistic' ? 0 : 1] += perCycle;
        requested.set(day(t), counts);
      }
    }
    series.push({ labels: labels('inferwatch_bridge_cloudwatch_metrics_requested_total', { billing, region, account_id: '123456789012' }), samples, kind: 'counter' });
  };
  for (const region of ['us-east-2', 'us-west-2']) {
    counter(region, 'per_statistic', PER_STAT * VARIANTS.length);
    counter(region, 'per_metric_5_stats', FIVE_STATS * VARIANTS.length);
    for (const variant of VARIANTS) {
      const samples = (series.find((s) => s.labels.some((l) => l.value === region))?.samples ?? []).map((s) => ({ timestamp: s.timestamp, value: 1 }));
      series.push({ labels: labels('aws_sagemaker_variant_weight', { region, endpoint_name: 'churn', variant_name: variant, state: 'current', account_id: '123456789012' }), samples, kind: 'gauge' });
    }
  }
  return series;
}

beforeAll(async () => {
  ensurePrometheus(() => {});
  await Promise.all([prometheus.start(), ce.start()]);
  const response = await fetch(prometheus.remoteWriteUrl, {
    method: 'POST',
    headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    body: encodeWriteRequest(bridgeHistory()),
  });
  expect(response.status).toBe(204);
  work = mkdtempSync(join(tmpdir(), 'inferwatch-cost-actual-'));
  config = join(work, 'bridge.yaml');
  writeFileSync(config, `region: us-east-2\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
  Object.assign(process.env, ce.env());
});

afterAll(async () => {
  for (const key of Object.keys(ce.env())) delete process.env[key];
  await Promise.all([prometheus.stop(), ce.stop()]);
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  ce.lines.length = 0;
  ce.requests.length = 0;
  ce.denied = false;
  ce.estimatedDays = 1;
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const code = await main(['node', 'inferwatch', 'cost', ...args]);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

/** The bill of the seeded days as CloudWatch would count it under `reading`, plus noise the filter must leave out. */
function billAs(reading: 0 | 1): void {
  for (const [d, counts] of requested) {
    ce.bill(d, 'us-east-2', 'USE2-CW:GMD-Metrics', counts[reading]);
    ce.bill(d, 'us-east-2', 'USE2-CW:Requests', 5000);
    ce.bill(d, 'us-west-2', 'USW2-CW:GMD-Metrics', 99_999);
    ce.bill(d, 'us-east-2', 'USE2-TimedStorage-ByteHrs', 1, 'AmazonS3');
  }
}

describe('inferwatch cost --actual', () => {
  test('a bill that counts five statistics of a metric as one: the per_metric_5_stats reading, and $ per variant-month', async () => {
    billAs(1);
    const { code, out, err } = await run('--actual', '--days', '5', '-c', config);
    expect(err).toBe('');
    expect(code).toBe(0);
    // The bridge ran on the last 4 days; the last is still estimated: 3 final days compared.
    const final = [4, 3, 2].map((n) => day(TODAY - n * DAY));
    const five = final.reduce((n, d) => n + (requested.get(d)?.[1] ?? 0), 0);
    const perStat = final.reduce((n, d) => n + (requested.get(d)?.[0] ?? 0), 0);
    expect(out).toContain(`compared 3 final day(s): billed ${five} metrics; the bridge counted ${perStat} per statistic, ${five} per metric with up to five statistics`);
    expect(out).toMatch(/the bill follows: per_metric_5_stats \(the bill is within 1% of the count per metric with up to five statistics\)/);
    // Two variants a day, $0.01 per 1,000 metrics, over the whole days: the first day the bridge ran (from 06:00) is left out.
    const whole = final.slice(1).reduce((n, d) => n + (requested.get(d)?.[1] ?? 0), 0);
    expect(out).toContain(`measured GetMetricData cost per variant-month: $${(((whole * 0.01) / 1000 / (2 * 2)) * 30).toFixed(3)} (2 whole day(s))`);
    expect(out).toMatch(new RegExp(`^${day(TODAY - DAY)} +\\d+ +[\\d.]+ +\\d+ +\\d+ +2 +estimated$`, 'm'));
    // Days follow NextPageToken (3 a page), the end date exclusive (today), from the first day the bridge ran.
    expect(ce.requests.map((r) => [(r.TimePeriod as { Start: string }).Start, (r.TimePeriod as { End: string }).End, r.NextPageToken])).toEqual([
      [day(TODAY - 4 * DAY), day(TODAY), undefined],
      [day(TODAY - 4 * DAY), day(TODAY), 'page-1'],
    ]);
    expect(ce.requests[0]).toMatchObject({ Granularity: 'DAILY', GroupBy: [{ Type: 'DIMENSION', Key: 'USAGE_TYPE' }] });
  });

  test('a bill that counts every statistic: the per_statistic reading', async () => {
    billAs(0);
    const { code, out } = await run('--actual', '--days', '5', '-c', config);
    expect(code).toBe(0);
    expect(out).toMatch(/the bill follows: per_statistic \(the bill is within 1% of the per-statistic count\)/);
  });

  test('other GetMetricData callers on top: undecided, saying why', async () => {
    billAs(0);
    for (const [d] of requested) ce.bill(d, 'us-east-2', 'USE2-CW:GMD-Metrics', 50_000);
    const { out } = await run('--actual', '--days', '5', '-c', config);
    expect(out).toMatch(/the bill follows: undecided \(the bill is above both counts: something else calls GetMetricData/);
  });

  test('no ce:GetCostAndUsage: exit 1, the message names the permission and says the Lambda never needs it', async () => {
    ce.denied = true;
    const { code, err } = await run('--actual', '--days', '5', '-c', config);
    expect(code).toBe(1);
    expect(err).toContain('Cost Explorer GetCostAndUsage failed with HTTP 400 AccessDeniedException: User: arn:aws:iam::123456789012:user/analyst is not authorized');
    expect(err).toContain('Grant the user running the CLI "ce:GetCostAndUsage"');
    expect(err).toContain('The bridge Lambda never needs it');
  });

  test('a lookback beyond 14 months is a usage error (exit 2), before any call', async () => {
    const { code, err } = await run('--actual', '--days', '500', '-c', config);
    expect(code).toBe(2);
    expect(err).toMatch(/--days 500 reaches before \d{4}-\d{2}-\d{2}: Cost Explorer keeps 14 months of daily data/);
    expect(ce.requests).toHaveLength(0);
  });

  test('a region the bridge never ran in is a usage error naming the receiver', async () => {
    const other = join(work, 'other.yaml');
    writeFileSync(other, `region: eu-west-1\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
    const { code, err } = await run('--actual', '--days', '5', '-c', other);
    expect(code).toBe(2);
    expect(err).toContain('has no inferwatch_bridge_cloudwatch_metrics_requested_total for region eu-west-1');
  });
});

describe('the Cost Explorer stand-in is as strict as the API', () => {
  const signed = async (input: Record<string, unknown>, region = 'us-east-1') => {
    const url = new URL(ce.url);
    const body = new TextEncoder().encode(JSON.stringify(input));
    const headers = await sigv4Auth(region, { accessKeyId: CE_ACCESS_KEY, secretAccessKey: CE_SECRET }, 'ce')({
      url,
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSInsightsIndexService.GetCostAndUsage' },
      body,
    });
    const response = await fetch(url, { method: 'POST', headers, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const valid = { TimePeriod: { Start: day(TODAY - 5 * DAY), End: day(TODAY) }, Granularity: 'DAILY', Metrics: ['UsageQuantity'] };

  test.each([
    ['the end date is exclusive: Start = End is refused', { ...valid, TimePeriod: { Start: day(TODAY), End: day(TODAY) } }, 'ValidationException'],
    ['beyond 14 months', { ...valid, TimePeriod: { Start: day(TODAY - 430 * DAY), End: day(TODAY) } }, 'ValidationException'],
    ['Metrics required', { ...valid, Metrics: [] }, 'ValidationException'],
    ['metric names are case-sensitive', { ...valid, Metrics: ['usageQuantity'] }, 'ValidationException'],
    ['And needs two expressions', { ...valid, Filter: { And: [{ Dimensions: { Key: 'SERVICE', Values: ['AmazonCloudWatch'] } }] } }, 'ValidationException'],
    ['an unknown token', { ...valid, NextPageToken: 'forged' }, 'InvalidNextTokenException'],
  ])('%s', async (_, input, code) => {
    const answer = await signed(input);
    expect([answer.status, answer.body.__type]).toEqual([400, code]);
  });

  test('a request changed between pages is refused; a signature for another region too', async () => {
    const first = await signed(valid);
    expect(first.body.NextPageToken).toBeDefined();
    const changed = await signed({ ...valid, Metrics: ['UnblendedCost'], NextPageToken: first.body.NextPageToken });
    expect([changed.status, changed.body.__type]).toEqual([400, 'RequestChangedException']);
    const elsewhere = await signed(valid, 'eu-west-1');
    expect([elsewhere.status, elsewhere.body.__type]).toEqual([403, 'InvalidSignatureException']);
  });

  test('the client raises AccessDenied as CostExplorerAccessError (fix the permissions, do not retry)', async () => {
    ce.denied = true;
    const client = new CostExplorer({ endpoint: ce.url, credentials: async () => ({ accessKeyId: CE_ACCESS_KEY, secretAccessKey: CE_SECRET }) });
    await expect(client.getMetricDataUsage('us-east-2', day(TODAY - DAY), day(TODAY))).rejects.toBeInstanceOf(CostExplorerAccessError);
  });
});

describe('dailyIncreases', () => {
  const T = Date.UTC(2026, 10, 1);
  test('rises go to the day of the later sample; a drop is a reset; the first sample counts only when the series began inside', () => {
    const samples: Array<readonly [number, number]> = [
      [T - 3600_000, 500], // baseline before the window
      [T + 3600_000, 510],
      [T + DAY + 60_000, 4], // reset: 4 new
      [T + DAY + 120_000, 10],
    ];
    expect(Object.fromEntries(dailyIncreases({ metric: {}, samples }, T))).toEqual({ [day(T)]: 10, [day(T + DAY)]: 10 });
    expect(Object.fromEntries(dailyIncreases({ metric: {}, samples: samples.slice(1) }, T))).toEqual({ [day(T)]: 510, [day(T + DAY)]: 10 });
  });
});
