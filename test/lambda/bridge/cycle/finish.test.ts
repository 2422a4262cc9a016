import { carryUnreadSeries, finish } from '../../../../lambda/bridge/cycle/finish';
import { plan } from '../../../../lambda/bridge/cycle/plan';
import { claim } from '../../../../lambda/bridge/cycle/start';
import { stream } from '../../../../lambda/bridge/cycle/stream';
import { decodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import { newSeriesState } from '../../../../lambda/bridge/state/series-state';
import { SeriesTable } from '../../../../lambda/bridge/state/series-table';
import { encodeState, emptyState } from '../../../../lambda/bridge/state/state';
import type { CursorSettings } from '../../../../lambda/bridge/translate';
import { FakeSource, gaugeAt } from './fake-source';
import { fakeDeps, MIN, startWith, T } from './harness';

async function finishOnce(source: FakeSource, deps: ReturnType<typeof fakeDeps>['deps'], dryRun = false) {
  const cycle = await startWith([source], deps, { dryRun });
  const planned = await plan(cycle);
  if (!planned) throw new Error('no window');
  const claimed = await claim(cycle, planned);
  return { planned, finished: await finish(cycle, planned, claimed, await stream(cycle, planned, claimed, true)) };
}

describe('finish stage', () => {
  test('snapshots are taken after the reads, at the window\'s last period; an ended one one period after the previous cycle', async () => {
    const { deps, store, sent } = fakeDeps();
    await store.save(encodeState({ ...emptyState(), highWaterMark: T - 10 * MIN }), undefined);
    const source = new FakeSource([], { snapshot: { current: [gaugeAt('now_info', T - 3 * MIN, 1)], ended: [gaugeAt('gone_info', T - 10 * MIN, NaN)] } });
    await finishOnce(source, deps);
    expect(source.events).toEqual(['discover', 'begin', 'afterReads', `snapshot ${T - 3 * MIN} ${T - 10 * MIN}`, `commit ${T - 2 * MIN}`]);
    const written = sent.flatMap((body) => decodeWriteRequest(body)).map((s) => s.labels[0]?.value);
    expect(written).toEqual(expect.arrayContaining(['now_info', 'gone_info']));
    // The ended series is a marker, not an active series.
    const active = sent.flatMap((body) => decodeWriteRequest(body)).find((s) => s.labels[0]?.value === 'inferwatch_bridge_series_active');
    expect(active?.samples[0]?.value).toBe(1);
  });

  test('the commit carries what each source keeps, after the high-water mark moved; a dry run commits nothing', async () => {
    const { deps, store } = fakeDeps();
    await finishOnce(new FakeSource([{ name: 'a', kind: 'gauge', points: [[T - 5 * MIN, 1]] }]), deps);
    expect(store.current?.highWaterMark).toBe(T - 2 * MIN);
    expect(store.current?.journal).toBeUndefined();
    const dry = fakeDeps();
    const source = new FakeSource([{ name: 'a', kind: 'gauge', points: [[T - 5 * MIN, 1]] }]);
    await finishOnce(source, dry.deps, true);
    expect(dry.store.saves).toHaveLength(0);
    expect(source.events.some((e) => e.startsWith('commit'))).toBe(false);
  });

  test('series no source read this cycle keep their state for a day, then are forgotten', async () => {
    const { deps, store } = fakeDeps();
    const { finished } = await finishOnce(new FakeSource([{ name: 'a', kind: 'counter', points: [[T - 5 * MIN, 1]] }]), deps);
    expect(finished.series).toBeGreaterThan(1);
    expect(store.current?.series.size).toBe(1);
    const stored = store.current ?? emptyState();
    // An hour later the series is not read (not listed any more): its state is kept.
    const hour = fakeDeps();
    await hour.store.save(encodeState({ ...stored, highWaterMark: T + 58 * MIN }), undefined);
    await finishOnce(new FakeSource([]), { ...hour.deps, now: () => T + 62 * MIN });
    expect(hour.store.current?.series.size).toBe(1);
    // A day later it is forgotten.
    const day = fakeDeps();
    await day.store.save(encodeState({ ...stored, highWaterMark: T + 24 * 60 * MIN }), undefined);
    await finishOnce(new FakeSource([]), { ...day.deps, now: () => T + 24 * 60 * MIN + 3 * MIN });
    expect(day.store.current?.series.size).toBe(0);
  });

  test('an unread series keeps its state, its window reset to a baseline unless it was written since the next base; a planned one is left as read', () => {
    const nextBase = T - 10 * MIN;
    const state = (frontier: number, extra: object = {}) => ({ ...newSeriesState(true), frontier, total: 50, window: 7, count: 3, moment: 2, baseline: false, ...extra });
    const table = SeriesTable.from([
      ['planned.', state(T - 30 * MIN, { held: true })],
      ['quiet...', state(T - 30 * MIN, { held: true })],
      ['recent..', state(T - 5 * MIN, { ended: true })],
      ['old.....', state(T - 25 * 60 * MIN)],
    ]);
    table.markPlanned('planned.');
    table.markPlanned('vacant..');
    carryUnreadSeries(table, { nextBase } as CursorSettings, T - 24 * 60 * MIN);
    expect(new Map(table)).toEqual(
      new Map([
        ['planned.', state(T - 30 * MIN, { held: true })],
        ['quiet...', state(T - 30 * MIN, { window: 0, count: 0, baseline: true })],
        ['recent..', state(T - 5 * MIN, { ended: true })],
      ]),
    );
    expect(['planned.', 'vacant..'].map((key) => table.isPlanned(key))).toEqual([false, false]);
    expect(table.markPlanned('vacant..')).toBe(true);
  });
});
