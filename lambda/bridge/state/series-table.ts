import type { SeriesKey, SeriesState } from './series-state';

const COUNTER = 1;
const BASELINE = 2;
const ENDED = 4;
/** The series was planned this cycle (QueryPlan's collision check); not part of its state. */
const PLANNED = 8;
/** A row held only for its PLANNED bit: the series has no state yet. */
const VACANT = 16;
const HELD = 32;
const INITIAL_CAPACITY = 64;

/**
 * The bridge's per-series state, struct-of-arrays: a key -> row index and one typed-array column per field. A
 * fleet holds hundreds of thousands of series; as objects in a Map they cost ~210 B each of a Lambda's heap, here
 * about half (the index, ~57 B, and 45 B of columns). `get` hands out a copy: changing it changes nothing until
 * it is `set` back.
 */
export class SeriesTable implements ReadonlyMap<SeriesKey, SeriesState> {
  private readonly index = new Map<SeriesKey, number>();
  private frontier: Float64Array;
  private total: Float64Array;
  private pending: Float64Array;
  private window: Float64Array;
  private moment: Float64Array;
  private count: Uint32Array;
  private flags: Uint8Array;
  /** Rows freed by `delete`, reused before the table grows. */
  private free: number[] = [];
  private rows = 0;
  private vacant = 0;

  constructor(capacity = INITIAL_CAPACITY) {
    const n = Math.max(1, capacity);
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
    return this.index.size - this.vacant;
  }

  /** Room for `rows` series without growing: a decoder knows its count up front, and doubling would overshoot. */
  reserve(rows: number): void {
    if (rows > this.flags.length) this.resize(rows);
  }

  has(key: SeriesKey): boolean {
    const row = this.index.get(key);
    return row !== undefined && ((this.flags[row] as number) & VACANT) === 0;
  }

  get(key: SeriesKey): SeriesState | undefined {
    const row = this.index.get(key);
    return row === undefined ? undefined : this.stateAt(row);
  }

  set(key: SeriesKey, state: SeriesState): this {
    let row = this.index.get(key);
    if (row === undefined) {
      row = this.allocate();
      this.index.set(key, row);
      this.flags[row] = 0;
    } else if ((this.flags[row] as number) & VACANT) {
      this.vacant -= 1;
    }
    this.frontier[row] = state.frontier;
    this.total[row] = state.total;
    this.pending[row] = state.pending;
    this.window[row] = state.window;
    this.moment[row] = state.moment;
    // The state format keeps a count as uint32 too: saturate rather than wrap.
    this.count[row] = Math.min(state.count, 0xffffffff);
    this.flags[row] = ((this.flags[row] as number) & PLANNED) | (state.counter ? COUNTER : 0) | (state.baseline ? BASELINE : 0) | (state.ended ? ENDED : 0) | (state.held ? HELD : 0);
    return this;
  }

  delete(key: SeriesKey): boolean {
    const row = this.index.get(key);
    if (row === undefined) return false;
    const vacant = ((this.flags[row] as number) & VACANT) !== 0;
    if (vacant) this.vacant -= 1;
    this.index.delete(key);
    this.flags[row] = 0;
    this.free.push(row);
    return !vacant;
  }

  clear(): void {
    this.index.clear();
    this.flags.fill(0);
    this.free = [];
    this.rows = 0;
    this.vacant = 0;
  }

  /**
   * Marks `key` planned this cycle; false when it already was (two CloudWatch metrics landing on one series). A
   * series without state gets a vacant row, so the mark costs a bit, not a Set entry per series.
   */
  markPlanned(key: SeriesKey): boolean {
    let row = this.index.get(key);
    if (row === undefined) {
      row = this.allocate();
      this.index.set(key, row);
      this.flags[row] = VACANT | PLANNED;
      this.vacant += 1;
      return true;
    }
    const flags = this.flags[row] as number;
    if (flags & PLANNED) return false;
    this.flags[row] = flags | PLANNED;
    return true;
  }

  isPlanned(key: SeriesKey): boolean {
    const row = this.index.get(key);
    return row !== undefined && ((this.flags[row] as number) & PLANNED) !== 0;
  }

  /** Clears every planned mark and drops the rows held only for one, ready for the next cycle's plan. */
  clearPlanned(): void {
    for (const [key, row] of this.index) {
      const flags = this.flags[row] as number;
      if (flags & VACANT) this.delete(key);
      else this.flags[row] = flags & ~PLANNED;
    }
  }

  *entries(): MapIterator<[SeriesKey, SeriesState]> {
    for (const [key, row] of this.index) {
      const state = this.stateAt(row);
      if (state) yield [key, state];
    }
  }

  *keys(): MapIterator<SeriesKey> {
    for (const [key, row] of this.index) if (((this.flags[row] as number) & VACANT) === 0) yield key;
  }

  *values(): MapIterator<SeriesState> {
    for (const [, state] of this.entries()) yield state;
  }

  [Symbol.iterator](): MapIterator<[SeriesKey, SeriesState]> {
    return this.entries();
  }

  forEach(callback: (value: SeriesState, key: SeriesKey, map: ReadonlyMap<SeriesKey, SeriesState>) => void, thisArg?: unknown): void {
    for (const [key, state] of this.entries()) callback.call(thisArg, state, key, this);
  }

  private stateAt(row: number): SeriesState | undefined {
    const flags = this.flags[row] as number;
    if (flags & VACANT) return undefined;
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
    this.frontier = grow(this.frontier, (n) => new Float64Array(n));
    this.total = grow(this.total, (n) => new Float64Array(n));
    this.pending = grow(this.pending, (n) => new Float64Array(n));
    this.window = grow(this.window, (n) => new Float64Array(n));
    this.moment = grow(this.moment, (n) => new Float64Array(n));
    this.count = grow(this.count, (n) => new Uint32Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
  }
}
