/**
 * Heap held by the bridge's series state for a large fleet, the old way (a Map of SeriesState objects, and a Set
 * of the keys a cycle planned) beside the SeriesTable (typed-array columns, a planned bit), in the same run:
 *
 *   node --expose-gc --import tsx test/bench/series-table-heap.ts [series]   (default 450,000; 10,000 histogram variants make 392,046)
 */
import { readRecord } from '../../lambda/bridge/state/series-codec';
import { seriesKeyOf, type SeriesKey, type SeriesState } from '../../lambda/bridge/state/series-state';
import { decodeState, encodeState } from '../../lambda/bridge/state/state';
import { fleetIdentity, fleetState } from '../support/harness/fleet-state';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** The decoder before SeriesTable: every record an object in a Map. */
function decodeToMap(bytes: Buffer): Map<SeriesKey, SeriesState> {
  const map = new Map<SeriesKey, SeriesState>();
  let at = 8 + bytes.readUInt32LE(4);
  const count = bytes.readUInt32LE(at);
  at += 4;
  for (let i = 0; i < count; i++) {
    const { key, state, next } = readRecord(bytes, at);
    map.set(key, state);
    at = next;
  }
  return map;
}

/** The V8 heap (what --max-old-space-size bounds) and typed arrays' backing stores, which live outside it. */
function used(): { heap: number; buffers: number } {
  for (let i = 0; i < 3; i++) gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, buffers: arrayBuffers };
}

/** Memory the value `build` returns keeps alive, and how long building it took. */
function measure<T>(build: () => T): { heap: number; buffers: number; bytes: number; ms: number; value: T } {
  const before = used();
  const started = performance.now();
  const value = build();
  const ms = performance.now() - started;
  const after = used();
  const heap = after.heap - before.heap;
  const buffers = after.buffers - before.buffers;
  return { heap, buffers, bytes: heap + buffers, ms, value };
}

/** The plan's keys are new strings each cycle (seriesKeyOf of the labels), not the table's: a Set keeps them. */
function plan(series: number, mark: (key: SeriesKey) => void): void {
  for (let i = 0; i < series; i++) mark(seriesKeyOf(fleetIdentity(i)));
}

const series = Number(process.argv[2] ?? 450_000);
const bytes = encodeState(fleetState(series));
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
/** Heap + backing stores of typed arrays (outside the heap: --max-old-space-size does not bound them, RSS does). */
const split = (m: { heap: number; buffers: number }) => `${mib(m.heap)} heap + ${mib(m.buffers)} typed arrays`;
const perSeries = (n: number) => `${(n / series).toFixed(0)} B/series`;

const map = measure(() => decodeToMap(bytes));
const set = measure(() => {
  const planned = new Set<SeriesKey>();
  plan(series, (key) => planned.add(key));
  return planned;
});
const mapTotal = map.bytes + set.bytes;
const oldHeld = [map.value, set.value];

const table = measure(() => decodeState(bytes, 'bench').series);
const marks = measure(() => {
  plan(series, (key) => table.value.markPlanned(key));
  return table.value;
});
if (table.value.size !== map.value.size) throw new Error(`decoded ${table.value.size} series, the Map ${map.value.size}`);

// The index alone: the previous SeriesTable kept its rows behind a Map<SeriesKey, number>; this one probes typed arrays.
const keys = [...map.value.keys()];
const index = measure(() => {
  const rows = new Map<SeriesKey, number>();
  keys.forEach((key, row) => rows.set(key, row));
  return rows;
});
/** ns per lookup of every key, best of 3 (fresh key strings, as a plan's are). */
function lookups(get: (key: SeriesKey) => unknown): number {
  const fresh = keys.map((key) => Buffer.from(key, 'latin1').toString('latin1'));
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (const key of fresh) if (get(key) === undefined) throw new Error('a key went missing');
    best = Math.min(best, performance.now() - started);
  }
  return (best * 1e6) / fresh.length;
}
const mapLookup = lookups((key) => index.value.get(key));
const tableLookup = lookups((key) => (table.value.has(key) ? true : undefined));

console.log(`${series.toLocaleString('en')} series, state file ${mib(bytes.length)}`);
console.log('| | old: Map of objects + planned Set | SeriesTable + planned bit |');
console.log('|---|---|---|');
console.log(`| decoded state | ${mib(map.bytes)} (${perSeries(map.bytes)}; ${split(map)}), ${map.ms.toFixed(0)} ms | ${mib(table.bytes)} (${perSeries(table.bytes)}; ${split(table)}), ${table.ms.toFixed(0)} ms |`);
console.log(`| planned series | ${mib(set.bytes)} (${perSeries(set.bytes)}) | ${mib(marks.bytes)} (${perSeries(marks.bytes)}) |`);
console.log(`| together | ${mib(mapTotal)} (${perSeries(mapTotal)}) | ${mib(table.bytes + marks.bytes)} (${perSeries(table.bytes + marks.bytes)}) |`);
console.log('');
console.log('| index over the 8-byte keys | memory | lookup (has) |');
console.log('|---|---|---|');
console.log(`| Map<SeriesKey, row> (the previous table's index) | ${mib(index.bytes)} (${perSeries(index.bytes)}; ${split(index)}) | ${mapLookup.toFixed(0)} ns |`);
console.log(`| open addressing in typed arrays (SeriesTable, its whole table above) | in the table's ${mib(table.bytes)} | ${tableLookup.toFixed(0)} ns |`);
// Kept reachable until here, so no measurement sees the other's garbage collected.
if (oldHeld.length !== 2 || index.value.size !== series) throw new Error('unreachable');
