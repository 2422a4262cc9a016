import fc from 'fast-check';
import type { SeriesKey, SeriesState } from '../../../../lambda/bridge/state/series-state';
import { SeriesTable } from '../../../../lambda/bridge/state/series-table';
import { CorruptStateError } from '../../../../lambda/bridge/state/corrupt-state-error';
import { decodeState, encodeState, type BridgeState } from '../../../../lambda/bridge/state/state';

const latin1 = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
/** Keys one bit apart are common, so that a flipped key bit can land on another series' key. */
const key: fc.Arbitrary<SeriesKey> = fc.oneof(
  fc.string({ unit: latin1, minLength: 8, maxLength: 8 }),
  fc.integer({ min: 0, max: 7 }).map((bit) => `abcdefg${String.fromCharCode(0x68 ^ (1 << bit))}`),
);
/** Epoch ms on whole seconds (the table stores seconds), or -Infinity before anything was written. */
const frontier = fc.oneof(fc.constant(-Infinity), fc.integer({ min: 0, max: 0xffffffff }).map((s) => s * 1000));
/** Counter totals are sums of CloudWatch values, which lie within ±2^360 (PutMetricData). */
const amount = fc.double({ min: -1e300, max: 1e300, noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x));
const uint32 = fc.integer({ min: 0, max: 0xffffffff });

const counterState: fc.Arbitrary<SeriesState> = fc.record({
  frontier,
  counter: fc.constant(true),
  total: amount,
  pending: fc.oneof(fc.constant(0), amount),
  window: amount,
  count: fc.constant(0),
  moment: amount,
  baseline: fc.boolean(),
});
const gaugeState: fc.Arbitrary<SeriesState> = fc.record({
  frontier,
  counter: fc.constant(false),
  total: fc.constant(0),
  pending: fc.constant(0),
  window: uint32,
  count: uint32,
  moment: amount,
  baseline: fc.boolean(),
});

/** A held series' window refers to the state's `heldBase` (its last answer stopped before its frontier). */
const seriesState = fc.tuple(fc.oneof(counterState, gaugeState), fc.boolean()).map(([s, held]): SeriesState => (held ? { ...s, held } : s));

const state: fc.Arbitrary<BridgeState> = fc.record({
  highWaterMark: fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }),
  revisionBase: fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }),
  rereadFrom: fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }),
  heldBase: fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }),
  series: fc.uniqueArray(fc.tuple(key, seriesState), { selector: ([k]) => k, maxLength: 60 }).map((entries) => SeriesTable.from(entries)),
  selfCounters: fc.dictionary(fc.string(), fc.nat()),
});

/** Fields the codec leaves out, so the decoded state compares equal. */
function plain(s: BridgeState): BridgeState {
  return JSON.parse(JSON.stringify({ ...s, series: undefined })) as BridgeState;
}

function expectSameTable(actual: ReadonlyMap<SeriesKey, SeriesState>, expected: ReadonlyMap<SeriesKey, SeriesState>): void {
  const entries = (table: ReadonlyMap<SeriesKey, SeriesState>) => [...table].map(([k, v]): [SeriesKey, SeriesState] => [k, { ...v }]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  expect(entries(actual)).toEqual(entries(expected));
}

/** Where the series table starts: after `IWS2`, the header length and the JSON header. */
function tableOffset(bytes: Buffer): number {
  return 8 + bytes.readUInt32LE(4);
}

/** A table as the codec could have written it: keys of 8 chars, frontiers on whole seconds, gauge fields uint32. */
function expectWellFormed(table: ReadonlyMap<SeriesKey, SeriesState>): void {
  for (const [k, s] of table) {
    expect(k).toHaveLength(8);
    expect(s.frontier === -Infinity || (Number.isInteger(s.frontier / 1000) && s.frontier >= 0)).toBe(true);
    if (!s.counter) {
      expect(Number.isInteger(s.count) && s.count >= 0 && s.count <= 0xffffffff).toBe(true);
      expect(Number.isInteger(s.window) && s.window >= 0 && s.window <= 0xffffffff).toBe(true);
    }
  }
}

/** Positions of the flags byte of each record in an encoded state. */
function flagBytes(bytes: Buffer): Set<number> {
  const flags = new Set<number>();
  let at = tableOffset(bytes);
  const count = bytes.readUInt32LE(at);
  at += 4;
  for (let i = 0; i < count; i++) {
    const f = bytes[at + 8] as number;
    flags.add(at + 8);
    at += 13 + 8 + (f & 1 ? 16 + (f & 2 ? 8 : 0) : 8);
  }
  return flags;
}

describe('state codec properties', () => {
  test('encodeState/decodeState round-trip any table, in at most 100 bytes per series', () => {
    fc.assert(
      fc.property(state, (s) => {
        const bytes = encodeState(s);
        const decoded = decodeState(bytes, 'prop');
        expectSameTable(decoded.series, s.series);
        expect(plain(decoded)).toEqual(plain(s));
        const empty = encodeState({ ...s, series: new SeriesTable() });
        expect(bytes.length - empty.length).toBeLessThanOrEqual(100 * s.series.size);
      }),
      { numRuns: 300 },
    );
  });

  test('any truncation throws CorruptStateError', () => {
    fc.assert(
      fc.property(state, fc.nat(), (s, cut) => {
        const bytes = encodeState(s);
        const truncated = bytes.subarray(0, cut % bytes.length);
        expect(() => decodeState(truncated, 'prop')).toThrow(CorruptStateError);
      }),
      { numRuns: 300 },
    );
  });

  test('a bit flip outside the flags bytes throws CorruptStateError or changes exactly one series, well-formed', () => {
    fc.assert(
      fc.property(
        state.filter((s) => s.series.size > 0),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (s, at, bit) => {
          const bytes = Buffer.from(encodeState(s));
          const start = tableOffset(bytes);
          const position = start + (at % (bytes.length - start));
          // A flipped flags byte re-frames the rest of the table: see the test.failing below.
          fc.pre(!flagBytes(bytes).has(position));
          bytes[position] = (bytes[position] as number) ^ (1 << bit);
          let decoded: BridgeState;
          try {
            decoded = decodeState(bytes, 'prop');
          } catch (error) {
            expect(error).toBeInstanceOf(CorruptStateError);
            return;
          }
          expectWellFormed(decoded.series);
          // A flip that makes a key equal another series' key drops a series silently: see the test.failing below.
          fc.pre(decoded.series.size === s.series.size);
          const same = (x: SeriesState, y: SeriesState | undefined) => y !== undefined && JSON.stringify({ ...x, frontier: String(x.frontier) }) === JSON.stringify({ ...y, frontier: String(y.frontier) });
          const changed = [...decoded.series].filter(([k, v]) => !same(v, s.series.get(k)));
          expect(changed.length).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 500 },
    );
  });

  // Known bug (lambda/bridge/state/series-codec.ts decodeRecords, which this branch may not edit): a bit flip
  // that turns one key into another series' key decodes without error, and one series (its total, frontier)
  // is silently dropped. The encoder writes keys from a Map, so a repeated key can only be corruption.
  test('a bit flip that makes two series keys equal throws CorruptStateError', () => {
    const gauge: SeriesState = { frontier: -Infinity, counter: false, total: 0, pending: 0, window: 0, count: 0, moment: 0, baseline: false };
    const bytes = Buffer.from(encodeState({ selfCounters: {}, series: SeriesTable.from([['\0\0\0\0\0\0\0\0', gauge], ['\0\0\0\0\0\0\0\x01', { ...gauge, counter: true }]]) }));
    const secondKeyLastByte = tableOffset(bytes) + 4 + 29 + 7;
    bytes[secondKeyLastByte] = 0;
    expect(() => decodeState(bytes, 'prop')).toThrow(CorruptStateError);
  });

  // Known bug (same place; needs a checksum or a record framing check in the state format): flipping one flags
  // bit changes a record's length, so every later record is read from the wrong offset. When the byte count
  // happens to line up, the table decodes without error into garbage series (keys made of another record's bytes).
  test('a flipped flags bit that re-frames the table throws CorruptStateError', () => {
    const counter: SeriesState = { frontier: 0, counter: true, total: 0, pending: 0, window: 0, count: 0, moment: 0, baseline: false };
    const lineUp = Buffer.alloc(8);
    lineUp[3] = 1; // read from the wrong offset, this byte of B's total becomes a flags byte: a counter without pending
    const table = SeriesTable.from([
      ['AAAAAAAA', counter],
      ['BBBBBBBB', { ...counter, total: lineUp.readDoubleLE(0), pending: 1 }],
    ]);
    const bytes = Buffer.from(encodeState({ selfCounters: {}, series: table }));
    const flagsOfA = tableOffset(bytes) + 4 + 8;
    bytes[flagsOfA] = (bytes[flagsOfA] as number) ^ 2; // A now claims a pending value: it swallows B's key
    expect(() => decodeState(bytes, 'prop')).toThrow(CorruptStateError);
  });
});
