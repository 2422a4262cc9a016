import * as crypto from 'node:crypto';

/**
 * What the bridge remembers of one series between cycles: its write frontier, and for counters the running
 * total. Revisions are detected without keeping each forwarded value: the state keeps one aggregate of what
 * was forwarded from the revision base on (a sum for counters, a count and an order-free checksum for
 * gauges), and the next cycle, which re-reads from that base, compares its own aggregate with it. A counter
 * revision is then exactly `re-read sum - forwarded sum`.
 */
export interface SeriesState {
  /** Epoch ms of the newest sample written for this series (its write frontier); -Infinity before any. */
  frontier: number;
  readonly counter: boolean;
  /** Counters: the cumulative value written at the frontier. */
  total: number;
  /** Counters: a downward revision not yet absorbed (a counter that drops reads as a reset, so it waits for growth). */
  pending: number;
  /** Counters: sum of forwarded values from the revision base on. Gauges: checksum of forwarded (time, value) pairs. */
  window: number;
  /** Gauges: how many periods were forwarded from the revision base on. */
  count: number;
  /**
   * Where in time `window` sits, in periods after the revision base: Σ value·k for counters, Σ k for gauges (k the
   * period's index). A revision's difference in it, over its difference in `window` (or in `count`), is the revised
   * period: how late the revision came, without keeping per-period values.
   */
  moment: number;
  /** False when `window`/`count` do not describe the current revision base (the series was not read since it moved). */
  baseline: boolean;
  /** A stale marker was written after the frontier: the series ended (its endpoint or variant was deleted). */
  ended?: boolean;
  /**
   * `window`, `count` and `moment` refer to the state's `heldBase`, not `revisionBase`: the series' last answer
   * (PartialData, no NextToken) stopped before its frontier, so its revisions there are found by the next cycle.
   */
  held?: boolean;
}

/** 8 bytes of MD5 as a latin1 string: compact (8 chars) and, for 10^6 series, a collision chance below 10^-7. */
export type SeriesKey = string;
export const KEY_BYTES = 8;

export function seriesKeyOf(identity: string): SeriesKey {
  // One-shot crypto.hash: a createHash object per series cost a planned fleet ~1 s a cycle. 'binary' (latin1) maps each digest
  // byte to one character, as the digest's bytes did.
  // Node before 20.12 (engines allows 20.x) has no crypto.hash.
  if (typeof crypto.hash !== 'function') return crypto.createHash('md5').update(identity).digest().subarray(0, KEY_BYTES).toString('latin1');
  return crypto.hash('md5', identity, 'binary').slice(0, KEY_BYTES);
}

/** Prometheus' staleness marker: a NaN with this bit pattern ends a series (remote write 1.0 asks senders to write it). */
export const STALE_NAN = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0] as number;

export function newSeriesState(counter: boolean): SeriesState {
  return { frontier: -Infinity, counter, total: 0, pending: 0, window: 0, count: 0, moment: 0, baseline: true };
}

/** Order-free checksum of a gauge's forwarded (period, value) pairs: a sum of per-pair hashes, mod 2^32. */
const scratch = new DataView(new ArrayBuffer(8));
export function pointHash(timestamp: number, value: number): number {
  scratch.setFloat64(0, value);
  let h = Math.imul((timestamp / 1000) | 0, 0x9e3779b1) ^ scratch.getUint32(0);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ scratch.getUint32(4);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
