import { plan } from '../../../../lambda/bridge/cycle/plan';
import { recover } from '../../../../lambda/bridge/cycle/recover';
import type { RawQuery } from '../../../../lambda/bridge/remote-write/query';
import { encodeState, emptyState } from '../../../../lambda/bridge/state/state';
import { FakeSource, sourceSeries } from './fake-source';
import { fakeDeps, MIN, startWith, T } from './harness';

const counter = { name: 'tokens_total', kind: 'counter' as const, labels: { endpoint_name: 'e' }, points: [] };
const gauge = { name: 'queue_depth', kind: 'gauge' as const, labels: { endpoint_name: 'e' }, points: [] };

async function recoverWith(query: RawQuery | undefined, stored = false) {
  const { deps, store, logs } = fakeDeps();
  if (stored) await store.save(encodeState({ ...emptyState(), highWaterMark: T - 10 * MIN }), undefined);
  const cycle = await startWith([new FakeSource([counter, gauge])], { ...deps, baseLabels: { region: 'eu-west-1' }, receiverQuery: query });
  const planned = await plan(cycle);
  if (!planned) throw new Error('no window');
  return { recovered: await recover(cycle, planned), table: cycle.previous.series, logs };
}

describe('recover stage', () => {
  test('without state, each family the sources write is asked for, and each series is taken up at the receiver\'s newest sample', async () => {
    const asked: Array<[string, number]> = [];
    const query: RawQuery = async (selector, at) => {
      asked.push([selector, at]);
      const name = /__name__="(\w+)"/.exec(selector)?.[1] as string;
      return [{ metric: { __name__: name, endpoint_name: 'e' }, samples: [[T - 9 * MIN, 1], [T - 8 * MIN, name === 'tokens_total' ? 42 : 7]] }];
    };
    const { recovered, table } = await recoverWith(query);
    expect(recovered).toBe(true);
    // The span read (from one period before the read start) up to the window's end, for the base labels only.
    expect(asked.sort()).toEqual([
      [`{__name__="queue_depth",region="eu-west-1"}[960s]`, T - 2 * MIN - 1],
      [`{__name__="tokens_total",region="eu-west-1"}[960s]`, T - 2 * MIN - 1],
    ]);
    // The fake's series carry no base labels: the receiver's series are looked up by their own labels.
    expect(table.get(sourceSeries(counter).key)).toMatchObject({ frontier: T - 8 * MIN, total: 42, counter: true, baseline: false });
    expect(table.get(sourceSeries(gauge).key)).toMatchObject({ frontier: T - 8 * MIN, total: 0, counter: false });
  });

  test('a receiver that cannot be asked: nothing is taken up, and the cycle falls back to one request per period', async () => {
    const { recovered, table, logs } = await recoverWith(async () => Promise.reject(new Error('HTTP 403')));
    expect(recovered).toBe(false);
    expect(table.size).toBe(0);
    expect(logs).toContain('no bridge state, and the receiver could not be asked what it holds: one request per period, and counters restart from 0');
  });

  test('with state, or without a query API, the receiver is not asked', async () => {
    let asked = 0;
    const query: RawQuery = async () => (asked++, []);
    expect((await recoverWith(query, true)).recovered).toBe(false);
    expect((await recoverWith(undefined)).recovered).toBe(false);
    expect(asked).toBe(0);
  });
});
