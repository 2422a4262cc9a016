import fc from 'fast-check';
import { newSeriesState, type SeriesState } from '../../../../lambda/bridge/state/series-state';
import { SeriesTable } from '../../../../lambda/bridge/state/series-table';
import { encodeSeriesTable } from '../../../../lambda/bridge/state/series-codec';

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
    const k = (i: number) => `k${String(i).padStart(7, '0')}`;
    for (let i = 0; i < 100; i++) table.set(k(i), counter(i));
    expect(table.delete(k(7))).toBe(true);
    expect(table.delete(k(7))).toBe(false);
    expect(table.has(k(7))).toBe(false);
    table.set('new.....', gauge(4));
    expect(table.size).toBe(100);
    for (let i = 0; i < 100; i++) expect(table.get(k(i))).toEqual(i === 7 ? undefined : counter(i));
    expect(table.get('new.....')).toEqual(gauge(4));
  });

  test('a count past uint32 saturates as the state format does, rather than wrapping to a small count', () => {
    const table = SeriesTable.from([['gggggggg', gauge(2 ** 32 + 5)]]);
    expect(table.get('gggggggg')?.count).toBe(0xffffffff);
  });

  test('planned marks: a second mark is refused; a series without state stays absent until set, and clearPlanned drops it', () => {
    const table = SeriesTable.from([['old.....', counter(1)]]);
    expect(table.markPlanned('old.....')).toBe(true);
    expect(table.markPlanned('old.....')).toBe(false);
    expect(table.markPlanned('new.....')).toBe(true);
    expect(table.markPlanned('new.....')).toBe(false);
    expect(table.has('new.....')).toBe(false);
    expect(table.get('new.....')).toBeUndefined();
    expect(table.size).toBe(1);
    expect([...table.keys()]).toEqual(['old.....']);
    table.set('new.....', gauge(1));
    // Setting a state keeps its mark: the plan must still see the series as taken.
    expect(table.isPlanned('new.....')).toBe(true);
    expect(table.markPlanned('other...')).toBe(true);
    expect(table.size).toBe(2);
    table.clearPlanned();
    expect([table.isPlanned('old.....'), table.isPlanned('new.....'), table.isPlanned('other...')]).toEqual([false, false, false]);
    expect([...table.keys()]).toEqual(['old.....', 'new.....']);
    expect(table.markPlanned('other...')).toBe(true);
    expect(table.delete('other...')).toBe(false);
    expect(table.size).toBe(2);
  });

  test('a key is 8 latin1 characters: set refuses another, lookups find nothing', () => {
    const table = new SeriesTable();
    expect(() => table.set('short', counter(1))).toThrow(/8 latin1 characters/);
    expect(() => table.markPlanned('\u0100bcdefgh'.slice(0, 8))).toThrow(/8 latin1 characters/);
    expect(table.get('short')).toBeUndefined();
    expect(table.has('toolongkey')).toBe(false);
    expect(table.delete('short')).toBe(false);
    expect(table.size).toBe(0);
  });

  test('behaves as a Map under any sequence of set, delete, mark, clear and sweep (keys crowded into few slots)', () => {
    // 40 keys, some one byte apart, in a table that starts at 16 slots: probe runs wrap, deletions shift them back.
    const keyOf = (i: number) => (i % 2 === 0 ? `\0\0\0\0\0\0\0${String.fromCharCode(i)}` : `${String.fromCharCode(i)}\xff\xff\xff\xff\xff\xff\xff`);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.nat(39), total: fc.nat(1000) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.nat(39) }),
      fc.record({ kind: fc.constant('mark' as const), key: fc.nat(39) }),
      fc.record({ kind: fc.constant('clearPlanned' as const) }),
      fc.record({ kind: fc.constant('sweep' as const), drop: fc.nat(4) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new SeriesTable(1);
        const model = new Map<string, SeriesState>();
        let planned = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'set') {
            table.set(keyOf(o.key), counter(o.total));
            model.set(keyOf(o.key), counter(o.total));
          } else if (o.kind === 'delete') {
            expect(table.delete(keyOf(o.key))).toBe(model.delete(keyOf(o.key)));
            planned.delete(keyOf(o.key));
          } else if (o.kind === 'mark') {
            expect(table.markPlanned(keyOf(o.key))).toBe(!planned.has(keyOf(o.key)));
            planned.add(keyOf(o.key));
          } else if (o.kind === 'sweep') {
            // Unplanned series: those whose total is a multiple of the draw are deleted, the rest move their window.
            const keep = (state: SeriesState) => state.total % (o.drop + 2) !== 0;
            table.sweepUnplanned((state) => {
              state.window = state.total + 1;
              return keep(state);
            });
            for (const [key, state] of [...model]) {
              if (planned.has(key)) continue;
              if (keep(state)) model.set(key, { ...state, window: state.total + 1 });
              else model.delete(key);
            }
            planned = new Set();
          } else {
            table.clearPlanned();
            planned = new Set();
          }
          expect(table.size).toBe(model.size);
        }
        for (let i = 0; i < 40; i++) {
          expect(table.get(keyOf(i))).toEqual(model.get(keyOf(i)));
          expect(table.isPlanned(keyOf(i))).toBe(planned.has(keyOf(i)));
        }
        expect(new Map(table)).toEqual(model);
      }),
    );
  });

  test('encodes from its columns exactly the bytes a Map of the same states encodes to', () => {
    const table = new SeriesTable(4);
    for (let i = 0; i < 500; i++) {
      const key = String.fromCharCode(i & 0xff, i >> 8, 0xff, 0x80, 7, 0, 0xfe, i % 3);
      table.set(key, i % 3 === 0 ? gauge(i) : { ...counter(i * 1.5), pending: i % 2 === 0 ? 0 : -i, ended: i % 5 === 0 ? true : undefined });
    }
    for (let i = 0; i < 500; i += 7) table.delete(String.fromCharCode(i & 0xff, i >> 8, 0xff, 0x80, 7, 0, 0xfe, i % 3));
    table.markPlanned('vacant..');
    const bytes = encodeSeriesTable(table);
    expect(bytes.equals(encodeSeriesTable(new Map(table)))).toBe(true);
    expect(bytes.readUInt32LE(0)).toBe(table.size);
  });
});
