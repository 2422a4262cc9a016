import { newSeriesState, type SeriesState } from '../../../../lambda/bridge/state/series-state';
import { SeriesTable } from '../../../../lambda/bridge/state/series-table';

const counter = (total: number): SeriesState => ({ ...newSeriesState(true), frontier: 1_800_000_000_000, total, window: total / 2, moment: -1.5, pending: -3 });
const gauge = (count: number): SeriesState => ({ ...newSeriesState(false), frontier: 1_800_000_060_000, window: 0xfffffffe, count, moment: 105, baseline: false });

describe('SeriesTable', () => {
  test('keeps every field of every series, as a Map of the same states would', () => {
    const states: Array<[string, SeriesState]> = [];
    for (let i = 0; i < 1_000; i++) states.push([`key${String(i).padStart(5, '0')}`, i % 3 === 0 ? gauge(i) : counter(i * 1.25)]);
    states.push(['ended...', { ...newSeriesState(false), ended: true }]);
    const table = SeriesTable.from(states);
    expect(table.size).toBe(1_001);
    expect([...table]).toEqual(states);
    expect([...table.keys()]).toEqual(states.map(([k]) => k));
    expect(table.get('key00003')).toEqual(gauge(3));
    expect(table.get('ended...')?.ended).toBe(true);
    expect(table.get('key00001')).not.toHaveProperty('ended');
    expect(table.get('nothing!')).toBeUndefined();
  });

  test('get hands out a copy: a change reaches the table only through set', () => {
    const table = SeriesTable.from([['aaaaaaaa', counter(10)]]);
    const state = table.get('aaaaaaaa') as SeriesState;
    state.total = 99;
    state.frontier = 0;
    expect(table.get('aaaaaaaa')).toEqual(counter(10));
    table.set('aaaaaaaa', state);
    expect(table.get('aaaaaaaa')).toMatchObject({ total: 99, frontier: 0 });
  });

  test('a deleted row is reused, and the table grows past its capacity without losing a series', () => {
    const table = new SeriesTable(2);
    for (let i = 0; i < 100; i++) table.set(`k${i}`, counter(i));
    expect(table.delete('k7')).toBe(true);
    expect(table.delete('k7')).toBe(false);
    expect(table.has('k7')).toBe(false);
    table.set('new', gauge(4));
    expect(table.size).toBe(100);
    for (let i = 0; i < 100; i++) expect(table.get(`k${i}`)).toEqual(i === 7 ? undefined : counter(i));
    expect(table.get('new')).toEqual(gauge(4));
  });

  test('a count past uint32 saturates as the state format does, rather than wrapping to a small count', () => {
    const table = SeriesTable.from([['g', gauge(2 ** 32 + 5)]]);
    expect(table.get('g')?.count).toBe(0xffffffff);
  });

  test('planned marks: a second mark is refused; a series without state stays absent until set, and clearPlanned drops it', () => {
    const table = SeriesTable.from([['old', counter(1)]]);
    expect(table.markPlanned('old')).toBe(true);
    expect(table.markPlanned('old')).toBe(false);
    expect(table.markPlanned('new')).toBe(true);
    expect(table.markPlanned('new')).toBe(false);
    expect(table.has('new')).toBe(false);
    expect(table.get('new')).toBeUndefined();
    expect(table.size).toBe(1);
    expect([...table.keys()]).toEqual(['old']);
    table.set('new', gauge(1));
    // Setting a state keeps its mark: the plan must still see the series as taken.
    expect(table.isPlanned('new')).toBe(true);
    expect(table.markPlanned('other')).toBe(true);
    expect(table.size).toBe(2);
    table.clearPlanned();
    expect([table.isPlanned('old'), table.isPlanned('new'), table.isPlanned('other')]).toEqual([false, false, false]);
    expect([...table.keys()]).toEqual(['old', 'new']);
    expect(table.markPlanned('other')).toBe(true);
    expect(table.delete('other')).toBe(false);
    expect(table.size).toBe(2);
  });
});
