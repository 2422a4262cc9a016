import { crc32 } from 'node:zlib';
import { decodeRecords, encodeSeriesTable, pointHash, seriesKeyOf } from './series-state';
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

/** SageMaker answers kept across cold starts, so SageMaker calls grow with change, not with the fleet. */
export interface SageMakerCache {
  /** Endpoint name -> DescribeEndpoint, reduced to what the metadata series need. */
  endpoints: Record<string, CachedEndpoint>;
  /** Endpoint config name -> variant -> [instance type, model name]. Configs are immutable. */
  configs: Record<string, Record<string, [string, string]>>;
  /** Deleted endpoints (`name`), variants (`name/variant`) and inference components (`component:name`) -> when the bridge saw them go (epoch ms). */
  ended?: Record<string, number>;
  /** Inference component name -> DescribeInferenceComponent, reduced. Absent from states written before components were read. */
  components?: Record<string, CachedComponent>;
  /**
   * Lower-cased resource ARN -> [when read (epoch ms), the configured tag keys it carries]. Lower-cased because the
   * tagging API may answer an ARN in another case than SageMaker lists it. Absent when no `endpointTags` are configured.
   */
  tags?: Record<string, [number, Record<string, string>]>;
}

export interface CachedComponent {
  readonly endpoint: string;
  readonly variant: string;
  readonly arn: string;
  /** LastModifiedTime (epoch ms) when described. */
  readonly modified: number;
  /** When it was described (epoch ms). */
  readonly described: number;
  readonly status: string;
  /** RuntimeConfig.DesiredCopyCount */
  readonly desired: number | null;
  /** RuntimeConfig.CurrentCopyCount */
  readonly current: number | null;
}

export interface CachedEndpoint {
  /** LastModifiedTime (epoch ms) when described. */
  readonly modified: number;
  /** When it was described (epoch ms). */
  readonly described: number;
  readonly status: string;
  readonly config: string;
  /** EndpointArn, the key of its tags. Absent from states written before tags were read: filled in from ListEndpoints. */
  readonly arn?: string;
  /** [variant, current instances, desired instances, current weight, desired weight, serverless 0/1] */
  readonly variants: ReadonlyArray<[string, number | null, number | null, number | null, number | null, number]>;
}

export interface BridgeState {
  /** Epoch ms: every period before it has been forwarded. */
  highWaterMark?: number;
  /** Epoch ms: where the next cycle starts reading; the series' windows and counts refer to it. */
  revisionBase?: number;
  /** Updated in place by a cycle; `get` returns a copy, so every change goes through `set`. */
  series: SeriesTable;
  /** Cumulative values of the bridge's own counters, keyed by series identity. */
  selfCounters: Record<string, number>;
  /** How long the previous cycle's remote write took, ms. */
  lastWriteMs?: number;
  sagemaker?: SageMakerCache;
  journal?: JournalHeader;
}

export function emptyState(): BridgeState {
  return { series: new SeriesTable(), selfCounters: {} };
}

export interface LoadedState {
  /** The raw stored bytes; undefined when nothing is stored. */
  readonly bytes: Uint8Array | undefined;
  /** Opaque version for the conditional write (S3 ETag, file generation); undefined when nothing is stored. */
  readonly version: string | undefined;
}

/**
 * Durable state with compare-and-swap, so two overlapping cycles never both commit, and a journal kept apart
 * from it: one record per remote-write request, written before the request is sent.
 */
export interface StateStore {
  load(): Promise<LoadedState>;
  /** Writes `bytes` only if the stored version is still `expectedVersion`; returns the new version. */
  save(bytes: Uint8Array, expectedVersion: string | undefined): Promise<string>;
  appendJournal(id: string, seq: number, record: Uint8Array): Promise<void>;
  /** The record, or undefined past the last one. */
  readJournal(id: string, seq: number): Promise<Uint8Array | undefined>;
  /** Removes a journal's records (after its state was committed); best effort. */
  clearJournal(id: string, records: number): Promise<void>;
  /** Moves the stored state aside (for an explicit reset) and returns where it went; undefined when there was none. */
  moveAside(suffix: string): Promise<string | undefined>;
  /** Where the state lives, for logs. */
  readonly location: string;
}

/** Another cycle changed the state since this one loaded it: this cycle must stop without writing. */
export class ConcurrentUpdateError extends Error {
  constructor(location: string, detail = 'was changed by another cycle') {
    super(`state at ${location} ${detail}; this cycle stops without writing (the other one carries on)`);
    this.name = 'ConcurrentUpdateError';
  }
}

/** The stored state cannot be read. It is left untouched: starting over is the user's decision (`--reset-state`). */
export class CorruptStateError extends Error {
  constructor(location: string, reason: string) {
    super(`state at ${location} is corrupt (${reason}); it was left untouched. Inspect it, or start over with --reset-state (the old state is kept beside it)`);
    this.name = 'CorruptStateError';
  }
}

const MAGIC = Buffer.from('IWS2');
const CHECKSUM_BYTES = 4;

interface StateHeader {
  highWaterMark?: number;
  revisionBase?: number;
  selfCounters: Record<string, number>;
  lastWriteMs?: number;
  sagemaker?: SageMakerCache;
  journal?: JournalHeader;
}

/**
 * `IWS2`, header length, JSON header, the binary series table (see series-state.ts), then a CRC-32 of all of it:
 * a state changed or cut after it was written is an error, never a different valid state.
 */
export function encodeState(state: BridgeState): Buffer {
  const header: StateHeader = {
    highWaterMark: state.highWaterMark,
    revisionBase: state.revisionBase,
    selfCounters: state.selfCounters,
    lastWriteMs: state.lastWriteMs,
    sagemaker: state.sagemaker,
    journal: state.journal,
  };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32LE(json.length, 0);
  const body = Buffer.concat([MAGIC, length, json, encodeSeriesTable(state.series)]);
  const checksum = Buffer.allocUnsafe(CHECKSUM_BYTES);
  checksum.writeUInt32LE(crc32(body), 0);
  return Buffer.concat([body, checksum]);
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
    throw new CorruptStateError(location, `header is not JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || typeof header.selfCounters !== 'object') throw new CorruptStateError(location, 'header lacks selfCounters');
  const series = new SeriesTable();
  try {
    const tableEnd = decodeRecords(buffer.subarray(0, end), 8 + headerLength, series);
    if (tableEnd !== end) throw new RangeError(`${end - tableEnd} bytes after the last series record`);
  } catch (error) {
    throw new CorruptStateError(location, `series table: ${(error as Error).message}`);
  }
  return { ...header, series };
}

interface JsonSeriesStateV1 {
  t?: number;
  p?: number;
  f: Record<string, number>;
  s: number;
}

/** The smallest step between forwarded periods (0.1 kept one value per period), 60 s when there is no step. */
function periodOf(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const steps = sorted.slice(1).map((t, i) => t - (sorted[i] as number)).filter((d) => d > 0);
  return steps.length > 0 ? Math.min(...steps) : 60_000;
}

/**
 * Reads the JSON state of inferwatch 0.1 (per-period values in the revision window) into the compact form, so
 * an upgrade keeps every counter's total and frontier. A journal left by 0.1 is not carried over: 0.1 stored it
 * inside the document, and it is replayed from there.
 */
function migrateJsonState(buffer: Buffer, location: string): BridgeState {
  let document: { generation?: number; document?: unknown; committed?: unknown };
  try {
    document = JSON.parse(buffer.toString('utf8')) as typeof document;
  } catch (error) {
    throw new CorruptStateError(location, `not valid JSON: ${(error as Error).message}`);
  }
  const inner = (document.document ?? document) as { committed?: { version?: number; highWaterMark?: number; series?: Record<string, JsonSeriesStateV1>; selfCounters?: Record<string, number> } };
  const committed = inner.committed;
  if (committed?.version !== 1 || typeof committed.series !== 'object') throw new CorruptStateError(location, 'JSON without a version 1 committed state');
  const series = new SeriesTable();
  const base = Math.min(...Object.values(committed.series).flatMap((s) => Object.keys(s.f).map((slot) => Number(slot) * 1000)), committed.highWaterMark ?? Infinity);
  for (const [identity, old] of Object.entries(committed.series)) {
    const counter = old.t !== undefined;
    const forwarded = Object.entries(old.f).map(([slot, value]) => [Number(slot) * 1000, value] as const);
    const period = (t: number) => (t - base) / periodOf(forwarded.map(([t]) => t));
    series.set(seriesKeyOf(identity), {
      frontier: old.s > 0 ? Math.max(old.s, ...forwarded.map(([t]) => t)) : -Infinity,
      counter,
      total: old.t ?? 0,
      pending: old.p ?? 0,
      window: counter ? forwarded.reduce((sum, [, v]) => sum + v, 0) : forwarded.reduce((h, [t, v]) => (h + pointHash(t, v)) >>> 0, 0),
      count: forwarded.length,
      moment: forwarded.reduce((m, [t, v]) => m + (counter ? v : 1) * period(t), 0),
      baseline: true,
    });
  }
  return { highWaterMark: committed.highWaterMark, revisionBase: Number.isFinite(base) ? base : committed.highWaterMark, series, selfCounters: committed.selfCounters ?? {} };
}
