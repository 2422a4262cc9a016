import { Sha256 } from '@aws-crypto/sha256-js';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SignatureV4 } from '@smithy/signature-v4';
import { resolveConfig } from '../../../../../contract/bridge-config';
import { RecoverableError } from '../../../../../contract/errors';
import { Catalog, loadDefaultCatalog } from '../../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache } from '../../../../../lambda/bridge/cloudwatch/discovery';
import { RateLimiter } from '../../../../../lambda/bridge/concurrency';
import { consoleLogger } from '../../../../../lambda/bridge/logger';
import { ApiCallCounter } from '../../../../../lambda/bridge/self-metrics';
import { cycleSources, type PagePoints, type SourceRead } from '../../../../../lambda/bridge/sources';
import { PromQlClient, PromQlRequestError } from '../../../../../lambda/bridge/sources/promql/client';
import { forgetPromQlListings, PromQlSource, promQlEndpoint } from '../../../../../lambda/bridge/sources/promql/promql-source';
import { newSeriesState } from '../../../../../lambda/bridge/state/series-state';
import { emptyState } from '../../../../../lambda/bridge/state/state';
import { CloudWatchPromQlStandIn, STAND_IN_ACCESS_KEY } from '../../../../support/stand-ins/cloudwatch-promql-stand-in';

const REGION = 'us-east-2';
const MINUTE = 60_000;
const credentials = { accessKeyId: STAND_IN_ACCESS_KEY, secretAccessKey: 'stand-in-secret' };
const standIn = new CloudWatchPromQlStandIn(REGION);
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
const gpu = (host: string, extra: Record<string, string> = {}) => ({
  __name__: 'DCGM_FI_DEV_GPU_UTIL',
  'aws.sagemaker.endpoint.name': 'llm-a',
  '@resource.host.id': host,
  gpu: '0',
  ...extra,
});

const client = (sleep: (ms: number) => Promise<void> = async () => {}) =>
  new PromQlClient({ endpoint: standIn.url, region: REGION, credentials, limiter: new RateLimiter(1000), maxInFlight: 2, sleep });

beforeAll(() => standIn.start());
afterAll(() => standIn.stop());
beforeEach(() => {
  standIn.series.length = 0;
  standIn.calls.length = 0;
  standIn.denyAll = false;
  standIn.tps = Infinity;
  forgetPromQlListings();
});

describe('the PromQL stand-in is as strict as CloudWatch', () => {
  const query = (q: string, extra: Record<string, string> = {}) => client().queryRange(q, NOW - 10 * MINUTE, NOW, MINUTE, Number(extra.limit ?? 500));

  test('unsigned, or signed for another service, is 403', async () => {
    const unsigned = await fetch(`${standIn.url}/api/v1/query_range?query=${encodeURIComponent('{"x"}')}&start=0&end=60&step=60`);
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    const url = new URL('/api/v1/series', standIn.url);
    const signer = new SignatureV4({ service: 'aps', region: REGION, credentials, sha256: Sha256 });
    const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: { 'match[]': '{"x"}' }, headers: { host: url.host } });
    url.searchParams.set('match[]', '{"x"}');
    const wrongService = await fetch(url, { headers: Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host')) });
    expect(wrongService.status).toBe(403);
    expect(((await wrongService.json()) as { message: string }).message).toContain('expected us-east-2/monitoring, got us-east-2/aps');
  });

  test('a selector without a metric name, or with a bare dotted name, is 400 bad_data', async () => {
    await expect(query('{"aws.sagemaker.endpoint.name"="llm-a"}')).rejects.toMatchObject({ status: 400, errorType: 'bad_data', message: expect.stringContaining('must select a metric by name') });
    await expect(query('{__name__=~"DCGM.*"}')).rejects.toMatchObject({ status: 400, errorType: 'bad_data' });
    await expect(query('http.server.active_requests')).rejects.toMatchObject({ status: 400, message: expect.stringContaining('parse error') });
    await expect(query('{"x", @resource.host.id="i"}')).rejects.toMatchObject({ status: 400, message: expect.stringContaining('must be quoted') });
    await expect(client().series('{"aws.sagemaker.endpoint.name"="llm-a"}', NOW - MINUTE, NOW, 10)).rejects.toBeInstanceOf(PromQlRequestError);
  });

  test('at most 500 series: a larger limit is 400, more matching series are cut to the limit', async () => {
    for (const host of ['i-1', 'i-2', 'i-3']) standIn.series.push({ labels: gpu(host), temporality: 'gauge', samples: [[NOW - 30_000, 50]] });
    await expect(query('{"DCGM_FI_DEV_GPU_UTIL"}', { limit: '501' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('from 1 to 500') });
    expect(await query('{"DCGM_FI_DEV_GPU_UTIL"}', { limit: '2' })).toHaveLength(2);
  });

  test('a scan over 24 hours is 400', async () => {
    await expect(client().queryRange('{"x"}', NOW - 24 * 3600_000, NOW, 3600_000, 10)).rejects.toMatchObject({ status: 400, message: expect.stringContaining('24 hours') });
    await expect(client().queryRange('sum_over_time({"x"}[1h])', NOW - 23.5 * 3600_000, NOW, 3600_000, 10)).rejects.toMatchObject({ status: 400 });
    await expect(client().queryRange('sum_over_time({"x"}[1h])', NOW - 22 * 3600_000, NOW, 3600_000, 10)).resolves.toEqual([]);
  });

  test('throttling (429) is retried; access denied is not', async () => {
    standIn.tps = 1;
    // The backoff waits out the stand-in's one-second window, whatever the jitter drew.
    const c = client(() => new Promise((resolve) => setTimeout(resolve, 1000)));
    await Promise.all([c.series('{"x"}', NOW - MINUTE, NOW, 10), c.series('{"x"}', NOW - MINUTE, NOW, 10)]);
    const statuses = standIn.calls.map((call) => call.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(2);
    expect(statuses.filter((status) => status !== 200).every((status) => status === 429) && statuses.includes(429)).toBe(true);
    standIn.denyAll = true;
    await expect(c.series('{"x"}', NOW - MINUTE, NOW, 10)).rejects.toMatchObject({ status: 403, errorType: 'AccessDeniedException', message: expect.stringContaining('cloudwatch:GetMetricData') });
  });
});

describe('PromQlSource', () => {
  const context = (promql: Record<string, unknown> = {}) => ({
    config: resolveConfig({ region: REGION, remoteWrite: { url: 'http://127.0.0.1:1/api/v1/write' }, promql: { enabled: true, endpoint: standIn.url, ...promql } }, {}),
    catalog: new Catalog(loadDefaultCatalog()),
    deps: {
      cloudwatch: new CloudWatchClient({ region: REGION, credentials }),
      discoveryCache: new DiscoveryCache(),
      baseLabels: { region: REGION },
      logger: consoleLogger('error'),
    },
    calls: new ApiCallCounter(),
    startedAt: NOW,
  });

  async function readAll(read: SourceRead, start: number, end: number): Promise<PagePoints[]> {
    const pages: PagePoints[] = [];
    await read.read({ start, end }, async (page) => void pages.push(...page));
    return pages;
  }

  test('deltas published every 10 s become each period exact sum, at the period start; gauges the period last value', async () => {
    const tokens: Array<[number, number]> = [];
    const util: Array<[number, number]> = [];
    for (let t = NOW - 30 * MINUTE + 10_000; t <= NOW; t += 10_000) {
      tokens.push([t, t / 10_000 % 7]); // each 10 s interval's amount, stamped at its end
      util.push([t, (t / 10_000) % 100]);
    }
    standIn.series.push({ labels: { ...gpu('i-1'), __name__: 'vllm:prompt_tokens_total' }, temporality: 'delta', samples: tokens });
    standIn.series.push({ labels: gpu('i-1'), temporality: 'gauge', samples: util });
    const source = new PromQlSource(context());
    await source.discover();
    const plan = source.plan({ startedAt: NOW, readStart: NOW - 10 * MINUTE, previous: emptyState() });
    const reads = [...plan.reads()];
    // One query a metric the account has; none for the mapped metrics it lacks.
    expect(plan.queries).toBe(2);
    expect(reads.map((r) => r.series[0]?.labels.find((l) => l.name === '__name__')?.value).sort()).toEqual(['sagemaker_gpu_utilization_ratio', 'sagemaker_llm_prompt_tokens_total']);
    expect(plan.families()).toContainEqual({ name: 'sagemaker_llm_prompt_tokens_total', counter: true });
    const counter = reads.find((r) => r.series[0]?.kind === 'counter') as SourceRead;
    const [points] = await readAll(counter, NOW - 10 * MINUTE, NOW - 2 * MINUTE);
    const periods = Array.from({ length: 8 }, (_, k) => NOW - 10 * MINUTE + k * MINUTE);
    expect(points?.timestamps).toEqual(periods);
    // (p, p + 60 s]: the six deltas whose intervals lie in the period [p, p + 60 s).
    expect(points?.values).toEqual(periods.map((p) => tokens.filter(([t]) => t > p && t <= p + MINUTE).reduce((s, [, v]) => s + v, 0)));
    const gauge = reads.find((r) => r.series[0]?.kind === 'gauge') as SourceRead;
    const [gaugePoints] = await readAll(gauge, NOW - 10 * MINUTE, NOW - 2 * MINUTE);
    expect(gaugePoints?.values).toEqual(periods.map((p) => (p + MINUTE) / 10_000 % 100));
  });

  test('a series that appears after discovery fills the answer to the limit: refused, never cut silently', async () => {
    standIn.series.push({ labels: gpu('i-1'), temporality: 'gauge', samples: [[NOW - 90_000, 1]] });
    const source = new PromQlSource(context({ maxSeriesPerQuery: 2 }));
    await source.discover();
    const [read] = [...source.plan({ startedAt: NOW, readStart: NOW - 5 * MINUTE, previous: emptyState() }).reads()];
    standIn.series.push({ labels: gpu('i-2'), temporality: 'gauge', samples: [[NOW - 90_000, 2]] });
    await expect(readAll(read as SourceRead, NOW - 5 * MINUTE, NOW)).rejects.toBeInstanceOf(RecoverableError);
  });

  test('series of an endpoint the SageMaker source saw deleted are planned as ended (a stale marker follows their last sample)', async () => {
    standIn.series.push({ labels: gpu('i-1'), temporality: 'gauge', samples: [[NOW - 90_000, 1]] });
    standIn.series.push({ labels: gpu('i-2', { 'aws.sagemaker.endpoint.name': 'llm-b' }), temporality: 'gauge', samples: [[NOW - 90_000, 2]] });
    const source = new PromQlSource(context());
    await source.discover();
    const previous = emptyState();
    previous.sagemaker = { endpoints: {}, configs: {}, ended: { 'llm-a': NOW - MINUTE } };
    const series = [...source.plan({ startedAt: NOW, readStart: NOW - 5 * MINUTE, previous }).reads()].flatMap((r) => r.series);
    expect(series.map((s) => [s.labels.find((l) => l.name === 'endpoint_name')?.value, s.ended]).sort()).toEqual([
      ['llm-a', true],
      ['llm-b', false],
    ]);
  });

  test('a series silent over a whole read is ended (its stale marker follows); once ended and still silent, the next plan forgets it', async () => {
    standIn.series.push({ labels: gpu('i-1'), temporality: 'gauge', samples: [[NOW - 40 * MINUTE, 1]] });
    const source = new PromQlSource(context());
    await source.discover();
    const previous = emptyState();
    const [read] = [...source.plan({ startedAt: NOW, readStart: NOW - 10 * MINUTE, previous }).reads()];
    const key = read?.series[0]?.key as string;
    // Written up to 40 minutes ago, nothing since: no answer over [now - 10 min, now) ends it.
    previous.series.set(key, { ...newSeriesState(false), frontier: NOW - 40 * MINUTE });
    await readAll(read as SourceRead, NOW - 10 * MINUTE, NOW);
    expect(read?.series[0]?.ended).toBe(true);
    previous.series.clearPlanned();
    previous.series.set(key, { ...newSeriesState(false), frontier: NOW - 39 * MINUTE, ended: true });
    const after = source.plan({ startedAt: NOW + MINUTE, readStart: NOW - 9 * MINUTE, previous });
    expect([...after.reads()]).toEqual([]);
    expect(previous.series.has(key)).toBe(false);
  });

  test('a series with an answer in the read is not ended', async () => {
    standIn.series.push({ labels: gpu('i-1'), temporality: 'gauge', samples: [[NOW - 5 * MINUTE, 1]] });
    standIn.series.push({ labels: gpu('i-2'), temporality: 'gauge', samples: [[NOW - 40 * MINUTE, 1]] });
    const source = new PromQlSource(context());
    await source.discover();
    const previous = emptyState();
    const [read] = [...source.plan({ startedAt: NOW, readStart: NOW - 10 * MINUTE, previous }).reads()];
    for (const s of read?.series ?? []) previous.series.set(s.key, { ...newSeriesState(false), frontier: NOW - 40 * MINUTE });
    await readAll(read as SourceRead, NOW - 10 * MINUTE, NOW);
    expect(read?.series.map((s) => [s.labels.find((l) => l.name === 'instance_id')?.value, s.ended])).toEqual([
      ['i-1', false],
      ['i-2', true],
    ]);
  });

  test('501 series of one metric, at the default limit of 500: split by label, each series read exactly once', async () => {
    // One endpoint, 501 instances: too many for one query; the split goes on to the host label.
    for (let i = 0; i < 501; i++) standIn.series.push({ labels: gpu(`i-${String(i).padStart(3, '0')}`), temporality: 'gauge', samples: [[NOW - 90_000, i]] });
    const source = new PromQlSource(context());
    await source.discover();
    const reads = [...source.plan({ startedAt: NOW, readStart: NOW - 5 * MINUTE, previous: emptyState() }).reads()];
    expect(reads.length).toBe(2);
    expect(reads.every((r) => r.series.length <= 499)).toBe(true);
    const seen = new Map<string, number[]>();
    for (const read of reads) {
      for (const points of await readAll(read, NOW - 5 * MINUTE, NOW)) {
        const host = read.series[points.index]?.labels.find((l) => l.name === 'instance_id')?.value as string;
        seen.set(host, [...(seen.get(host) ?? []), ...points.values]);
      }
    }
    expect(seen.size).toBe(501);
    expect([...seen.values()].every((values) => values.length === 1)).toBe(true);
    expect(standIn.callsTo('/api/v1/query_range').every((c) => c.status === 200 && c.params.limit?.[0] === '500')).toBe(true);
  });

  test('promql.tps is respected: a stand-in throttling above 4 requests a second is never throttled by a cycle of 12 calls', async () => {
    for (let e = 0; e < 10; e++) standIn.series.push({ labels: gpu('i-1', { 'aws.sagemaker.endpoint.name': `ep-${e}` }), temporality: 'gauge', samples: [[NOW - 90_000, e]] });
    // The stand-in counts the last second's requests, the previous test's included: let them age out.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    standIn.tps = 4;
    // Two series a query: ten endpoints make ten selections, after GetLabels and GetSeries. Half the quota: a loaded
    // machine may delay requests, and one stalled for a second must not bunch five into the stand-in's second.
    const source = new PromQlSource(context({ tps: 2, concurrency: 4, maxSeriesPerQuery: 2 }));
    await source.discover();
    const reads = [...source.plan({ startedAt: NOW, readStart: NOW - 5 * MINUTE, previous: emptyState() }).reads()];
    expect(reads).toHaveLength(10);
    await Promise.all(reads.map((r) => readAll(r, NOW - 5 * MINUTE, NOW)));
    expect(standIn.calls.map((c) => c.status)).toEqual(Array.from({ length: 12 }, () => 200));
  }, 20_000);

  test('on by default: an account without detailed observability costs one GetLabels call a discovery and no query', async () => {
    expect(resolveConfig({ region: REGION, remoteWrite: { url: 'http://127.0.0.1:1/api/v1/write' } }, {}).promql.enabled).toBe(true);
    standIn.series.push({ labels: { __name__: 'http.server.active_requests', '@resource.service.name': 'web' }, temporality: 'gauge', samples: [[NOW - MINUTE, 1]] });
    const source = new PromQlSource(context());
    await source.discover();
    const plan = source.plan({ startedAt: NOW, readStart: NOW - 10 * MINUTE, previous: emptyState() });
    expect([plan.queries, plan.discovered, [...plan.reads()].length]).toEqual([0, 0, 0]);
    expect(standIn.calls.map((c) => c.path)).toEqual(['/api/v1/label/__name__/values']);
  });

  test('promql.enabled: false leaves the source out of the cycle: not one PromQL call', () => {
    const ctx = context({ enabled: false });
    expect(cycleSources(ctx).map((s) => s.name)).not.toContain('promql');
    expect(cycleSources(context()).map((s) => s.name)).toContain('promql');
  });

  test('a discovery the API refuses (403) leaves the source inactive, with a warning; the cycle goes on', async () => {
    standIn.denyAll = true;
    const lines: string[] = [];
    const ctx = context();
    const source = new PromQlSource({ ...ctx, deps: { ...ctx.deps, logger: consoleLogger('info', (line) => lines.push(line)) } });
    await expect(source.discover()).resolves.toBeUndefined();
    expect(source.plan({ startedAt: NOW, readStart: NOW - 10 * MINUTE, previous: emptyState() }).queries).toBe(0);
    expect(lines.join('')).toMatch(/WARN\s+PromQL source inactive.*403 AccessDeniedException/);
  });

  test('the default endpoint is the region monitoring host (China regions end in .cn)', () => {
    expect(promQlEndpoint('eu-west-1', undefined, {})).toBe('https://monitoring.eu-west-1.amazonaws.com');
    expect(promQlEndpoint('cn-north-1', undefined, {})).toBe('https://monitoring.cn-north-1.amazonaws.com.cn');
    // The SDK's override of CloudWatch's host moves its PromQL API too; promql.endpoint wins over both.
    expect(promQlEndpoint('eu-west-1', undefined, { AWS_ENDPOINT_URL_CLOUDWATCH: 'http://127.0.0.1:9' })).toBe('http://127.0.0.1:9');
    expect(promQlEndpoint('eu-west-1', 'https://x.example', { AWS_ENDPOINT_URL_CLOUDWATCH: 'http://127.0.0.1:9' })).toBe('https://x.example');
  });
});

describe('the PromQL stand-in serves OTel histograms as CloudWatch does', () => {
  const histogram = (offset: number, counts: number[]) => ({ scale: 5, count: counts.reduce((a, b) => a + b, 0), sum: 1, zeroCount: 0, positive: { offset, bucketCounts: counts } });

  test('as native histograms (`histograms`, buckets [rule, lower, upper, count]), at most its scale, sum_over_time adding a period', async () => {
    standIn.series.push({ labels: { ...gpu('i-1'), __name__: 'vllm:time_to_first_token_seconds' }, temporality: 'delta', samples: [], histograms: [[NOW - 40_000, histogram(0, [1, 1, 1, 1])], [NOW - 20_000, histogram(3, [2])]] });
    const [series] = await client().queryRange('sum_over_time({"vllm:time_to_first_token_seconds"}[60s])', NOW, NOW, MINUTE, 500);
    expect(series?.values).toBeUndefined();
    // Scale 5 served at 3: indices 0-3 of both merge into index 0, (2^(0/8), 2^(1/8)].
    expect(series?.histograms).toEqual([[NOW / 1000, { count: '6', sum: '2', buckets: [[0, '1', String(2 ** (1 / 8)), '6']] }]]);
  });
});
