import { BatchBuilder, type BatchMode } from '../remote-write/batcher';
import type { Sample } from '../series';
import type { PagePoints, ReadOutcome, SourceRead, SourceSeries } from '../sources';
import type { SeriesTable } from '../state/series-table';
import { SeriesCursor, type CursorSettings, type TranslateStats } from '../translate';
import type { RequestWriter } from './request-writer';

/**
 * Turns one read's pages into remote-write requests: each datapoint goes through its series' cursor (frontier,
 * counter total, revisions), the samples into the batcher, and each full request to the writer before the next
 * page is fetched. At the end each series' state goes back into the table (each series is read by one read only).
 */
export class ReadTranslator {
  private readonly batcher: BatchBuilder;
  private settings: CursorSettings;
  private readonly cursors: Array<SeriesCursor | undefined> = [];
  private readonly wrote: Uint8Array;
  /** Scratch for one datapoint's samples: reused, never held. */
  private readonly out: Sample[] = [];
  /** Epoch ms: the oldest period a partial answer left unread in this read (Infinity when none). */
  missingFrom = Infinity;
  /** Some series of this read is held: its window refers to this cycle's read start (`SeriesState.held`). */
  held = false;

  constructor(
    private readonly read: SourceRead,
    private readonly table: SeriesTable,
    settings: CursorSettings,
    private readonly stats: TranslateStats,
    private readonly writer: RequestWriter,
    maxSamplesPerRequest: number,
    mode: BatchMode,
  ) {
    this.batcher = new BatchBuilder(maxSamplesPerRequest, mode);
    // One period per read: a high-resolution read's series step by their own period; the window stays the cycle's.
    // A class of metrics read less often keeps its own revision base; the window's end stays the cycle's.
    const own = read.settings ? { ...settings, ...read.settings } : settings;
    this.settings = read.periodMs === own.periodMs ? own : { ...own, periodMs: read.periodMs };
    this.wrote = new Uint8Array(read.series.length);
  }

  /** Series of this read that had a sample to write. */
  get seriesWritten(): number {
    return this.wrote.reduce((n, w) => n + w, 0);
  }

  async page(points: readonly PagePoints[]): Promise<void> {
    const { out } = this;
    for (const { index, timestamps, values } of points) {
      for (const output of this.read.outputs(index)) {
        const cursor = this.cursor(output);
        for (let i = 0; i < timestamps.length; i++) {
          const at = timestamps[i] as Date | number;
          out.length = 0;
          cursor.push(typeof at === 'number' ? at : at.getTime(), values[i] as number, out);
          this.add(output, cursor);
        }
      }
    }
    await this.writer.sendAll(this.batcher.drain());
  }

  /** After the last page: closes every series (stale markers for the ended), sends the rest, stores their states. */
  async finish(outcome: ReadOutcome): Promise<void> {
    const { out } = this;
    for (let stream = 0; stream < this.read.streams; stream++) {
      for (const output of this.read.outputs(stream)) {
        const cursor = this.cursor(output);
        if (outcome.incomplete.has(stream)) cursor.incomplete = true;
        this.missingFrom = Math.min(this.missingFrom, cursor.missingFrom() ?? Infinity);
        out.length = 0;
        cursor.finish(out);
        const series = this.read.series[output] as SourceSeries;
        if (series.ended) cursor.end(out);
        this.add(output, cursor);
        if (cursor.held) this.held = true;
        this.table.set(series.key, cursor.finalState());
      }
    }
    this.batcher.close();
    await this.writer.sendAll(this.batcher.drain());
  }

  private cursor(index: number): SeriesCursor {
    let cursor = this.cursors[index];
    if (!cursor) {
      const series = this.read.series[index] as SourceSeries;
      // A read that took its too-old span coarsely says so before its first page (so before any cursor).
      const coarseTo = this.read.coarseTo;
      if (coarseTo !== undefined && this.settings.coarseTo !== coarseTo) this.settings = { ...this.settings, coarseTo };
      cursor = new SeriesCursor(this.table.get(series.key), series.kind === 'counter', series.quantile, series.scale, this.settings, this.stats);
      this.cursors[index] = cursor;
    }
    return cursor;
  }

  /**
   * Each sample goes into the journal with the state it leaves its series in: a new counter's 0 baseline apart
   * from its first value, so that a replay that stops between the two never sends the baseline again.
   */
  private add(index: number, cursor: SeriesCursor): void {
    const { out } = this;
    if (out.length === 0) return;
    const series = this.read.series[index] as SourceSeries;
    const [first, second] = out;
    if (second && first) {
      this.batcher.add(series, [first], cursor.baselineState(first.timestamp));
      this.batcher.addFrom(series, [second], cursor);
    } else {
      this.batcher.addFrom(series, out, cursor);
    }
    this.wrote[index] = 1;
  }
}
