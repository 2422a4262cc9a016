import type { FamilyInfo } from '../catalog/catalog';
import type { Label, TimeSeries } from '../series';
import type { SeriesKey } from '../state/series-state';
import type { BridgeState } from '../state/state';
import type { CursorSettings } from '../translate';

/**
 * Where metrics come from. The cycle knows a source only through this interface, in this order: `discover` what
 * there is, `plan` the cycle's reads once its span is known, run each `SourceRead` (several at once, each handing
 * over one page at a time), then take the `snapshot` of what is true now. A source keeps its own caches, rate
 * limits, windows and page sizes; the cycle keeps the per-series state, the journal, the batching and the commit.
 */
export interface MetricSource {
  /** For logs. */
  readonly name: string;
  /** Finds what there is to read, before the window is planned (the sample budget depends on it). */
  discover(): Promise<void>;
  /** Plans this cycle's reads. */
  plan(input: PlanInput): SourcePlan;
}

export interface PlanInput {
  /** Epoch ms: the cycle's clock when it started. */
  readonly startedAt: number;
  /** Epoch ms: where every read starts (inclusive); the previous state's per-series aggregates refer to it. */
  readonly readStart: number;
  /** The state the cycle started from: its series table (to mark the series planned), its SageMaker cache. */
  readonly previous: BridgeState;
  /**
   * A dry run: its text exposition needs each family in one run across the reads, before the fewest calls.
   * @default false
   */
  readonly dryRun?: boolean;
}

/** The family of series a plan writes, so that after a loss of state the receiver can be asked what it holds. */
export interface SeriesFamily {
  readonly name: string;
  readonly counter: boolean;
}

export interface SourcePlan {
  /** What discovery found (metrics listed), for the report. */
  readonly discovered: number;
  /** Queries one read of the window requests: what the API bills. */
  readonly queries: number;
  /** Samples the reads return per cycle period (a series at a shorter period counts several): the budget's unit. */
  readonly samplesPerPeriod: number;
  /** Every family the reads write. */
  families(): Iterable<SeriesFamily>;
  /**
   * Work the reads depend on, once the cycle's span is known and before they are built (the CloudWatch source reads
   * its idle variants' sentinels here, to know which of them to read in full). Writes nothing.
   */
  prepare?(span: ReadSpan, settings: CursorSettings): Promise<void>;
  /** HELP and TYPE of the families this source names itself (not the catalog's): text exposition and remote-write metadata. */
  describe?(): readonly FamilyInfo[];
  /** The reads, built lazily: a large fleet's queries are never all held at once. */
  reads(): Iterable<SourceRead>;
  /** Starts work that runs beside the reads and ends by `snapshot` (which must not wait once `readsDone()`, give or take). */
  begin?(readsDone: () => boolean): void;
  /** Every read finished: say what only the whole plan knows. */
  afterReads?(): void;
  /** Series as they are now, written as they are (no per-series state): `current` ones, and stale markers for `ended` ones. */
  snapshot?(times: SnapshotTimes): Promise<Snapshot>;
  /** Puts what the source keeps across cycles into the state about to be committed. */
  commit?(state: BridgeState): void;
}

/** One unit of reading (one GetMetricData call's worth of queries, with its pages): the cycle runs several at once. */
export interface SourceRead {
  /** The step of the read's datapoints, ms. */
  readonly periodMs: number;
  /** The series this read fills. */
  readonly series: readonly SourceSeries[];
  /** Streams of datapoints the read returns (a query's results): each feeds one or more series. */
  readonly streams: number;
  /**
   * Where this read's series' windows start and move to, when not the cycle's: a class of metrics read less often
   * than every cycle keeps a revision base of its own. @default the cycle's
   */
  readonly settings?: Pick<CursorSettings, 'readStart' | 'fetchStart' | 'nextBase'>;
  /** Indices into `series` of the series stream `stream` feeds, in order. */
  outputs(stream: number): readonly number[];
  /**
   * Epoch ms, set by `read` before its first page when it read its counters' too-old span at one coarse period
   * (`CursorSettings.coarseTo`); undefined when it reads every period one by one.
   */
  readonly coarseTo?: number;
  /**
   * Reads `[span.start, span.end)` oldest first and hands each page to `onPage`, awaiting it, before fetching the
   * next: the cycle translates, journals and sends a page before the next is held.
   */
  read(span: ReadSpan, onPage: (page: readonly PagePoints[]) => Promise<void>): Promise<ReadOutcome>;
}

/** One series a read fills, and how its datapoints become samples. */
export interface SourceSeries {
  /** Prometheus labels, `__name__` included, sorted. */
  readonly labels: readonly Label[];
  readonly key: SeriesKey;
  /** A counter's datapoints are per-period amounts (a Sum, an OTel delta) added to a cumulative total. */
  readonly kind: 'counter' | 'gauge';
  /** A quantile: its revisions are counted apart from a gauge's. */
  readonly quantile: boolean;
  /** Multiplies each raw value (to base units). */
  readonly scale: number;
  /** Its resource is gone: the series gets a staleness marker after its last sample. */
  readonly ended: boolean;
}

export interface ReadSpan {
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
}

/** One page's datapoints of one stream, in time order. */
export interface PagePoints {
  readonly index: number;
  /** Dates (the AWS SDK's) or epoch ms. */
  readonly timestamps: ReadonlyArray<Date | number>;
  readonly values: readonly number[];
}

export interface ReadOutcome {
  /** Queries refused for lack of permission: no data, logged by the source and counted by the cycle. */
  readonly forbidden: number;
  /** Streams whose later datapoints are missing this cycle: their series' frontiers must not move past what came. */
  readonly incomplete: ReadonlySet<number>;
}

export interface SnapshotTimes {
  /** Epoch ms of the snapshot's samples: the window's last period, or the oldest the receiver accepts. */
  readonly at: number;
  /** Epoch ms of the staleness markers: one period after the previous cycle's samples. */
  readonly endedAt: number;
}

export interface Snapshot {
  /** Counted among the cycle's active series. */
  readonly current: Iterable<TimeSeries>;
  /** Staleness markers of series whose resource went away. */
  readonly ended: Iterable<TimeSeries>;
}
