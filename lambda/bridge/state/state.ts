/** Per-series memory that makes counters exact across cycles. Short keys: this is persisted for every series. */
export interface SeriesState {
  /** Counters: the cumulative value last written. */
  t?: number;
  /** Counters: a downward revision not yet absorbed (counters never go down, so it waits for growth). */
  p?: number;
  /** Values forwarded inside the revision window: period start (epoch seconds) -> value in base units. */
  f: Record<string, number>;
  /** Epoch ms of the newest period that had data. */
  s: number;
}

export interface BridgeState {
  readonly version: 1;
  /** Epoch ms: every period before it has been forwarded. */
  highWaterMark?: number;
  /** Keyed by the series identity (name and sorted labels). */
  series: Record<string, SeriesState>;
  /** Cumulative values of the bridge's own counters, keyed by series identity. */
  selfCounters: Record<string, number>;
  /** How long the previous cycle's remote write took, ms. */
  lastWriteMs?: number;
}

/** The durable document: the committed state, and a journal of a cycle whose write may have happened but did not commit. */
export interface StateDocument {
  committed: BridgeState;
  pending?: {
    /** The exact remote-write request bodies (snappy-compressed protobuf, base64), in send order. */
    batches: string[];
    /** The state those batches lead to. */
    next: BridgeState;
    createdAt: number;
  };
}

export interface LoadedState {
  readonly document: StateDocument | undefined;
  /** Opaque version for the conditional write (S3 ETag, file generation); undefined when nothing is stored. */
  readonly version: string | undefined;
}

/** Durable state with compare-and-swap, so two overlapping cycles never both commit. */
export interface StateStore {
  load(): Promise<LoadedState>;
  /** Writes `document` only if the stored version is still `expectedVersion`; returns the new version. */
  save(document: StateDocument, expectedVersion: string | undefined): Promise<string>;
  /** Where the state lives, for logs. */
  readonly location: string;
}

/** Another cycle changed the state since this one loaded it: this cycle must stop without writing. */
export class ConcurrentUpdateError extends Error {
  constructor(location: string) {
    super(`state at ${location} was changed by another cycle; this cycle stops without writing (the other one carries on)`);
    this.name = 'ConcurrentUpdateError';
  }
}

export function emptyState(): BridgeState {
  return { version: 1, series: {}, selfCounters: {} };
}

/** A document from an unknown version, or a corrupt one, counts as lost (a counter reset, never a duplicate). */
export function asStateDocument(value: unknown): StateDocument | undefined {
  const doc = value as StateDocument | undefined;
  return doc?.committed?.version === 1 && typeof doc.committed.series === 'object' ? doc : undefined;
}

export function parseStateDocument(text: string): StateDocument | undefined {
  try {
    return asStateDocument(JSON.parse(text));
  } catch {
    return undefined;
  }
}
