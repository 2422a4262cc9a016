import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache } from '../../../../lambda/bridge/cloudwatch/discovery';
import { resolveConfig } from '../../../../contract/bridge-config';
import { capByBudget, runCycle, type CycleDeps } from '../../../../lambda/bridge/cycle';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { decodeMetadataRequest, decodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import { RemoteWriteError, type SendResult } from '../../../../lambda/bridge/remote-write/client';
import { UNDESCRIBED } from '../../../../lambda/bridge/remote-write/exposition';
import { buildLabels, seriesKey } from '../../../../lambda/bridge/series';
import { decodeJournalRecord } from '../../../../lambda/bridge/state/journal';
import { seriesKeyOf } from '../../../../lambda/bridge/state/series-state';
import { ClaimLostError, ConcurrentUpdateError } from '../../../../lambda/bridge/state/store';
import { CorruptStateError } from '../../../../lambda/bridge/state/corrupt-state-error';
import { emptyState, encodeState } from '../../../../lambda/bridge/state/state';
import { MemoryStateStore } from '../../../support/stand-ins/memory-state-store';

const MIN = 60_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
const cw = mockClient(CloudWatchClient);
const config = resolveConfig({ remoteWrite: { url: 'http://127.0.0.1:9090/api/v1/write', maxSamplesPerRequest: 10 }, sagemakerMetadata: false }, { AWS_REGION: 'us-east-1' });
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function setup(replies: SendResult[] = []) {
  const events: string[] = [];
  const sent: Uint8Array[] = [];
  const store = new MemoryStateStore();
  store.beforeSave = () => void events.push('commit');
  store.beforeLease = (journal) => void events.push(journal ? 'claim' : 'release');
  store.beforeAppend = () => void events.push('journal');
  let now = T;
  let text = '';
  const deps: CycleDeps = {
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
    store,
    send: async (body) => {
      events.push('send');
      sent.push(body);
      return replies.shift() ?? { status: 'ok', attempts: 1 };
    },
    now: () => now,
    deadline: () => Date.now() + 60_000,
    logger: quiet,
    discoveryCache: new DiscoveryCache(),
    baseLabels: { region: 'us-east-1' },
    output: (chunk) => void (text += chunk),
  };
  return { deps, store, events, sent, setNow: (ms: number) => (now = ms), exposition: () => text };
}

beforeEach(() => {
  cw.reset();
  cw.on(ListMetricsCommand).resolves({
    Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }] }],
  });
  cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
    const start = (input.StartTime as Date).getTime();
    const end = (input.EndTime as Date).getTime();
    const timestamps: Date[] = [];
    for (let t = start; t < end; t += MIN) timestamps.push(new Date(t));
    return { MetricDataResults: input.MetricDataQueries?.map((q) => ({ Id: q.Id, Timestamps: timestamps, Values: timestamps.map(() => 2), StatusCode: 'Complete' })) };
  });
});

/** The requests in each journal record the store is given, in order. */
function requestsPerRecord(store: MemoryStateStore): number[] {
  const sizes: number[] = [];
  const append = store.appendJournal.bind(store);
  store.appendJournal = async (id, seq, record) => {
    sizes.push(decodeJournalRecord(record, `${id}/${seq}`).length);
    return append(id, seq, record);
  };
  return sizes;
}

describe('runCycle', () => {
  test('claim (the lease object alone), then each group of requests journaled as one record before the first is sent, then commit and release; the journal is removed', async () => {
    const { deps, store, events, sent } = setup();
    const records = requestsPerRecord(store);
    const report = await runCycle(config, catalog, deps);
    expect(report.batches).toBeGreaterThan(1);
    // One record per page's requests (here the first cycle's one read, one period a request, and the tail), not one a request.
    expect(records.reduce((a, b) => a + b, 0)).toBe(report.batches);
    expect(records.length).toBeLessThan(report.batches);
    // Then the remote-write metadata (types and HELP): one more request, not journaled, before the commit.
    expect(events).toEqual(['claim', ...records.flatMap((n) => ['journal', ...Array<string>(n).fill('send')]), 'send', 'commit', 'release']);
    // The state is written once a cycle, by the commit: the claim writes only the lease.
    expect(store.saves).toHaveLength(1);
    const claimed = store.leases[0];
    expect(claimed).toMatchObject({ base: T - 17 * MIN, holder: expect.stringMatching(/\/\d+$/) });
    expect(store.lease).toBeUndefined();
    expect(store.current?.journal).toBeUndefined();
    expect(store.current?.lastJournal).toBe(claimed?.id);
    expect(store.journal.size).toBe(0);
    expect(store.current?.highWaterMark).toBe(T - 2 * MIN);
    const samples = sent.flatMap((b) => decodeWriteRequest(b)).filter((s) => s.labels[0]?.value === 'aws_sagemaker_invocations_total');
    expect(samples.flatMap((s) => s.samples).at(-1)).toEqual({ timestamp: T - 3 * MIN, value: 30 });
    const metadata = sent.at(-1) as Uint8Array;
    expect(decodeWriteRequest(metadata)).toEqual([]);
    const families = decodeMetadataRequest(metadata);
    expect(families).toContainEqual(expect.objectContaining({ metricFamilyName: 'aws_sagemaker_invocations_total', type: 'COUNTER', help: expect.stringContaining('Invocations') }));
    expect(families).toContainEqual(expect.objectContaining({ metricFamilyName: 'inferwatch_bridge_samples_written_total', type: 'COUNTER' }));
    expect(families.filter((f) => f.type === 'SUMMARY').length).toBeGreaterThan(0);
    expect(sent.slice(0, -1).every((body) => decodeMetadataRequest(body).length === 0)).toBe(true);
  });

  test('Neuron metrics no catalog entry matches arrive under generic names, logged at INFO once in the catalog\'s life', async () => {
    const { deps, sent, setNow } = setup();
    const neuron = (MetricName: string) => ({ Namespace: 'neuron_monitor', MetricName, Dimensions: [{ Name: 'InstanceId', Value: 'i-1' }, { Name: 'NeuronCore', Value: '0' }] });
    cw.on(ListMetricsCommand, { Namespace: 'neuron_monitor' }).resolves({ Metrics: [neuron('NeuronCoreUtilization'), neuron('MatmulUtilization'), neuron('DmaQueueDepth')] });
    const infos: Array<[string, Record<string, unknown> | undefined]> = [];
    const logged = { ...deps, logger: { ...quiet, info: (message: string, extra?: Record<string, unknown>) => void infos.push([message, extra]) } };
    const once = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
    // The mock lists Invocations in every other namespace, where it is unlisted too: only the Neuron lines are looked at.
    const unlisted = () => infos.filter(([message, extra]) => message.startsWith('CloudWatch metrics that match no catalog entry') && extra?.namespace === 'neuron_monitor');
    await runCycle({ ...config, discoveryInterval: 0 }, once, logged);
    expect(unlisted()).toEqual([
      [expect.any(String), { namespace: 'neuron_monitor', metrics: { DmaQueueDepth: 'aws_neuron_dma_queue_depth_average', MatmulUtilization: 'aws_neuron_matmul_utilization_average' } }],
    ]);
    const names = new Set(sent.flatMap((b) => decodeWriteRequest(b)).map((s) => s.labels[0]?.value));
    for (const name of ['aws_neuron_matmul_utilization_average', 'aws_neuron_dma_queue_depth_average', 'neuroncore_utilization_ratio']) expect(names).toContain(name);
    const series = sent.flatMap((b) => decodeWriteRequest(b)).find((s) => s.labels[0]?.value === 'aws_neuron_matmul_utilization_average');
    expect(Object.fromEntries(series?.labels.map((l) => [l.name, l.value]) ?? [])).toEqual({ __name__: 'aws_neuron_matmul_utilization_average', instance_id: 'i-1', neuroncore: '0', region: 'us-east-1' });
    // The next cycles of the same process (a warm Lambda) list the same metrics: nothing more is logged.
    setNow(T + 5 * MIN);
    await runCycle({ ...config, discoveryInterval: 0 }, once, logged);
    expect(unlisted()).toHaveLength(1);
    // A new name later is logged on its own.
    cw.on(ListMetricsCommand, { Namespace: 'neuron_monitor' }).resolves({ Metrics: [neuron('MatmulUtilization'), neuron('SramEccCorrected')] });
    setNow(T + 10 * MIN);
    await runCycle({ ...config, discoveryInterval: 0 }, once, logged);
    expect(unlisted().map(([, extra]) => extra)).toEqual([expect.anything(), { namespace: 'neuron_monitor', metrics: { SramEccCorrected: 'aws_neuron_sram_ecc_corrected_average' } }]);
  });

  test('highResolution: ConcurrentRequestsPerModel in a call of its own at Period 10, every 10 s sample written once over overlapping cycles', async () => {
    const { deps, sent, setNow, store } = setup();
    const dimensions = [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }];
    cw.on(ListMetricsCommand).resolves({ Metrics: [] });
    cw.on(ListMetricsCommand, { Namespace: 'AWS/SageMaker' }).resolves({ Metrics: [{ MetricName: 'Invocations', Dimensions: dimensions }, { MetricName: 'ConcurrentRequestsPerModel', Dimensions: dimensions }] });
    const calls: GetMetricDataCommandInput[] = [];
    const level = (t: number) => (t / 10_000) % 7;
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      calls.push(input);
      const start = (input.StartTime as Date).getTime();
      const end = (input.EndTime as Date).getTime();
      return {
        MetricDataResults: input.MetricDataQueries?.map((q) => {
          const period = (q.MetricStat?.Period as number) * 1000;
          const name = q.MetricStat?.Metric?.MetricName;
          // As CloudWatch stores them: Invocations once a minute, the concurrency gauge every 10 s.
          if (name === 'Invocations' && period !== MIN) throw new Error(`Invocations read at ${period} ms`);
          const timestamps: Date[] = [];
          for (let t = start; t < end; t += period) timestamps.push(new Date(t));
          return { Id: q.Id, Timestamps: timestamps, Values: timestamps.map((t) => (name === 'Invocations' ? 2 : level(t.getTime()))), StatusCode: 'Complete' };
        }),
      };
    });
    const hiRes = { ...config, highResolution: true, discoveryInterval: 0 };
    const first = await runCycle(hiRes, catalog, deps);
    expect(first.highWaterMark).toBe(T - 2 * MIN);
    const periods = calls.map((c) => [...new Set(c.MetricDataQueries?.map((q) => `${q.MetricStat?.Metric?.MetricName}@${q.MetricStat?.Period}`))]);
    expect(periods).toEqual([['Invocations@60'], ['ConcurrentRequestsPerModel@10']]);
    expect(new Set(calls.map((c) => `${(c.StartTime as Date).getTime()}-${(c.EndTime as Date).getTime()}`)).size).toBe(1);
    expect(first.queries).toBe(2);

    setNow(T + 5 * MIN);
    const second = await runCycle(hiRes, catalog, deps);
    expect(second.highWaterMark).toBe(T + 3 * MIN);
    // The second cycle re-read the revision window (10 min) at 10 s as well.
    expect((calls.at(-1)?.StartTime as Date).getTime()).toBe(T - 12 * MIN);
    const samples = (name: string) => sent.flatMap((b) => decodeWriteRequest(b)).filter((x) => x.labels[0]?.value === name).flatMap((x) => x.samples);
    const concurrency = samples('aws_sagemaker_concurrent_requests_per_model');
    const want = Array.from({ length: 120 }, (_, i) => T - 17 * MIN + i * 10_000);
    expect(concurrency.map((x) => x.timestamp)).toEqual(want);
    expect(concurrency.map((x) => x.value)).toEqual(want.map(level));
    const invocations = samples('aws_sagemaker_invocations_total');
    expect(invocations.map((x) => x.timestamp)).toEqual([T - 18 * MIN, ...Array.from({ length: 20 }, (_, i) => T - 17 * MIN + i * MIN)]);
    expect(invocations.at(-1)?.value).toBe(40);
    expect(store.current?.highWaterMark).toBe(T + 3 * MIN);
  });

  test('highResolution: a late 10 s datapoint is counted as late, a revised one as a gauge revision; neither is written again', async () => {
    const { deps, sent, setNow } = setup();
    const dimensions = [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }];
    cw.on(ListMetricsCommand).resolves({ Metrics: [] });
    cw.on(ListMetricsCommand, { Namespace: 'AWS/SageMaker' }).resolves({ Metrics: [{ MetricName: 'ConcurrentRequestsPerModel', Dimensions: dimensions }] });
    // Missing in the first cycle, there in the second; forwarded by the second cycle, changed before the third.
    const late = T - 5 * MIN + 20_000;
    const revised = T - MIN + 30_000;
    let cycle = 1;
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      const start = (input.StartTime as Date).getTime();
      const end = (input.EndTime as Date).getTime();
      const timestamps: Date[] = [];
      for (let t = start; t < end; t += 10_000) if (cycle > 1 || t !== late) timestamps.push(new Date(t));
      const value = (t: number) => (cycle > 2 && t === revised ? 99 : 3);
      return { MetricDataResults: input.MetricDataQueries?.map((q) => ({ Id: q.Id, Timestamps: timestamps, Values: timestamps.map((t) => value(t.getTime())), StatusCode: 'Complete' })) };
    });
    const hiRes = { ...config, highResolution: true, discoveryInterval: 0 };
    const decoded = () => sent.flatMap((b) => decodeWriteRequest(b));
    const revisions = (kind: string) =>
      decoded()
        .filter((x) => x.labels[0]?.value === 'inferwatch_bridge_revisions_total' && x.labels.some((l) => l.name === 'kind' && l.value === kind))
        .flatMap((x) => x.samples)
        .at(-1)?.value;
    for (const now of [T, T + 5 * MIN, T + 10 * MIN]) {
      setNow(now);
      await runCycle(hiRes, catalog, deps);
      if (cycle === 2) expect({ late: revisions('late'), gauge: revisions('gauge') }).toEqual({ late: 1, gauge: 0 });
      cycle += 1;
    }
    expect({ late: revisions('late'), gauge: revisions('gauge') }).toEqual({ late: 1, gauge: 1 });
    const gauge = decoded()
      .filter((x) => x.labels[0]?.value === 'aws_sagemaker_concurrent_requests_per_model')
      .flatMap((x) => x.samples);
    expect(gauge.map((x) => x.timestamp)).toEqual(Array.from({ length: 150 }, (_, i) => T - 17 * MIN + i * 10_000).filter((t) => t !== late));
    expect(gauge.every((x) => x.value === 3)).toBe(true);
  });

  test('highResolution: the sample budget counts six samples a minute for a 10 s query', async () => {
    const { deps } = setup();
    const dimensions = [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }];
    cw.on(ListMetricsCommand).resolves({ Metrics: [] });
    cw.on(ListMetricsCommand, { Namespace: 'AWS/SageMaker' }).resolves({ Metrics: [{ MetricName: 'Invocations', Dimensions: dimensions }, { MetricName: 'ConcurrentRequestsPerModel', Dimensions: dimensions }] });
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    // One query at 60 s and one at 10 s: 7 samples a minute, so a budget of 21 forwards 3 minutes.
    const report = await runCycle({ ...config, highResolution: true, maxSamplesPerCycle: 21, discoveryInterval: 0 }, catalog, deps);
    expect(report.window).toMatchObject({ start: T - 17 * MIN, end: T - 14 * MIN });
  });

  test('highResolution: a cycle that reads from more than 3 hours back reads them at the cycle period, and says so', async () => {
    const { deps } = setup();
    const infos: string[] = [];
    const periods: number[] = [];
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      for (const q of input.MetricDataQueries ?? []) periods.push(q.MetricStat?.Period as number);
      return { MetricDataResults: [] };
    });
    const dimensions = [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }];
    cw.on(ListMetricsCommand, { Namespace: 'AWS/SageMaker' }).resolves({ Metrics: [{ MetricName: 'ConcurrentRequestsPerModel', Dimensions: dimensions }] });
    await runCycle({ ...config, highResolution: true, initialLookback: 4 * 3600, discoveryInterval: 0 }, catalog, { ...deps, logger: { ...quiet, info: (m) => void infos.push(m) } });
    expect(new Set(periods)).toEqual(new Set([60]));
    expect(infos).toContain('this cycle reads high-resolution metrics at the configured period: CloudWatch keeps their datapoints 3 hours');
  });

  test('remote-write metadata that cannot be sent is a warning: the samples are written and the cycle commits', async () => {
    const { deps, store, sent } = setup();
    const warnings: string[] = [];
    const cycleDeps: CycleDeps = {
      ...deps,
      logger: { ...quiet, warn: (message) => void warnings.push(message) },
      send: async (body) => {
        if (decodeWriteRequest(body).length === 0) throw new RemoteWriteError('remote write gave up after 6 attempt(s): HTTP 503', undefined);
        return deps.send(body);
      },
    };
    const report = await runCycle(config, catalog, cycleDeps);
    expect(warnings).toEqual(['remote-write metadata not sent; types and HELP arrive with the next cycle']);
    expect(sent).toHaveLength(report.batches);
    expect(store.current?.highWaterMark).toBe(T - 2 * MIN);
    expect(store.current?.journal).toBeUndefined();
  });

  test('a latency histogram: SampleCount read once feeds the +Inf bucket and _count, each with its own state and journal entry', async () => {
    cw.on(ListMetricsCommand).resolves({ Metrics: [{ MetricName: 'ModelLatency', Dimensions: [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }] }] });
    const { deps, store, sent } = setup();
    const journaled: string[] = [];
    const append = store.appendJournal.bind(store);
    store.appendJournal = async (id, seq, record) => {
      for (const request of decodeJournalRecord(record, `${id}/${seq}`)) journaled.push(...request.series.keys());
      return append(id, seq, record);
    };
    await runCycle(config, catalog, deps);
    // (The mock lists the metric in every namespace; only AWS/SageMaker's is the catalog's latency.)
    const queries = cw.commandCalls(GetMetricDataCommand).flatMap((c) => c.args[0].input.MetricDataQueries ?? []);
    const stats = queries.filter((q) => q.MetricStat?.Metric?.Namespace === 'AWS/SageMaker').map((q) => q.MetricStat?.Stat);
    expect(stats.filter((s) => s === 'SampleCount')).toHaveLength(1);
    expect(stats).toHaveLength(13);
    const keyOf = (name: string, extra: Record<string, string> = {}) => seriesKeyOf(seriesKey(buildLabels(name, { endpoint_name: 'e', variant_name: 'v', region: 'us-east-1', ...extra })));
    const inf = keyOf('aws_sagemaker_model_latency_seconds_bucket', { le: '+Inf' });
    const count = keyOf('aws_sagemaker_model_latency_seconds_count');
    expect(journaled).toEqual(expect.arrayContaining([inf, count]));
    expect(store.current?.series.get(inf)).toEqual(store.current?.series.get(count));
    expect(store.current?.series.get(inf)?.total).toBe(30);
    const written = sent.flatMap((b) => decodeWriteRequest(b));
    const samplesOf = (match: (labels: Array<{ name: string; value: string }>) => boolean) => written.filter((s) => match(s.labels)).flatMap((s) => s.samples);
    const infSamples = samplesOf((labels) => labels.some((l) => l.name === 'le' && l.value === '+Inf'));
    expect(infSamples).toHaveLength(16);
    expect(samplesOf((labels) => labels[0]?.value === 'aws_sagemaker_model_latency_seconds_count')).toEqual(infSamples);
  });

  test('without state, every request holds one period, oldest first; with state, periods share requests', async () => {
    const { deps, sent, setNow } = setup();
    await runCycle(config, catalog, deps);
    const timestamps = (body: Uint8Array) => new Set(decodeWriteRequest(body).flatMap((s) => s.samples.map((x) => x.timestamp)));
    const data = sent.slice(0, -2).map(timestamps); // then the bridge's own metrics, and the metadata (no samples)
    expect(data.every((set) => set.size === 1)).toBe(true);
    const order = data.map((set) => [...set][0] as number);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    sent.length = 0;
    setNow(T + 5 * MIN);
    await runCycle(config, catalog, deps);
    expect(sent.some((body) => timestamps(body).size > 1)).toBe(true);
  });

  test('--dry-run: the exposition, and no journal, write or commit', async () => {
    const { deps, events, exposition } = setup();
    const report = await runCycle(config, catalog, deps, { dryRun: true });
    expect(events).toEqual([]);
    expect(exposition()).toContain(`aws_sagemaker_invocations_total{endpoint_name="e",region="us-east-1",variant_name="v"} 30 ${T - 3 * MIN}`);
    expect(exposition().match(/^# TYPE aws_sagemaker_invocations_total counter$/gm)).toHaveLength(1);
    expect(report.expositionBytes).toBe(Buffer.byteLength(exposition()));
  });

  test('--dry-run: HELP and TYPE come from the cycle\'s own catalog, entries added by the config included', async () => {
    const { deps, exposition } = setup();
    const entries = resolveConfig({ catalog: [{ namespace: 'AWS/SageMaker', metrics: [{ metric: 'Invocations', type: 'counter', name: 'team_invocations_total' }] }] }, {}).catalog;
    const custom = Catalog.withDefaults(entries, 'inferwatch', 'neuron_monitor');
    await runCycle(config, custom, deps, { dryRun: true });
    expect(exposition()).toMatch(/^# HELP team_invocations_total .*Invocations.*$/m);
    expect(exposition()).toMatch(/^# TYPE team_invocations_total counter$/m);
    expect(exposition()).not.toContain(UNDESCRIBED);
  });

  test('a failed remote write leaves the journal in place and the committed state unchanged', async () => {
    const { deps, store } = setup();
    const failing: typeof deps = {
      ...deps,
      send: async () => {
        throw new RemoteWriteError('remote write gave up after 6 attempt(s): HTTP 503', undefined);
      },
    };
    await expect(runCycle(config, catalog, failing)).rejects.toThrow('HTTP 503');
    expect(store.lease).toBeDefined();
    expect(store.current).toBeUndefined();
  });

  test('the next cycle replays the journal alone first, treating out-of-order as already stored, then goes on', async () => {
    const { deps, store, events, sent, setNow } = setup();
    let allowed = 2;
    const dying: typeof deps = {
      ...deps,
      send: async (body) => {
        if (allowed-- <= 0) throw new RemoteWriteError('gave up', undefined);
        sent.push(body);
        return { status: 'ok', attempts: 1 };
      },
    };
    await expect(runCycle(config, catalog, dying)).rejects.toThrow();
    const journalId = store.lease?.id as string;
    const journal = store.journalRecords(journalId);
    // One record: the read's requests (one period each), journaled before the first was sent; two sent, the third's send failed.
    expect(journal).toHaveLength(1);
    const bodies = decodeJournalRecord(journal[0] as Uint8Array, 'r').map((request) => Buffer.from(request.body).toString('base64'));
    expect(bodies.length).toBeGreaterThan(3);
    const firstTwo = sent.slice();
    events.length = 0;
    sent.length = 0;
    setNow(T + 5 * MIN);
    const report = await runCycle(config, catalog, {
      ...deps,
      send: async (b) => (events.push('send'), sent.push(b), { status: 'rejected', reason: 'out_of_order', message: 'out of order sample', attempts: 1 }),
    });
    // Every request of the record, the two already stored included, alone and in order, before anything new.
    expect(report.replayedBatches).toBe(bodies.length);
    expect(events.slice(0, bodies.length + 3)).toEqual([...Array<string>(bodies.length).fill('send'), 'commit', 'release', 'claim']);
    expect(sent.slice(0, bodies.length).map((b) => Buffer.from(b).toString('base64'))).toEqual(bodies);
    expect(bodies.slice(0, 2)).toEqual(firstTwo.map((b) => Buffer.from(b).toString('base64')));
    // The killed cycle never committed a high-water mark: this one starts from the initial lookback again, and
    // its series write only what is newer than what the journal says they wrote.
    expect(report.window?.start).toBe(T - 12 * MIN);
    expect(store.current?.highWaterMark).toBe(T + 3 * MIN);
    expect(store.journal.size).toBe(0);
    const invocations = [...firstTwo, ...sent.slice(2)]
      .flatMap((b) => decodeWriteRequest(b))
      .filter((s) => s.labels[0]?.value === 'aws_sagemaker_invocations_total')
      .flatMap((s) => s.samples.map((x) => x.timestamp));
    expect(new Set(invocations).size).toBe(invocations.length);
  });

  test('a journal whose writer may still be running is left alone: this cycle stops before writing', async () => {
    const { deps, store, events } = setup();
    store.beforeAppend = () => {
      throw new Error('killed');
    };
    await expect(runCycle(config, catalog, { ...deps, deadline: () => Date.now() + 60_000 })).rejects.toThrow('killed');
    // Pretend the journal belongs to a live process elsewhere.
    const lease = await store.loadLease();
    if (!lease.journal) throw new Error('no journal');
    await store.saveLease({ ...lease.journal, holder: 'another-host/boot/1' }, lease.version);
    events.length = 0;
    await expect(runCycle(config, catalog, deps)).rejects.toThrow(/being written by another cycle \(another-host\/boot\/1\)/);
    expect(events).toEqual([]);
  });

  test('a corrupt state stops the cycle, names it and leaves it untouched; --reset-state keeps it aside and starts over', async () => {
    const { deps, store, events } = setup();
    await store.save(encodeState(emptyState()), undefined);
    const corrupt = new MemoryStateStore();
    Object.assign(corrupt, { load: async () => ({ bytes: new Uint8Array(Buffer.from('IWS2garbage')), version: '1' }) });
    await expect(runCycle(config, catalog, { ...deps, store: corrupt })).rejects.toBeInstanceOf(CorruptStateError);
    expect(corrupt.saves).toHaveLength(0);
    events.length = 0;
    const report = await runCycle(config, catalog, deps, { resetState: true });
    expect(report.highWaterMark).toBe(T - 2 * MIN);
    expect([...store.journal.keys()].filter((k) => k.startsWith('aside/'))).toHaveLength(1);
  });

  test('a 400 is logged and counted by reason; the cycle still commits and the next reports it', async () => {
    const { deps, store, setNow, sent } = setup([{ status: 'rejected', reason: 'bad_request', message: 'invalid label', attempts: 1 }]);
    const errors: Array<Record<string, unknown> | undefined> = [];
    deps.logger.error = (_m, extra) => void errors.push(extra);
    const first = await runCycle(config, catalog, deps);
    const inFirstRequest = decodeWriteRequest(sent[0] as Uint8Array).reduce((n, s) => n + s.samples.length, 0);
    expect(inFirstRequest).toBeGreaterThan(0);
    expect(first.rejected).toEqual({ bad_request: inFirstRequest });
    expect(errors[0]).toMatchObject({ reason: 'bad_request', receiver: 'invalid label', samples: inFirstRequest });
    expect(store.current?.journal).toBeUndefined();
    setNow(T + MIN);
    sent.length = 0;
    await runCycle(config, catalog, deps);
    const rejected = sent.flatMap((b) => decodeWriteRequest(b)).filter((s) => s.labels[0]?.value === 'inferwatch_bridge_samples_rejected_total');
    const byReason = Object.fromEntries(rejected.map((s) => [s.labels.find((l) => l.name === 'reason')?.value, s.samples[0]?.value]));
    expect(byReason).toEqual({ bad_request: inFirstRequest, duplicate: 0, out_of_order: 0, too_old: 0, series_limit: 0 });
  });

  test('a sample budget smaller than the backlog: each cycle forwards what it allows and commits; the next ones catch up with nothing lost', async () => {
    const { deps, store, sent, setNow } = setup();
    // Three namespaces, so three queries: the arithmetic below does not move when the default namespaces do.
    const small = { ...config, namespaces: ['AWS/SageMaker', '/aws/sagemaker/Endpoints', 'neuron_monitor'], maxSamplesPerCycle: 12 };
    const ends: number[] = [];
    for (let cycle = 0; cycle < 6; cycle++) {
      const report = await runCycle(small, catalog, deps);
      if (report.highWaterMark !== undefined) ends.push(report.highWaterMark);
      setNow(T + 60_000 * cycle);
    }
    // Three queries (the mock lists Invocations in each namespace): 4 periods per cycle, from the initial lookback on.
    expect(ends.slice(0, 3)).toEqual([T - 13 * MIN, T - 9 * MIN, T - 5 * MIN]);
    expect(store.current?.highWaterMark).toBe(T + 2 * MIN);
    const written = sent
      .flatMap((b) => decodeWriteRequest(b))
      .filter((s) => s.labels[0]?.value === 'aws_sagemaker_invocations_total')
      .flatMap((s) => s.samples);
    const times = written.map((s) => s.timestamp);
    expect(new Set(times).size).toBe(times.length);
    expect(times).toEqual(Array.from({ length: times.length }, (_, i) => T - 18 * MIN + i * MIN));
    expect(written.at(-1)?.value).toBe(2 * (times.length - 1));
  });

  test('the sample budget counts only periods the receiver still accepts: after a long outage a cycle skips up to the whole span', () => {
    const window = { start: T - 6 * 60 * MIN, end: T - 5 * 60 * MIN, readStart: T - 6 * 60 * MIN - 10 * MIN };
    // All of it older than the receiver accepts: the whole (maxCycleSpan-capped) window, whatever the budget.
    expect(capByBudget(window, 100_000, MIN, 1_000_000, T - 50 * MIN).end).toBe(T - 5 * 60 * MIN);
    // Partly writable: ten periods of budget from where writing starts.
    const recent = { start: T - 70 * MIN, end: T - 2 * MIN, readStart: T - 80 * MIN };
    expect(capByBudget(recent, 100_000, MIN, 1_000_000, T - 50 * MIN).end).toBe(T - 40 * MIN);
    expect(capByBudget(recent, 100_000, MIN, 1_000_000).end).toBe(T - 60 * MIN);
  });

  test('a failed cycle says which call failed, what it had written and kept, and where the next one starts', async () => {
    const { deps } = setup();
    cw.on(GetMetricDataCommand).rejects(new Error('CloudWatch GetMetricData failed with HTTP 500 after 8 attempt(s): InternalFailure: boom'));
    await expect(runCycle(config, catalog, deps)).rejects.toThrow(
      /^CloudWatch GetMetricData failed with HTTP 500 .*boom\. Nothing was committed: it had written nothing, and carries on from the initial lookback$/,
    );
    cw.reset();
    cw.on(ListMetricsCommand).resolves({ Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }] }] });
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
      MetricDataResults: input.MetricDataQueries?.map((q) => ({ Id: q.Id, Timestamps: [new Date(T - 5 * MIN)], Values: [2], StatusCode: 'Complete' })),
    }));
    const failing = { ...deps, send: async () => Promise.reject(new RemoteWriteError('remote write to http://127.0.0.1:9090/api/v1/write gave up after 6 attempt(s): HTTP 503', undefined)) };
    await expect(runCycle(config, catalog, failing)).rejects.toThrow(/gave up after 6 attempt\(s\): HTTP 503\. Nothing was committed: it had written \d+ samples in 1 request\(s\), journaled: the next cycle replays them first/);
  });
});

describe('runCycle and the lease object', () => {
  test('when another run claims the lease between this one reading it and claiming it, this one stops before writing anything', async () => {
    const { deps, store, events } = setup();
    const read = store.loadLease.bind(store);
    store.loadLease = async () => {
      const lease = await read();
      await store.saveLease({ id: 'other', base: T, leaseUntil: Date.now() + 60_000, holder: 'another-host/boot/1' }, lease.version);
      return lease;
    };
    await expect(runCycle(config, catalog, deps)).rejects.toBeInstanceOf(ClaimLostError);
    expect(events).toEqual(['claim', 'claim']);
    expect(store.lease?.id).toBe('other');
    expect(store.current).toBeUndefined();
  });

  test('when another cycle moved the state on after this one claimed, its commit fails and the journal stays for the next', async () => {
    const { deps, store, events } = setup();
    store.beforeSave = () => {
      events.push('commit');
      throw new ConcurrentUpdateError('memory');
    };
    await expect(runCycle(config, catalog, deps)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(events[0]).toBe('claim');
    expect(events.at(-1)).toBe('commit');
    expect(store.lease).toBeDefined();
  });

  test('a lease left by a cycle that committed but was stopped before its release is not replayed: the next claim takes it over', async () => {
    const { deps, store, events, setNow } = setup();
    store.beforeLease = (journal) => {
      events.push(journal ? 'claim' : 'release');
      if (!journal) throw new Error('stopped before the release');
    };
    await runCycle(config, catalog, deps);
    const left = store.lease;
    expect(left?.id).toBe(store.current?.lastJournal);
    store.beforeLease = (journal) => void events.push(journal ? 'claim' : 'release');
    events.length = 0;
    setNow(T + 5 * MIN);
    const report = await runCycle(config, catalog, deps);
    expect(report.replayedBatches).toBe(0);
    expect(events[0]).toBe('claim');
    expect(store.lease).toBeUndefined();
    expect(store.current?.highWaterMark).toBe(T + 3 * MIN);
  });
});
