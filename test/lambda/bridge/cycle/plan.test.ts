import { plan } from '../../../../lambda/bridge/cycle/plan';
import { encodeState, emptyState } from '../../../../lambda/bridge/state/state';
import { FakeSource } from './fake-source';
import { config, fakeDeps, MIN, startWith, T } from './harness';

describe('plan stage', () => {
  test('every source discovers, then plans from the same read start; queries and discovered add up', async () => {
    const a = new FakeSource([{ name: 'a', kind: 'gauge', points: [] }]);
    const b = new FakeSource([{ name: 'b', kind: 'gauge', points: [] }, { name: 'c', kind: 'counter', points: [] }], { queries: 7 });
    const { deps } = fakeDeps();
    const planned = await plan(await startWith([a, b], deps));
    expect([a.discovered, b.discovered]).toEqual([true, true]);
    // First cycle: 15 min of lookback up to the last period settled 2 min ago.
    expect(planned?.window).toEqual({ start: T - 17 * MIN, end: T - 2 * MIN, readStart: T - 17 * MIN });
    expect(a.planned?.readStart).toBe(T - 17 * MIN);
    expect(b.planned?.readStart).toBe(T - 17 * MIN);
    expect(planned?.queries).toBe(8);
    expect(planned?.discovered).toBe(3);
  });

  test('reads start at the stored revision base, and the budget counts the samples of every source', async () => {
    const { deps, store } = fakeDeps();
    await store.save(encodeState({ ...emptyState(), highWaterMark: T - 30 * MIN, revisionBase: T - 40 * MIN }), undefined);
    const sources = [new FakeSource([{ name: 'a', kind: 'gauge', points: [] }]), new FakeSource([{ name: 'b', kind: 'gauge', points: [] }])];
    // Two series, 10 samples: five periods from the high-water mark.
    const planned = await plan(await startWith(sources, deps, {}, { ...config, maxSamplesPerCycle: 10 }));
    expect(planned?.readStart).toBe(T - 40 * MIN);
    expect(planned?.window.start).toBe(T - 30 * MIN);
    expect(planned?.window.end).toBe(T - 25 * MIN);
    expect(planned?.ready.end).toBe(T - 2 * MIN);
    // The next cycle re-reads the revision window (10 min) behind the new high-water mark.
    expect(planned?.settings.nextBase).toBe(T - 35 * MIN);
  });

  test('no settled period yet: nothing is discovered', async () => {
    const { deps, store, logs } = fakeDeps();
    await store.save(encodeState({ ...emptyState(), highWaterMark: T - 2 * MIN }), undefined);
    const source = new FakeSource([{ name: 'a', kind: 'gauge', points: [] }]);
    expect(await plan(await startWith([source], deps))).toBeUndefined();
    expect(source.discovered).toBe(false);
    expect(logs).toContain('no new settled period yet');
  });
});
