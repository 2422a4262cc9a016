import { hasRemedy } from '../../../../contract/errors';
import { plan } from '../../../../lambda/bridge/cycle/plan';
import { claim } from '../../../../lambda/bridge/cycle/start';
import { stream } from '../../../../lambda/bridge/cycle/stream';
import { UncommittedCycleError } from '../../../../lambda/bridge/cycle/uncommitted-cycle-error';
import { RemoteWriteError } from '../../../../lambda/bridge/remote-write/client';
import { decodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import type { MetricSource } from '../../../../lambda/bridge/sources';
import { decodeJournalRecord } from '../../../../lambda/bridge/state/journal';
import { STALE_NAN } from '../../../../lambda/bridge/state/series-state';
import { FakeSource, sourceSeries } from './fake-source';
import { fakeDeps, MIN, startWith, T } from './harness';

async function streamOnce(sources: MetricSource[], deps: ReturnType<typeof fakeDeps>['deps']) {
  const cycle = await startWith(sources, deps);
  const planned = await plan(cycle);
  if (!planned) throw new Error('no window');
  return { cycle, planned, streamed: await stream(cycle, planned, await claim(cycle, planned), true) };
}

const samplesOf = (sent: Uint8Array[], name: string) =>
  sent
    .flatMap((body) => decodeWriteRequest(body))
    .filter((s) => s.labels[0]?.value === name)
    .flatMap((s) => s.samples);

describe('stream stage, with a source that is not CloudWatch', () => {
  // Per-period deltas (an OTel delta counter) and a gauge, in epoch ms, over the first cycle's 15 periods.
  const periods = Array.from({ length: 15 }, (_, i) => T - 17 * MIN + i * MIN);
  const deltas = { name: 'tokens_total', kind: 'counter' as const, points: periods.map((t) => [t, 3] as const) };
  const gauge = { name: 'queue_depth', kind: 'gauge' as const, points: periods.map((t, i) => [t, i] as const) };

  test('deltas become a cumulative counter from a 0 baseline; gauges are written as read; the state keeps each frontier', async () => {
    const { deps, sent } = fakeDeps();
    const { cycle, streamed } = await streamOnce([new FakeSource([deltas, gauge], { pageSize: 4 })], deps);
    const counter = samplesOf(sent, 'tokens_total');
    expect(counter[0]).toEqual({ timestamp: T - 18 * MIN, value: 0 });
    expect(counter.slice(1).map((s) => s.value)).toEqual(periods.map((_, i) => 3 * (i + 1)));
    expect(samplesOf(sent, 'queue_depth').map((s) => s.value)).toEqual(periods.map((_, i) => i));
    expect(streamed.seriesWritten).toBe(2);
    const state = cycle.previous.series.get(sourceSeries(deltas).key);
    expect(state).toMatchObject({ frontier: T - 3 * MIN, total: 45, counter: true });
  });

  test('each page is journaled and sent before the source fetches the next one', async () => {
    const events: string[] = [];
    const { deps, store } = fakeDeps(async () => (events.push('send'), { status: 'ok', attempts: 1 }));
    const source = new FakeSource([deltas], { pageSize: 10 });
    store.beforeAppend = () => void events.push('journal');
    const originalPlan = source.plan.bind(source);
    source.plan = (input) => {
      const planned = originalPlan(input);
      return { ...planned, reads: () => [...planned.reads()].map((read) => ({ ...read, outputs: read.outputs, read: (span, onPage) => read.read(span, async (page) => (events.push('page'), onPage(page))) })) };
    };
    await streamOnce([source], deps);
    // Requests of at most 10 samples: the first page's 11 (a 0 baseline and 10 deltas) fill one, journaled and sent
    // before the second page is fetched; the rest goes when the read ends.
    expect(events.join(' ')).toBe('page journal send page journal send');
  });

  test('a page that closes three requests is one journal record, written before the first of them is sent', async () => {
    const events: string[] = [];
    const { deps, store } = fakeDeps(async () => (events.push('send'), { status: 'ok', attempts: 1 }));
    const other = { ...gauge, name: 'batch_size' };
    const source = new FakeSource([deltas, gauge, other], { pageSize: 10 });
    store.beforeAppend = (_id, seq) => void events.push(`journal ${seq}`);
    await streamOnce([source], deps);
    // Requests of at most 10 samples: the first page's 31 (a 0 baseline and 10 deltas, 10 and 10 gauge values)
    // close three, one record; the second page's 15 more close one; the read's end sends the last 6.
    expect(events.join(' ')).toBe('journal 0 send send send journal 1 send journal 2 send');
    const records = store.journalRecords(store.lease?.id as string).map((record) => decodeJournalRecord(record, 'r'));
    expect(records.map((requests) => requests.length)).toEqual([3, 1, 1]);
    expect(records[0]?.map((request) => decodeWriteRequest(request.body).reduce((n, s) => n + s.samples.length, 0))).toEqual([10, 10, 10]);
  });

  test('an ended series gets a staleness marker after its last sample; an incomplete stream keeps its frontier where the data stopped', async () => {
    const { deps, sent } = fakeDeps();
    const ended = { ...gauge, name: 'gone', ended: true, points: gauge.points.slice(0, 10) };
    const partial = { ...gauge, name: 'partial', points: gauge.points.slice(0, 5) };
    const { cycle } = await streamOnce([new FakeSource([ended, partial], { incomplete: [1] })], deps);
    const last = samplesOf(sent, 'gone').at(-1);
    // Its data stopped at T-8m: the marker one period later.
    expect(last?.timestamp).toBe(T - 7 * MIN);
    expect(Buffer.from(new Float64Array([last?.value as number]).buffer)).toEqual(Buffer.from(new Float64Array([STALE_NAN]).buffer));
    expect(cycle.previous.series.get(sourceSeries(partial).key)?.frontier).toBe(T - 13 * MIN);
  });

  test('a failed send stops the stream: a remote-write failure stays one, wrapped with what was kept; the cause is untouched', async () => {
    const failure = new RemoteWriteError('remote write gave up after 2 attempt(s): HTTP 503', undefined);
    const { deps } = fakeDeps(async () => Promise.reject(failure));
    const error = await streamOnce([new FakeSource([deltas])], deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteWriteError);
    expect((error as Error).message).toMatch(/^remote write gave up after 2 attempt\(s\): HTTP 503\. Nothing was committed: it had written \d+ samples in 1 request\(s\), journaled/);
    expect((error as Error).cause).toBe(failure);
    expect(failure.message).toBe('remote write gave up after 2 attempt(s): HTTP 503');
    expect(hasRemedy(error, 'retry')).toBe(true);
  });

  test('any other failure of a read is an UncommittedCycleError whose cause is the original error', async () => {
    const { deps } = fakeDeps();
    const source = new FakeSource([deltas]);
    const boom = new Error('PromQL query_range failed with HTTP 500');
    const originalPlan = source.plan.bind(source);
    source.plan = (input) => ({ ...originalPlan(input), reads: () => [{ periodMs: MIN, series: [], streams: 0, outputs: () => [], read: async () => Promise.reject(boom) }] });
    const error = await streamOnce([source], deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UncommittedCycleError);
    expect((error as Error).message).toBe('PromQL query_range failed with HTTP 500. Nothing was committed: it had written nothing, and carries on from the initial lookback');
    expect((error as Error).cause).toBe(boom);
    expect(boom.message).toBe('PromQL query_range failed with HTTP 500');
  });
});
