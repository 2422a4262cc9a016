import { gzipSync } from 'node:zlib';
import { seriesKeyOf } from '../../../../lambda/bridge/state/series-state';
import { CorruptStateError } from '../../../../lambda/bridge/state/corrupt-state-error';
import { decodeState, encodeState } from '../../../../lambda/bridge/state/state';
import { fleetState } from '../../../support/harness/fleet-state';

const T = 1_800_000_000_000;

describe('bridge state encoding', () => {
  test('round-trips every field of every series', () => {
    const state = fleetState(2_000);
    const back = decodeState(encodeState(state), 'test');
    expect(back.highWaterMark).toBe(state.highWaterMark);
    expect(back.revisionBase).toBe(state.revisionBase);
    expect(back.selfCounters).toEqual(state.selfCounters);
    expect([...back.series]).toEqual([...state.series]);
  });

  test('at most 100 bytes a series, uncompressed', () => {
    const state = fleetState(20_000);
    const bytes = encodeState(state).length;
    expect(bytes / state.series.size).toBeLessThanOrEqual(45);
    // Random 8-byte keys barely compress: the binary form is already the compact one.
    expect(gzipSync(encodeState(state)).length / bytes).toBeGreaterThan(0.5);
  });

  test('garbage, a truncated file and a foreign header are errors that name the state, not an empty state', () => {
    const good = encodeState(fleetState(10));
    expect(() => decodeState(Buffer.from('garbage that is not a state'), 's3://b/k')).toThrow(CorruptStateError);
    expect(() => decodeState(good.subarray(0, good.length - 7), 's3://b/k')).toThrow(/s3:\/\/b\/k is corrupt \(checksum mismatch .*truncated/);
    const flipped = Buffer.from(good);
    flipped[good.length - 20] = (flipped[good.length - 20] as number) ^ 1;
    expect(() => decodeState(flipped, 's3://b/k')).toThrow(/checksum mismatch/);
    expect(() => decodeState(good.subarray(0, 12), '/state')).toThrow(/truncated/);
    expect(() => decodeState(Buffer.from('{"committed": 1'), '/state')).toThrow(/not valid JSON/);
  });

  test('the JSON state of 0.1 is migrated: totals, frontiers and the revision window survive', () => {
    const identity = 'x_total{}';
    const old = { generation: 4, document: { committed: { version: 1, highWaterMark: T, series: { [identity]: { t: 40, f: { [(T - 120_000) / 1000]: 3, [(T - 60_000) / 1000]: 5 }, s: T - 60_000 } }, selfCounters: {} } } };
    const state = decodeState(Buffer.from(JSON.stringify(old)), 'legacy');
    expect(state.highWaterMark).toBe(T);
    expect(state.revisionBase).toBe(T - 120_000);
    expect(state.series.get(seriesKeyOf(identity))).toMatchObject({ frontier: T - 60_000, counter: true, total: 40, window: 8, baseline: true });
  });
});
