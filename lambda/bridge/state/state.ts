import { crc32 } from 'node:zlib';
import type { SageMakerCache } from '../sagemaker/cache';
import { CorruptStateError } from './corrupt-state-error';
import { migrateJsonState } from './migrate-v1';
import { decodeRecords, encodeSeriesTable } from './series-codec';
import { SeriesTable } from './series-table';

/** The journal of a cycle that may have written without committing: its records live apart from the state. */
export interface JournalHeader {
  /** Names the journal's records in the store. */
  readonly id: string;
  /** The revision base the journaled series states refer to (the cycle's GetMetricData StartTime). */
  readonly base: number;
  /** Wall-clock epoch ms until which the writing cycle may still be running. */
  readonly leaseUntil: number;
  /** `host/boot id/pid` of the writing process, so a dead holder on this host is recognised at once. */
  readonly holder: string;
}

/** A metric class read apart: its revision base, the end of its last read, its held base and when that hold began, epoch ms. */
export interface StoredClass {
  base: number;
  end: number;
  held?: number;
  /**
   * The cycle's high-water mark when the hold began: it is let go once the cycles have written 3 hours past it. States
   * of 0.3 before this kept the holding cycle's start (minutes later: near enough); those before 0.3 have none (the
   * held base stands in).
   */
  heldSince?: number;
}

export interface BridgeState {
  /** Epoch ms: every period before it has been forwarded. */
  highWaterMark?: number;
  /** Epoch ms: where the next cycle starts reading; the series' windows and counts refer to it. */
  revisionBase?: number;
  /** Epoch ms: where the next cycle starts reading when it is before `revisionBase` (periods a partial answer left unread). */
  rereadFrom?: number;
  /** Epoch ms: the base the windows of `held` series refer to (the read start of the cycle that held them); the next cycle reads from there. */
  heldBase?: number;
  /**
   * Epoch ms: the high-water mark the cycle that first held series at `heldBase` committed (states of 0.3 before this
   * kept that cycle's start, minutes later; those before 0.3 have none: the held base stands in). A hold is let go
   * once the cycles have written 3 hours of windows past it, however old its base and however long an outage.
   */
  heldSince?: number;
  /** Updated in place by a cycle; `get` returns a copy, so every change goes through `set`. */
  series: SeriesTable;
  /** Cumulative values of the bridge's own counters, keyed by series identity. */
  selfCounters: Record<string, number>;
  /** How long the previous cycle's remote write took, ms. */
  lastWriteMs?: number;
  sagemaker?: SageMakerCache;
  /**
   * Variants read through their sentinel query (no invocations in their last read), keyed by `variantKey`: the
   * first period not read in full, epoch ms. A variant not here is read in full.
   */
  idle?: Record<string, number>;
  /**
   * Metric classes read less often than every cycle (config `readIntervals`): the revision base their series'
   * windows refer to, the end of their last read, and the base their held series' windows refer to, epoch ms.
   */
  classes?: Record<string, StoredClass>;
  /**
   * The journal lease of inferwatch 0.2 and before, kept in the state itself: still honoured when read (a journal left
   * by a cycle killed before an upgrade is replayed); the lease is now an object of its own (lease.ts).
   */
  journal?: JournalHeader;
  /** The id of the journal whose cycle this state commits: a lease still naming it was committed, only not released. */
  lastJournal?: string;
}

/** How much the cycles may write past where a hold began before it is let go: a bound on the reads a hold costs. */
const HOLD_MAX_WRITTEN_MS = 3 * 3600 * 1000;

/**
 * Whether a hold that began at `heldSince` (the high-water mark then) still stands once the cycles have written up to
 * `written`: for the cycle's hold (`heldSince`) and a class's (`StoredClass.heldSince`) alike.
 */
export function holdStands(heldSince: number, written: number): boolean {
  return heldSince >= written - HOLD_MAX_WRITTEN_MS;
}

export function emptyState(): BridgeState {
  return { series: new SeriesTable(), selfCounters: {} };
}

const MAGIC = Buffer.from('IWS2');
const CHECKSUM_BYTES = 4;

interface StateHeader {
  highWaterMark?: number;
  revisionBase?: number;
  rereadFrom?: number;
  heldBase?: number;
  heldSince?: number;
  selfCounters: Record<string, number>;
  lastWriteMs?: number;
  sagemaker?: SageMakerCache;
  idle?: Record<string, number>;
  classes?: Record<string, StoredClass>;
  journal?: JournalHeader;
  lastJournal?: string;
}

/**
 * `IWS2`, header length, JSON header, the binary series table (see series-codec.ts), then a CRC-32 of all of it:
 * a state changed or cut after it was written is an error, never a different valid state.
 */
export function encodeState(state: BridgeState): Buffer {
  const header: StateHeader = {
    highWaterMark: state.highWaterMark,
    revisionBase: state.revisionBase,
    rereadFrom: state.rereadFrom,
    heldBase: state.heldBase,
    heldSince: state.heldSince,
    selfCounters: state.selfCounters,
    lastWriteMs: state.lastWriteMs,
    sagemaker: state.sagemaker,
    idle: state.idle,
    classes: state.classes,
    journal: state.journal,
    lastJournal: state.lastJournal,
  };
  const json = Buffer.from(JSON.stringify(header));
  // One buffer, the header and checksum written around the table in place: no copy of the whole state per part.
  const bytes = encodeSeriesTable(state.series, { before: 8 + json.length, after: CHECKSUM_BYTES });
  MAGIC.copy(bytes, 0);
  bytes.writeUInt32LE(json.length, 4);
  json.copy(bytes, 8);
  const end = bytes.length - CHECKSUM_BYTES;
  bytes.writeUInt32LE(crc32(bytes.subarray(0, end)), end);
  return bytes;
}

export function decodeState(bytes: Uint8Array, location: string): BridgeState {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length >= 1 && buffer[0] === 0x7b) return migrateJsonState(buffer, location);
  if (buffer.length < 8 + CHECKSUM_BYTES || !buffer.subarray(0, 4).equals(MAGIC)) throw new CorruptStateError(location, `not an inferwatch state: ${buffer.length} bytes without the IWS2 header`);
  const end = buffer.length - CHECKSUM_BYTES;
  if (crc32(buffer.subarray(0, end)) !== buffer.readUInt32LE(end)) {
    throw new CorruptStateError(location, `checksum mismatch over ${buffer.length} bytes: it was changed or cut after it was written (truncated?)`);
  }
  const headerLength = buffer.readUInt32LE(4);
  if (8 + headerLength > end) throw new CorruptStateError(location, `header of ${headerLength} bytes runs past the end (${buffer.length} bytes): truncated`);
  let header: StateHeader;
  try {
    header = JSON.parse(buffer.toString('utf8', 8, 8 + headerLength)) as StateHeader;
  } catch (error) {
    throw new CorruptStateError(location, `header is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof header !== 'object' || header === null || typeof header.selfCounters !== 'object') throw new CorruptStateError(location, 'header lacks selfCounters');
  const series = new SeriesTable();
  try {
    const tableEnd = decodeRecords(buffer.subarray(0, end), 8 + headerLength, series);
    if (tableEnd !== end) throw new RangeError(`${end - tableEnd} bytes after the last series record`);
  } catch (error) {
    throw new CorruptStateError(location, `series table: ${(error as Error).message}`, { cause: error });
  }
  return { ...header, series };
}
