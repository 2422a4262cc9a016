import { newSeriesState, pointHash, STALE_NAN, type SeriesState } from './state/series-state';
import type { Sample } from './series';

export interface TranslateStats {
  /**
   * Revisions CloudWatch made to data already forwarded, by kind, counted once per series and cycle. `counter`
   * ones are carried into the next counter sample; `gauge` and `quantile` ones cannot be rewritten; `late` is
   * data that arrived for a gauge period that was empty when the series had already moved past it.
   */
  revisions: { counter: number; gauge: number; quantile: number; late: number };
  /** Seconds from each revised (`counter`) or late (`late`) period to the end of the window that saw it, summed. */
  lateness: { counter: number; late: number };
  /** Datapoints that were NaN or infinite. */
  nonFinite: number;
  /** Datapoints older than the receiver accepts: counters fold them into their next sample, gauges drop them. */
  tooOld: { samples: number; from: number; to: number };
}

export function emptyStats(): TranslateStats {
  return { revisions: { counter: 0, gauge: 0, quantile: 0, late: 0 }, lateness: { counter: 0, late: 0 }, nonFinite: 0, tooOld: { samples: 0, from: Infinity, to: -Infinity } };
}

export interface CursorSettings {
  readonly periodMs: number;
  /** The revision base the previous state's aggregates refer to: GetMetricData StartTime, unless `fetchStart` is earlier. */
  readonly readStart: number;
  /**
   * GetMetricData StartTime when it is earlier than `readStart`: an earlier answer was partial and left periods
   * unread. Datapoints before `readStart` only fill those gaps (newer than the frontier); they are in no window.
   * @default readStart
   */
  readonly fetchStart?: number;
  /**
   * The base the windows of held series refer to (`SeriesState.held`: an answer stopped short of their frontier), at
   * or before `readStart`. While it is set the revision base does not move (`nextBase` is `readStart`), so a series
   * cut short this cycle keeps its window as it is: there are never more than the two bases.
   * @default undefined (no series is held)
   */
  readonly heldBase?: number;
  /** GetMetricData EndTime (exclusive): the next high-water mark. */
  readonly end: number;
  /** The next cycle's revision base: the committed state's aggregates refer to it. */
  readonly nextBase: number;
  /** Samples before this are not written (the receiver would refuse them); counters carry their sums on. */
  readonly writableFrom: number;
  /**
   * Epoch ms: a read whose every window refers to where it starts may read its counters over [start, skipTo) at one
   * coarse period (all of it older than `writableFrom`, before `nextBase`) and go on per period from here.
   * @default undefined (every period read one by one)
   */
  readonly skipTo?: number;
  /**
   * Epoch ms: this read did read [readStart, coarseTo) coarsely: a counter's datapoint before it is the span's Sum,
   * and gauges and quantiles were not read there.
   * @default undefined (read per period)
   */
  readonly coarseTo?: number;
}

/** A held or moved window: the aggregates the next cycle compares its re-read with. */
type KeptWindow = Pick<SeriesState, 'window' | 'count' | 'moment' | 'held'>;

/**
 * Turns one query's datapoints, fed in time order (across GetMetricData pages), into samples for one series.
 *
 * Every datapoint newer than the series' write frontier is written at its own timestamp, whenever it arrives.
 * Counters are cumulative: each period's Sum is added to the running total. A new counter starts with a 0
 * sample one period before its first data, so `increase()` over any range that holds both equals CloudWatch's
 * Sum. Datapoints at or before the frontier were forwarded already: for a counter, the difference between
 * their sum now and the sum forwarded goes into the next sample, so the total stays exact (a difference
 * downward waits until the counter has grown past it, since a counter that drops reads as a reset). Gauges and
 * quantiles cannot be rewritten: their revisions are only counted.
 */
export class SeriesCursor {
  private readonly state: SeriesState;
  private readonly previous: SeriesState | undefined;
  private reread = 0;
  private rereadCount = 0;
  private lateApplied = false;
  /** Aggregate of everything read so far (from readStart on): the state's window if the cycle stopped here. */
  private sumAll = 0;
  private countAll = 0;
  private momentAll = 0;
  private rereadMoment = 0;
  /** Aggregate of what was read from the next base on: the committed state's window. */
  private sumNext = 0;
  private countNext = 0;
  private momentNext = 0;
  /** PartialData with no NextToken: later datapoints are missing, so the frontier must not move past them. */
  incomplete = false;
  /** The re-read was cut short: this cycle's aggregates are no baseline for the next one. */
  private unsure = false;
  /** Where this series' window starts: `heldBase` for a held series, else `readStart`. */
  private readonly base: number;
  /** The newest datapoint of the answer (epoch ms): a partial answer read everything up to it, nothing after. */
  private lastSeen = -Infinity;
  /** A re-read cut short of the frontier: the previous window, moved to the base it now refers to (for the commit). */
  private kept: KeptWindow | undefined;

  constructor(
    previous: SeriesState | undefined,
    readonly counter: boolean,
    private readonly quantile: boolean,
    private readonly scale: number,
    private readonly settings: CursorSettings,
    private readonly stats: TranslateStats,
  ) {
    // A held window with no base to refer to is no baseline.
    const held = previous?.held === true;
    this.base = held && settings.heldBase !== undefined ? Math.min(settings.heldBase, settings.readStart) : settings.readStart;
    this.previous = held && settings.heldBase === undefined ? { ...(previous as SeriesState), baseline: false } : previous;
    this.state = previous ? { ...previous } : newSeriesState(counter);
    delete this.state.held;
    if (settings.coarseTo !== undefined) {
      // The coarse answer was whole: everything before coarseTo was read. Gauges have nothing there to compare.
      this.lastSeen = settings.coarseTo - settings.periodMs;
      if (!counter) this.lateApplied = true;
    }
  }

  /**
   * Feeds one datapoint (epoch ms, raw CloudWatch value); appends the samples to write to `out`: none, one, or
   * for a new counter two (its 0 baseline, then the value; `baselineState` is the state between them).
   */
  push(timestamp: number, raw: number, out: Sample[]): void {
    if (this.settings.coarseTo !== undefined && timestamp < this.settings.coarseTo) {
      this.pushCoarse(timestamp, raw);
      return;
    }
    this.lastSeen = timestamp;
    if (!Number.isFinite(raw)) {
      this.stats.nonFinite += 1;
      return;
    }
    const value = raw * this.scale;
    const forwarded = timestamp <= this.state.frontier;
    if (timestamp < this.base) {
      // Read again only because an earlier answer stopped short: what it did return is outside every window.
      if (!forwarded) this.forward(timestamp, value, out);
      return;
    }
    const weight = this.counter ? value : 1;
    const moment = weight * this.periodsAfter(timestamp, this.base);
    this.momentAll += moment;
    if (timestamp >= this.settings.nextBase) this.momentNext += weight * this.periodsAfter(timestamp, this.settings.nextBase);
    if (forwarded) this.rereadMoment += moment;
    if (this.counter) {
      this.sumAll += value;
      if (timestamp >= this.settings.nextBase) this.sumNext += value;
      if (forwarded) this.reread += value;
      else this.forward(timestamp, value, out);
      return;
    }
    const hash = pointHash(timestamp, value);
    this.sumAll = (this.sumAll + hash) >>> 0;
    this.countAll += 1;
    if (timestamp >= this.settings.nextBase) {
      this.sumNext = (this.sumNext + hash) >>> 0;
      this.countNext += 1;
    }
    if (forwarded) {
      this.reread = (this.reread + hash) >>> 0;
      this.rereadCount += 1;
      return;
    }
    this.forward(timestamp, value, out);
  }

  /**
   * A counter's Sum over the read's too-old span [base, coarseTo), in one datapoint: a re-read of every period the
   * previous window holds (they all lie before coarseTo, which the read checked), compared with it as a per-period
   * re-read is; with no previous window all of it is new. Nothing of it can be written: the total carries it.
   */
  private pushCoarse(timestamp: number, raw: number): void {
    if (!Number.isFinite(raw)) {
      this.stats.nonFinite += 1;
      return;
    }
    if (!this.counter) return;
    const value = raw * this.scale;
    const moment = value * this.periodsAfter(timestamp, this.base);
    this.sumAll += value;
    this.momentAll += moment;
    const previous = this.previous;
    if (previous?.baseline && Number.isFinite(previous.frontier)) {
      this.reread += value;
      this.rereadMoment += moment;
    } else this.state.pending += value;
    const last = (this.settings.coarseTo as number) - this.settings.periodMs;
    if (last > this.state.frontier) this.skipTooOld(last);
  }

  /** A datapoint newer than the frontier: written at its own timestamp (a counter's as its running total). */
  private forward(timestamp: number, value: number, out: Sample[]): void {
    this.applyLate();
    if (timestamp < this.settings.writableFrom) {
      this.skipTooOld(timestamp);
      // Pending, like a revision: the next sample carries it, or else the window's last period (a variant that then
      // goes idle has no next sample for hours).
      if (this.counter) this.state.pending += value;
      return;
    }
    if (!this.counter) {
      this.write(timestamp, value, out);
      return;
    }
    // Never written (new, or planned before without data): `increase()` needs the 0 to count the first period.
    if (!Number.isFinite(this.state.frontier)) out.push({ timestamp: timestamp - this.settings.periodMs, value: 0 });
    this.addToTotal(value);
    this.write(timestamp, this.state.total, out);
  }

  /**
   * Where this series' unread periods begin when its answer was partial (PartialData with no NextToken), else
   * undefined: the next cycle must read from there, however far back its revision base has moved.
   */
  missingFrom(): number | undefined {
    if (!this.incomplete) return undefined;
    const fetchStart = this.settings.fetchStart ?? this.settings.readStart;
    return Math.max(this.state.frontier + this.settings.periodMs, fetchStart);
  }

  /** Held: the series' window refers to the held base (not the next revision base), which the next cycle reads from. */
  get held(): boolean {
    return this.kept?.held === true;
  }

  /** After the query's last page: a revision with no newer datapoint is written at the window's last period. */
  finish(out: Sample[]): void {
    if (this.incomplete && !this.lateApplied && this.lastSeen < this.state.frontier) {
      // The answer stopped before the frontier: the re-read is short of what was forwarded, which is no revision.
      this.lateApplied = true;
      this.keepWindow();
    }
    this.applyLate();
    const last = this.settings.end - this.settings.periodMs;
    if (this.counter && this.state.pending > 0 && !this.incomplete && last > this.state.frontier && last >= this.settings.writableFrom) {
      this.addToTotal(0);
      this.write(last, this.state.total, out);
    }
  }

  /**
   * The series' endpoint or variant was deleted: a staleness marker one period after its last sample ends it in the
   * receiver at once, instead of a flat line for the lookback, and only once (a series that comes back is written
   * again as usual).
   */
  end(out: Sample[]): void {
    if (this.state.ended || !Number.isFinite(this.state.frontier)) return;
    const at = Math.max(this.state.frontier + this.settings.periodMs, this.settings.writableFrom);
    if (at >= this.settings.end) return;
    out.push({ timestamp: at, value: STALE_NAN });
    this.state.frontier = at;
    this.state.ended = true;
  }

  /** The state of a new counter once only its 0 baseline (at `timestamp`) is written (for the journal). */
  baselineState(timestamp: number): SeriesState {
    return { ...newSeriesState(this.counter), frontier: timestamp };
  }

  /**
   * The series' state as of the samples written so far, its window relative to its base (for the journal). Written
   * into `reuse` (a state this cursor gave before, held by nothing else) when given.
   */
  journalState(reuse?: SeriesState): SeriesState {
    // A held series' window still starts at the held base, which a journal replay keeps.
    const held = this.base < this.settings.readStart;
    if (!reuse) {
      const state: SeriesState = { ...this.state, window: this.sumAll, count: this.countAll, moment: this.momentAll, baseline: true };
      if (held) state.held = true;
      return state;
    }
    const { frontier, total, pending, ended } = this.state;
    reuse.frontier = frontier;
    reuse.total = total;
    reuse.pending = pending;
    reuse.window = this.sumAll;
    reuse.count = this.countAll;
    reuse.moment = this.momentAll;
    reuse.baseline = true;
    if (ended !== undefined) reuse.ended = ended;
    else if (reuse.ended !== undefined) delete reuse.ended;
    if (held) reuse.held = true;
    else if (reuse.held !== undefined) delete reuse.held;
    return reuse;
  }

  /** The series' state after this cycle, its window relative to the next base (for the commit), or held. */
  finalState(): SeriesState {
    if (this.kept) return { ...this.state, ...this.kept, baseline: true };
    return { ...this.state, window: this.sumNext, count: this.countNext, moment: this.momentNext, baseline: !this.unsure };
  }

  /**
   * The re-read stopped before the frontier, so revisions in what it missed cannot be known this cycle, and this
   * cycle's aggregates are no baseline. The previous window is kept instead, for the next cycle to compare with:
   * moved to the next base when the answer reached it (what was read before that base is taken out: a revision there
   * is then found by the next cycle, as the difference); else held where it is, and the next cycle reads from there.
   */
  private keepWindow(): void {
    const previous = this.previous;
    const { periodMs, readStart, nextBase, heldBase } = this.settings;
    if (!previous?.baseline) {
      this.unsure = true;
      return;
    }
    if (this.base === nextBase || this.lastSeen + periodMs >= nextBase) {
      const weightNext = this.counter ? this.sumNext : this.countNext;
      const momentBefore = this.momentAll - this.momentNext - weightNext * this.periodsAfter(nextBase, this.base);
      this.kept = this.moved(previous, nextBase, this.sumAll - this.sumNext, this.countAll - this.countNext, momentBefore);
    } else if (this.base === (heldBase ?? readStart)) {
      this.kept = { window: previous.window, count: previous.count, moment: previous.moment, held: true };
    }
    // Otherwise a held base is set but the revision base moves: the plan never does that.
    if (!this.kept) this.unsure = true;
  }

  /** The previous window without what was read over [base, to): the forwarded periods from `to` on. */
  private moved(previous: SeriesState, to: number, sum: number, count: number, moment: number): KeptWindow | undefined {
    const window = this.counter ? previous.window - sum : (previous.window - sum) >>> 0;
    const left = previous.count - count;
    if (left < 0) return undefined;
    const weight = this.counter ? window : left;
    return { window, count: left, moment: previous.moment - moment - weight * this.periodsAfter(to, this.base) };
  }

  private write(timestamp: number, value: number, out: Sample[]): void {
    out.push({ timestamp, value });
    this.state.frontier = timestamp;
    delete this.state.ended;
  }

  private addToTotal(value: number): void {
    const candidate = this.state.total + value + this.state.pending;
    if (candidate >= this.state.total) {
      this.state.total = candidate;
      this.state.pending = 0;
    } else {
      this.state.pending = candidate - this.state.total;
    }
  }

  private periodsAfter(timestamp: number, base: number): number {
    return (timestamp - base) / this.settings.periodMs;
  }

  /** Seconds from a revised period (`index` periods after the series' base, possibly an average) to the window's end. */
  private latenessOf(index: number): number {
    const revisedAt = this.base + index * this.settings.periodMs;
    const seconds = (this.settings.end - revisedAt) / 1000;
    // An estimate from aggregates: kept within what the re-read could have covered.
    return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), (this.settings.end - this.base) / 1000) : 0;
  }

  /** Not written, but handled: a counter's total carries it, and the frontier moves past it so it is never added twice. */
  private skipTooOld(timestamp: number): void {
    this.state.frontier = timestamp;
    const tooOld = this.stats.tooOld;
    tooOld.samples += 1;
    tooOld.from = Math.min(tooOld.from, timestamp);
    tooOld.to = Math.max(tooOld.to, timestamp);
  }

  /** Once every re-read datapoint is in (they come first, oldest first): compare with what was forwarded. */
  private applyLate(): void {
    if (this.lateApplied) return;
    this.lateApplied = true;
    const previous = this.previous;
    if (!previous || !previous.baseline || !Number.isFinite(previous.frontier)) return;
    if (this.counter) {
      const late = this.reread - previous.window;
      if (late === 0) return;
      // A coarse re-read holds the span's new periods too: no revision to count, only the total to carry.
      if (this.settings.coarseTo !== undefined) {
        this.state.pending += late;
        return;
      }
      this.stats.revisions.counter += 1;
      this.stats.lateness.counter += this.latenessOf((this.rereadMoment - previous.moment) / late);
      this.state.pending += late;
      return;
    }
    if (this.rereadCount > previous.count) {
      this.stats.revisions.late += 1;
      this.stats.lateness.late += this.latenessOf((this.rereadMoment - previous.moment) / (this.rereadCount - previous.count));
    } else if (this.reread !== previous.window) this.stats.revisions[this.quantile ? 'quantile' : 'gauge'] += 1;
  }
}
