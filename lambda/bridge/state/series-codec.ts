import { KEY_BYTES, type SeriesKey, type SeriesState } from './series-state';
import { SeriesTable } from './series-table';

/**
 * The binary form of series states, shared by the state's series table and the journal's records: per record the
 * key, flags, frontier (epoch s), moment, then total+window(+pending) for a counter or count+checksum for a gauge.
 */
const FLAG_COUNTER = 1;
const FLAG_PENDING = 2;
const FLAG_BASELINE = 4;
const FLAG_WRITTEN = 8;
const FLAG_ENDED = 16;
const FLAG_HELD = 32;
const KNOWN_FLAGS = FLAG_COUNTER | FLAG_PENDING | FLAG_BASELINE | FLAG_WRITTEN | FLAG_ENDED | FLAG_HELD;

/** Bytes of one serialized record: key, flags, frontier (epoch s), moment, then total+window(+pending) or count+checksum. */
export function recordSize(state: SeriesState): number {
  return KEY_BYTES + 1 + 4 + 8 + (state.counter ? 16 + (state.pending !== 0 ? 8 : 0) : 8);
}

export function writeRecord(buffer: Buffer, offset: number, key: SeriesKey, state: SeriesState): number {
  return writeFields(buffer, offset + buffer.write(key, offset, KEY_BYTES, 'latin1'), state);
}

/** What follows the key: flags, frontier, moment, then total+window(+pending) or count+checksum. */
function writeFields(buffer: Buffer, offset: number, state: SeriesState): number {
  let at = offset;
  const written = Number.isFinite(state.frontier);
  const flags = (state.counter ? FLAG_COUNTER : 0) | (state.pending !== 0 ? FLAG_PENDING : 0) | (state.baseline ? FLAG_BASELINE : 0) | (written ? FLAG_WRITTEN : 0) | (state.ended ? FLAG_ENDED : 0) | (state.held ? FLAG_HELD : 0);
  at = buffer.writeUInt8(flags, at);
  at = buffer.writeUInt32LE(written ? Math.floor(state.frontier / 1000) : 0, at);
  at = buffer.writeDoubleLE(state.moment, at);
  if (state.counter) {
    at = buffer.writeDoubleLE(state.total, at);
    at = buffer.writeDoubleLE(state.window, at);
    if (state.pending !== 0) at = buffer.writeDoubleLE(state.pending, at);
  } else {
    at = buffer.writeUInt32LE(Math.min(state.count, 0xffffffff), at);
    at = buffer.writeUInt32LE(state.window >>> 0, at);
  }
  return at;
}

export function readRecord(buffer: Buffer, offset: number): { key: SeriesKey; state: SeriesState; next: number } {
  if (offset + KEY_BYTES + 5 > buffer.length) throw new RangeError(`series record at byte ${offset} is cut short`);
  const key = buffer.toString('latin1', offset, offset + KEY_BYTES);
  let at = offset + KEY_BYTES;
  const flags = buffer.readUInt8(at++);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new RangeError(`series record at byte ${offset} has unknown flags ${flags.toString(2)}`);
  const seconds = buffer.readUInt32LE(at);
  at += 4;
  const counter = (flags & FLAG_COUNTER) !== 0;
  const size = KEY_BYTES + 5 + 8 + (counter ? 16 + (flags & FLAG_PENDING ? 8 : 0) : 8);
  if (offset + size > buffer.length) throw new RangeError(`series record at byte ${offset} is cut short`);
  const state: SeriesState = {
    frontier: flags & FLAG_WRITTEN ? seconds * 1000 : -Infinity,
    counter,
    total: 0,
    pending: 0,
    window: 0,
    count: 0,
    moment: buffer.readDoubleLE(at),
    baseline: (flags & FLAG_BASELINE) !== 0,
  };
  at += 8;
  if (flags & FLAG_ENDED) state.ended = true;
  if (flags & FLAG_HELD) state.held = true;
  if (counter) {
    state.total = buffer.readDoubleLE(at);
    state.window = buffer.readDoubleLE(at + 8);
    at += 16;
    if (flags & FLAG_PENDING) {
      state.pending = buffer.readDoubleLE(at);
      at += 8;
    }
  } else {
    state.count = buffer.readUInt32LE(at);
    state.window = buffer.readUInt32LE(at + 4);
    at += 8;
  }
  return { key, state, next: at };
}

/**
 * Bytes left free around the encoded records, for the caller to write in place: a state's header before and its
 * checksum after, so that a 10,000-variant state (13.5 MiB) is one buffer, not copied into a new one per part.
 */
export interface Room {
  readonly before: number;
  readonly after: number;
}

const NO_ROOM: Room = { before: 0, after: 0 };

/** Serializes a set of records: a count, then the records (at `room.before`, `room.after` bytes left after them). */
export function encodeRecords(entries: Iterable<[SeriesKey, SeriesState]>, count: number, sizeHint: number, room: Room = NO_ROOM): Buffer {
  const buffer = Buffer.allocUnsafe(room.before + 4 + sizeHint + room.after);
  let at = buffer.writeUInt32LE(count, room.before);
  for (const [key, state] of entries) at = writeRecord(buffer, at, key, state);
  return buffer.subarray(0, at + room.after);
}

/** Where decodeRecords puts the records: a SeriesTable for a state, a Map for a journal record's few. Empty at first. */
export interface SeriesSink {
  has(key: SeriesKey): boolean;
  set(key: SeriesKey, state: SeriesState): unknown;
  /** Room for `rows` records, when the sink can size itself up front (a table of typed columns). */
  reserve?(rows: number): void;
}

/** The smallest record: a gauge's. */
const MIN_RECORD_BYTES = KEY_BYTES + 5 + 8 + 8;

export function decodeRecords(buffer: Buffer, offset: number, into: SeriesSink): number {
  if (offset + 4 > buffer.length) throw new RangeError('series table is cut short');
  const count = buffer.readUInt32LE(offset);
  // Sized by the count, but never past what the bytes can hold: a corrupt count must not allocate gigabytes.
  into.reserve?.(Math.min(count, Math.floor((buffer.length - offset - 4) / MIN_RECORD_BYTES)));
  let at = offset + 4;
  for (let i = 0; i < count; i++) {
    const { key, state, next } = readRecord(buffer, at);
    // Records come from a map: a key seen twice means the bytes are not what was written.
    if (into.has(key)) throw new RangeError(`series record at byte ${at} repeats a key`);
    into.set(key, state);
    at = next;
  }
  return at;
}

/** The table's records (see encodeRecords, `room` included). */
export function encodeSeriesTable(table: ReadonlyMap<SeriesKey, SeriesState>, room: Room = NO_ROOM): Buffer {
  if (table instanceof SeriesTable) return encodeColumns(table, room);
  let size = 0;
  for (const state of table.values()) size += recordSize(state);
  return encodeRecords(table.entries(), table.size, size, room);
}

/** The same bytes as encodeRecords, straight from the table's columns: no key string or state object per series. */
function encodeColumns(table: SeriesTable, room: Room): Buffer {
  let size = 0;
  table.forEachRow((_lo, _hi, state) => (size += recordSize(state)));
  const buffer = Buffer.allocUnsafe(room.before + 4 + size + room.after);
  let at = buffer.writeUInt32LE(table.size, room.before);
  table.forEachRow((lo, hi, state) => {
    // The key's characters are its bytes (latin1): little-endian halves write them back in order.
    buffer.writeUInt32LE(lo, at);
    buffer.writeUInt32LE(hi, at + 4);
    at = writeFields(buffer, at + KEY_BYTES, state);
  });
  return buffer.subarray(0, at + room.after);
}
