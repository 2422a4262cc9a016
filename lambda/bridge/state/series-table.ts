import { KEY_BYTES, newSeriesState, type SeriesKey, type SeriesState } from './series-state';

const COUNTER = 1;
const BASELINE = 2;
const ENDED = 4;
/** The series was planned this cycle (QueryPlan's collision check); not part of its state. */
const PLANNED = 8;
/** A row held only for its PLANNED bit: the series has no state yet. */
const VACANT = 16;
/** The row holds a key (free rows have no flags at all). */
const LIVE = 32;
/** The series' answer stopped before its frontier: its window refers to the held base. */
const HELD = 64;
const INITIAL_CAPACITY = 64;
/** The index is grown before more than this share of its slots is taken: linear probing stays short. */
const MAX_LOAD = 0.5;

/** A state whose every field may be changed: the scratch `forEachRow` and `sweepUnplanned` hand out. */
export type MutableSeriesState = { -readonly [K in keyof SeriesState]: SeriesState[K] };

/** The key's 8 latin1 bytes as two uint32 (little-endian); false when it is no 8-byte key. */
function parseKey(key: SeriesKey, into: Uint32Array): boolean {
  if (key.length !== KEY_BYTES) return false;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 4; i++) {
    const a = key.charCodeAt(i);
    const b = key.charCodeAt(i + 4);
    if ((a | b) > 0xff) return false;
    lo |= a << (8 * i);
    hi |= b << (8 * i);
  }
  into[0] = lo;
  into[1] = hi;
  return true;
}

/** Keys are MD5 bytes, already uniform; mixed all the same, so that any keys (tests', a corrupt state's) spread. */
function hash(lo: number, hi: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function slotsFor(rows: number): number {
  let slots = 16;
  while (slots * MAX_LOAD < rows) slots *= 2;
  return slots;
}

/**
 * The bridge's per-series state, struct-of-arrays: one typed-array column per field, and an open-addressing index
 * (linear probing) over the 8-byte keys, also in typed arrays. A fleet holds hundreds of thousands of series: as
 * objects in a Map they cost ~230 B each of a Lambda's heap, behind a Map index ~100 B; here ~55 B (45 B of
 * columns, 8 B of key, 4 B index slots at most half full), and nothing for the garbage collector to trace.
 * `get` hands out a copy: changing it changes nothing until it is `set` back. Keys are 8 latin1 characters
 * (`seriesKeyOf`); `set` refuses any other.
 */
export class SeriesTable implements ReadonlyMap<SeriesKey, SeriesState> {
  /** Row + 1 of the key hashed to (or probed past) each slot; 0 for an empty slot. Its length is a power of 2. */
  private slots: Int32Array;
  private keyLo: Uint32Array;
  private keyHi: Uint32Array;
  private frontier: Float64Array;
  private total: Float64Array;
  private pending: Float64Array;
  private window: Float64Array;
  private moment: Float64Array;
  private count: Uint32Array;
  private flags: Uint8Array;
  /** Rows freed by `delete`, reused before the table grows. */
  private free: number[] = [];
  /** Rows ever handed out (the high-water mark of the columns). */
  private rows = 0;
  /** Keys in the index, vacant rows included. */
  private keys_ = 0;
  private vacant = 0;
  /** The last parsed key, [lo, hi]: a scratch, so a lookup allocates nothing. */
  private readonly parsed = new Uint32Array(2);

  constructor(capacity = INITIAL_CAPACITY) {
    const n = Math.max(1, capacity);
    this.slots = new Int32Array(slotsFor(n));
    this.keyLo = new Uint32Array(n);
    this.keyHi = new Uint32Array(n);
    this.frontier = new Float64Array(n);
    this.total = new Float64Array(n);
    this.pending = new Float64Array(n);
    this.window = new Float64Array(n);
    this.moment = new Float64Array(n);
    this.count = new Uint32Array(n);
    this.flags = new Uint8Array(n);
  }

  static from(entries: Iterable<readonly [SeriesKey, SeriesState]>): SeriesTable {
    const table = new SeriesTable();
    for (const [key, state] of entries) table.set(key, state);
    return table;
  }

  get size(): number {
    return this.keys_ - this.vacant;
  }

  /** Room for `rows` series without growing: a decoder knows its count up front, and doubling would overshoot. */
  reserve(rows: number): void {
    if (rows > this.flags.length) this.resize(rows);
    if (slotsFor(rows) > this.slots.length) this.rehash(slotsFor(rows));
  }

  has(key: SeriesKey): boolean {
    const row = this.rowOf(key);
    return row >= 0 && ((this.flags[row] as number) & VACANT) === 0;
  }

  get(key: SeriesKey): SeriesState | undefined {
    const row = this.rowOf(key);
    return row < 0 ? undefined : this.stateAt(row);
  }

  set(key: SeriesKey, state: SeriesState): this {
    let row = this.rowOf(key, true);
    if (row < 0) {
      row = this.insert(-row - 1);
    } else if ((this.flags[row] as number) & VACANT) {
      this.vacant -= 1;
    }
    this.writeRow(row, state);
    return this;
  }

  delete(key: SeriesKey): boolean {
    const row = this.rowOf(key);
    if (row < 0) return false;
    const vacant = ((this.flags[row] as number) & VACANT) !== 0;
    this.remove(row);
    return !vacant;
  }

  clear(): void {
    this.slots.fill(0);
    this.flags.fill(0);
    this.free = [];
    this.rows = 0;
    this.keys_ = 0;
    this.vacant = 0;
  }

  /**
   * Marks `key` planned this cycle; false when it already was (two CloudWatch metrics landing on one series). A
   * series without state gets a vacant row, so the mark costs a bit, not a Set entry per series.
   */
  markPlanned(key: SeriesKey): boolean {
    const row = this.rowOf(key, true);
    if (row < 0) {
      // Not this.flags[this.insert(…)]: insert may replace the column that expression has already read.
      const added = this.insert(-row - 1);
      this.flags[added] = LIVE | VACANT | PLANNED;
      this.vacant += 1;
      return true;
    }
    const flags = this.flags[row] as number;
    if (flags & PLANNED) return false;
    this.flags[row] = flags | PLANNED;
    return true;
  }

  isPlanned(key: SeriesKey): boolean {
    const row = this.rowOf(key);
    return row >= 0 && ((this.flags[row] as number) & PLANNED) !== 0;
  }

  /** Clears every planned mark and drops the rows held only for one, ready for the next cycle's plan. */
  clearPlanned(): void {
    this.sweepUnplanned(() => true);
  }

  /**
   * The end of a cycle's plan in one pass over the columns: each series with state that was not planned is handed to
   * `update` as one state object reused from call to call, changed in place and written back, or deleted when
   * `update` returns false; then every planned mark is cleared and the rows held only for one are dropped. Walking
   * the entries instead made a key string and two state objects for each of a fleet's 700,000 series.
   */
  sweepUnplanned(update: (state: MutableSeriesState) => boolean): void {
    const state = newSeriesState(false) as MutableSeriesState;
    for (let row = 0; row < this.rows; row++) {
      const flags = this.flags[row] as number;
      if ((flags & LIVE) === 0) continue;
      if (flags & VACANT) {
        this.remove(row);
      } else if (flags & PLANNED) {
        this.flags[row] = flags & ~PLANNED;
      } else if (update(this.readRow(row, state))) {
        this.writeRow(row, state);
      } else {
        this.remove(row);
      }
    }
  }

  /** In row order: insertion order until a deleted row is reused. Rows deleted or set meanwhile are seen as they are. */
  *entries(): MapIterator<[SeriesKey, SeriesState]> {
    for (let row = 0; row < this.rows; row++) {
      const state = this.stateAt(row);
      if (state) yield [this.keyAt(row), state];
    }
  }

  *keys(): MapIterator<SeriesKey> {
    for (let row = 0; row < this.rows; row++) if (((this.flags[row] as number) & (LIVE | VACANT)) === LIVE) yield this.keyAt(row);
  }

  *values(): MapIterator<SeriesState> {
    for (let row = 0; row < this.rows; row++) {
      const state = this.stateAt(row);
      if (state) yield state;
    }
  }

  /**
   * Every series with state, in row order, as its key's two little-endian uint32 halves and one state object reused
   * from call to call (read it during the call only): the state encoder walks 400,000 series without an object each.
   */
  forEachRow(visit: (keyLo: number, keyHi: number, state: Readonly<SeriesState>) => void): void {
    const state = newSeriesState(false) as MutableSeriesState;
    for (let row = 0; row < this.rows; row++) {
      if (((this.flags[row] as number) & (LIVE | VACANT)) !== LIVE) continue;
      visit(this.keyLo[row] as number, this.keyHi[row] as number, this.readRow(row, state));
    }
  }

  [Symbol.iterator](): MapIterator<[SeriesKey, SeriesState]> {
    return this.entries();
  }

  forEach(callback: (value: SeriesState, key: SeriesKey, map: ReadonlyMap<SeriesKey, SeriesState>) => void, thisArg?: unknown): void {
    for (const [key, state] of this.entries()) callback.call(thisArg, state, key, this);
  }

  /**
   * The key's row, or when absent -(slot + 1) of the empty slot it would take (-1 for a key that cannot be in the
   * table). `forInsert`: a key that is no 8-byte key is an error, not an absence.
   */
  private rowOf(key: SeriesKey, forInsert = false): number {
    const parsed = this.parsed;
    if (!parseKey(key, parsed)) {
      if (forInsert) throw new RangeError(`a series key is ${KEY_BYTES} latin1 characters (seriesKeyOf), not ${JSON.stringify(key)}`);
      return -1;
    }
    const lo = parsed[0] as number;
    const hi = parsed[1] as number;
    const mask = this.slots.length - 1;
    for (let slot = hash(lo, hi) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] as number;
      if (entry === 0) return -slot - 1;
      const row = entry - 1;
      if (this.keyLo[row] === lo && this.keyHi[row] === hi) return row;
    }
  }

  /** A row for the key just parsed by rowOf, indexed at its empty `slot`. */
  private insert(slot: number): number {
    const lo = this.parsed[0] as number;
    const hi = this.parsed[1] as number;
    const row = this.allocate();
    this.keyLo[row] = lo;
    this.keyHi[row] = hi;
    this.slots[slot] = row + 1;
    // Before a rehash, which indexes LIVE rows only.
    this.flags[row] = LIVE;
    this.keys_ += 1;
    if (this.keys_ > this.slots.length * MAX_LOAD) this.rehash(this.slots.length * 2);
    return row;
  }

  /** Frees a row and its slot; the slots after it in its probe run move back (no tombstones to skip later). */
  private remove(row: number): void {
    if ((this.flags[row] as number) & VACANT) this.vacant -= 1;
    const { slots, keyLo, keyHi } = this;
    const mask = slots.length - 1;
    let hole = hash(keyLo[row] as number, keyHi[row] as number) & mask;
    while (slots[hole] !== row + 1) hole = (hole + 1) & mask;
    slots[hole] = 0;
    for (let next = (hole + 1) & mask; slots[next] !== 0; next = (next + 1) & mask) {
      const other = (slots[next] as number) - 1;
      const home = hash(keyLo[other] as number, keyHi[other] as number) & mask;
      // It may move into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (stays) continue;
      slots[hole] = slots[next] as number;
      slots[next] = 0;
      hole = next;
    }
    this.flags[row] = 0;
    this.keys_ -= 1;
    this.free.push(row);
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let row = 0; row < this.rows; row++) {
      if (((this.flags[row] as number) & LIVE) === 0) continue;
      let slot = hash(this.keyLo[row] as number, this.keyHi[row] as number) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = row + 1;
    }
    this.slots = slots;
  }

  /** The row's state into `state` (every field, `ended` and `held` as booleans); returns it. */
  private readRow(row: number, state: MutableSeriesState): MutableSeriesState {
    const flags = this.flags[row] as number;
    state.frontier = this.frontier[row] as number;
    state.counter = (flags & COUNTER) !== 0;
    state.total = this.total[row] as number;
    state.pending = this.pending[row] as number;
    state.window = this.window[row] as number;
    state.count = this.count[row] as number;
    state.moment = this.moment[row] as number;
    state.baseline = (flags & BASELINE) !== 0;
    state.ended = (flags & ENDED) !== 0;
    state.held = (flags & HELD) !== 0;
    return state;
  }

  /** Writes a state into its row, keeping the row's planned mark. */
  private writeRow(row: number, state: SeriesState): void {
    this.frontier[row] = state.frontier;
    this.total[row] = state.total;
    this.pending[row] = state.pending;
    this.window[row] = state.window;
    this.moment[row] = state.moment;
    // The state format keeps a count as uint32 too: saturate rather than wrap.
    this.count[row] = Math.min(state.count, 0xffffffff);
    this.flags[row] = LIVE | ((this.flags[row] as number) & PLANNED) | (state.counter ? COUNTER : 0) | (state.baseline ? BASELINE : 0) | (state.ended ? ENDED : 0) | (state.held ? HELD : 0);
  }

  private keyAt(row: number): SeriesKey {
    const lo = this.keyLo[row] as number;
    const hi = this.keyHi[row] as number;
    return String.fromCharCode(lo & 0xff, (lo >>> 8) & 0xff, (lo >>> 16) & 0xff, lo >>> 24, hi & 0xff, (hi >>> 8) & 0xff, (hi >>> 16) & 0xff, hi >>> 24);
  }

  private stateAt(row: number): SeriesState | undefined {
    const flags = this.flags[row] as number;
    if ((flags & (LIVE | VACANT)) !== LIVE) return undefined;
    const state: SeriesState = {
      frontier: this.frontier[row] as number,
      counter: (flags & COUNTER) !== 0,
      total: this.total[row] as number,
      pending: this.pending[row] as number,
      window: this.window[row] as number,
      count: this.count[row] as number,
      moment: this.moment[row] as number,
      baseline: (flags & BASELINE) !== 0,
    };
    if (flags & ENDED) state.ended = true;
    if (flags & HELD) state.held = true;
    return state;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.rows === this.flags.length) this.resize(this.flags.length * 2);
    return this.rows++;
  }

  private resize(capacity: number): void {
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(column: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(column.subarray(0, Math.min(this.rows, capacity)));
      return next;
    };
    this.keyLo = grow(this.keyLo, (n) => new Uint32Array(n));
    this.keyHi = grow(this.keyHi, (n) => new Uint32Array(n));
    this.frontier = grow(this.frontier, (n) => new Float64Array(n));
    this.total = grow(this.total, (n) => new Float64Array(n));
    this.pending = grow(this.pending, (n) => new Float64Array(n));
    this.window = grow(this.window, (n) => new Float64Array(n));
    this.moment = grow(this.moment, (n) => new Float64Array(n));
    this.count = grow(this.count, (n) => new Uint32Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
  }
}
