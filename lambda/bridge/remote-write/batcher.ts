import type { SeriesKey, SeriesState } from '../state/series-state';
import type { Label, Sample, TimeSeries } from '../series';

/** A series as the batcher sees it: its labels, kind, and (for journaled data) its state key. */
export interface BatchSeries {
  readonly labels: readonly Label[];
  readonly kind: 'counter' | 'gauge';
  readonly key?: SeriesKey;
}

/** One remote-write request's worth: its series, and the state of each journaled series once it is stored. */
export interface Batch {
  readonly series: TimeSeries[];
  readonly samples: number;
  readonly states: Array<[SeriesKey, SeriesState]>;
}

interface Open {
  readonly series: BatchSeries;
  readonly samples: Sample[];
  state?: SeriesState;
  /** `state` was made for this entry by a JournalStateSource, and nothing else holds it: it may be rewritten in place. */
  owned?: boolean;
}

/** What gives a series' journal state (SeriesCursor): into `reuse`, an object it gave before, when one is passed. */
export interface JournalStateSource {
  journalState(reuse?: SeriesState): SeriesState;
}

/** byTimestamp: one add, kept whole so that each sample carries the state as of the add that produced it. */
interface Added {
  readonly series: BatchSeries;
  readonly samples: readonly Sample[];
  readonly state: SeriesState | undefined;
}

/** How requests are cut: see BatchBuilder. */
export type BatchMode = 'stream' | 'byTimestamp' | 'whole';

/**
 * Collects samples into requests of at most `maxSamples`. `stream`: a request is closed as soon as it is full
 * (the samples of one add never split, so each series' recorded state matches what the request holds).
 * `byTimestamp`: everything is kept until `close`, then one group of requests per timestamp, oldest first, for
 * a start without state, when the receiver may already hold some periods and Prometheus refuses a whole
 * request for one out-of-order sample. `whole`: one batch at `close`, for the text exposition.
 */
export class BatchBuilder {
  private open = new Map<BatchSeries, Open>();
  private count = 0;
  private added: Added[] = [];
  readonly ready: Batch[] = [];

  constructor(
    private readonly maxSamples: number,
    private readonly mode: BatchMode,
  ) {}

  add(series: BatchSeries, samples: readonly Sample[], state?: SeriesState): void {
    if (samples.length === 0) return;
    if (this.mode === 'byTimestamp') {
      this.added.push({ series, samples: [...samples], state });
      this.count += samples.length;
      return;
    }
    const entry = this.entryFor(series, samples.length);
    if (state) {
      entry.state = state;
      entry.owned = false;
    }
    this.append(entry, samples);
  }

  /**
   * `add` with the state asked of `source` once the request the samples go into is known. A series' state changes
   * with every datapoint, and only the last one in a request is journaled: an open request's state object is
   * rewritten in place rather than a new one made per sample (at 10,000 variants, millions of objects a cycle that
   * lived across the remote write's await, for the collector to copy and then mark).
   */
  addFrom(series: BatchSeries, samples: readonly Sample[], source: JournalStateSource): void {
    if (samples.length === 0) return;
    if (this.mode === 'byTimestamp') {
      this.add(series, samples, source.journalState());
      return;
    }
    const entry = this.entryFor(series, samples.length);
    entry.state = source.journalState(entry.owned ? entry.state : undefined);
    entry.owned = true;
    this.append(entry, samples);
  }

  /** The open entry of the series, once the request is cut if these samples would not fit in it. */
  private entryFor(series: BatchSeries, samples: number): Open {
    if (this.mode === 'stream' && this.count + samples > this.maxSamples && this.count > 0) this.cut();
    let entry = this.open.get(series);
    if (!entry) {
      entry = { series, samples: [] };
      this.open.set(series, entry);
    }
    return entry;
  }

  private append(entry: Open, samples: readonly Sample[]): void {
    for (const sample of samples) entry.samples.push(sample);
    this.count += samples.length;
    if (this.mode === 'stream' && this.count >= this.maxSamples) this.cut();
  }

  /** Closes what is open; batches wait in `ready`. */
  close(): void {
    if (this.count === 0) return;
    if (this.mode === 'byTimestamp') {
      const byTimestamp = new Map<number, Open[]>();
      for (const added of this.added) {
        added.samples.forEach((sample, i) => {
          const group = byTimestamp.get(sample.timestamp) ?? [];
          // The state of an add goes with its newest sample: requests go oldest first, so once that one is stored, so is everything it describes.
          group.push({ series: added.series, samples: [sample], state: i === added.samples.length - 1 ? added.state : undefined });
          byTimestamp.set(sample.timestamp, group);
        });
      }
      this.added = [];
      this.reset();
      for (const timestamp of [...byTimestamp.keys()].sort((a, b) => a - b)) {
        for (const entry of byTimestamp.get(timestamp) ?? []) {
          if (this.count + 1 > this.maxSamples) this.cut();
          this.open.set(entry.series, entry);
          this.count += 1;
        }
        this.cut();
      }
      return;
    }
    this.cut();
  }

  private cut(): void {
    if (this.count === 0) return;
    const series: TimeSeries[] = [];
    const states: Array<[SeriesKey, SeriesState]> = [];
    for (const entry of this.open.values()) {
      series.push({ labels: entry.series.labels, samples: entry.samples, kind: entry.series.kind });
      if (entry.state && entry.series.key !== undefined) states.push([entry.series.key, entry.state]);
    }
    this.ready.push({ series, samples: this.count, states });
    this.reset();
  }

  private reset(): void {
    this.open = new Map();
    this.count = 0;
  }

  /** Takes the closed batches. */
  drain(): Batch[] {
    return this.ready.splice(0, this.ready.length);
  }
}
