import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Catalog } from '../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache } from '../../../lambda/bridge/cloudwatch/discovery';
import { resolveConfig } from '../../../lambda/bridge/config';
import { runCycle, type CycleDeps } from '../../../lambda/bridge/cycle';
import type { BridgeLogger } from '../../../lambda/bridge/logger';
import { decodeWriteRequest } from '../../../lambda/bridge/remote-write/encode';
import { RemoteWriteError, type SendResult } from '../../../lambda/bridge/remote-write/client';
import { EndpointConfigCache } from '../../../lambda/bridge/sagemaker/metadata';
import { ConcurrentUpdateError } from '../../../lambda/bridge/state/state';
import { MemoryStateStore } from '../../support/memory-state-store';

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
  store.beforeSave = (doc) => void events.push(doc.pending ? 'journal' : 'commit');
  let now = T;
  const deps: CycleDeps = {
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
    store,
    send: async (body) => {
      events.push('send');
      sent.push(body);
      return replies.shift() ?? { status: 'ok', attempts: 1 };
    },
    now: () => now,
    logger: quiet,
    discoveryCache: new DiscoveryCache(),
    endpointConfigCache: new EndpointConfigCache(),
    baseLabels: { region: 'us-east-1' },
  };
  return { deps, store, events, sent, setNow: (ms: number) => (now = ms) };
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

describe('runCycle', () => {
  test('journal, then every batch, then commit; the committed state has no journal', async () => {
    const { deps, store, events, sent } = setup();
    const report = await runCycle(config, catalog, deps);
    expect(report.batches).toBeGreaterThan(1);
    expect(events).toEqual(['journal', ...Array(report.batches).fill('send'), 'commit']);
    expect(store.saves[0]?.pending?.batches).toEqual(sent.map((b) => Buffer.from(b).toString('base64')));
    expect(store.current?.pending).toBeUndefined();
    expect(store.current?.committed.highWaterMark).toBe(T - 2 * MIN);
    const samples = sent.flatMap((b) => decodeWriteRequest(b)).filter((s) => s.labels[0]?.value === 'aws_sagemaker_invocations_total');
    expect(samples.flatMap((s) => s.samples).at(-1)).toEqual({ timestamp: T - 3 * MIN, value: 30 });
  });

  test('without state, every request holds one period, oldest first; with state, periods share requests', async () => {
    const { deps, sent, setNow } = setup();
    await runCycle(config, catalog, deps);
    const timestamps = (body: Uint8Array) => new Set(decodeWriteRequest(body).flatMap((s) => s.samples.map((x) => x.timestamp)));
    const fresh = sent.map(timestamps);
    expect(fresh.every((set) => set.size === 1)).toBe(true);
    const order = fresh.map((set) => [...set][0] as number);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    sent.length = 0;
    setNow(T + 5 * MIN);
    await runCycle(config, catalog, deps);
    expect(sent.some((body) => timestamps(body).size > 1)).toBe(true);
  });

  test('--dry-run: the exposition, and no journal, write or commit', async () => {
    const { deps, events } = setup();
    const report = await runCycle(config, catalog, deps, { dryRun: true });
    expect(events).toEqual([]);
    expect(report.exposition).toContain(`aws_sagemaker_invocations_total{endpoint_name="e",region="us-east-1",variant_name="v"} 30 ${T - 3 * MIN}`);
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
    expect(store.current?.pending).toBeDefined();
    expect(store.current?.committed.highWaterMark).toBeUndefined();
  });

  test('the next cycle replays the journal alone first, treating out-of-order as already stored, then goes on', async () => {
    const { deps, store, events, sent, setNow } = setup();
    const down: typeof deps = {
      ...deps,
      send: async () => {
        throw new RemoteWriteError('gave up', undefined);
      },
    };
    await expect(runCycle(config, catalog, down)).rejects.toThrow();
    const journal = store.current?.pending?.batches ?? [];
    events.length = 0;
    setNow(T + 5 * MIN);
    const report = await runCycle(
      config,
      catalog,
      { ...deps, send: async (b) => (events.push('send'), sent.push(b), { status: 'rejected', reason: 'out_of_order', message: 'out of order sample', attempts: 1 }) },
    );
    expect(report.replayedBatches).toBe(journal.length);
    expect(events.slice(0, journal.length + 1)).toEqual([...Array(journal.length).fill('send'), 'commit']);
    expect(sent.slice(0, journal.length).map((b) => Buffer.from(b).toString('base64'))).toEqual(journal);
    expect(report.window?.start).toBe(T - 2 * MIN);
    expect(store.current?.committed.highWaterMark).toBe(T + 3 * MIN);
  });

  test('when another cycle moved the state on, this one stops before writing anything', async () => {
    const { deps, store, events } = setup();
    store.beforeSave = (doc) => {
      events.push(doc.pending ? 'journal' : 'commit');
      throw new ConcurrentUpdateError('memory');
    };
    await expect(runCycle(config, catalog, deps)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(events).toEqual(['journal']);
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
    expect(store.current?.pending).toBeUndefined();
    setNow(T + MIN);
    sent.length = 0;
    await runCycle(config, catalog, deps);
    const rejected = sent.flatMap((b) => decodeWriteRequest(b)).filter((s) => s.labels[0]?.value === 'inferwatch_bridge_samples_rejected_total');
    const byReason = Object.fromEntries(rejected.map((s) => [s.labels.find((l) => l.name === 'reason')?.value, s.samples[0]?.value]));
    expect(byReason).toEqual({ bad_request: inFirstRequest, duplicate: 0, out_of_order: 0, too_old: 0 });
  });
});
