import { withoutRawCache, type MetricDef } from './fleet';

/**
 * Each stored minute's statistics of the fleet's timings, computed before a catch-up starts rather than while it reads.
 *
 * A timing's statistics come from its raw values, drawn afresh for each minute (latency-distribution.ts): hours of a
 * 10,000-variant fleet are millions of draws, and a stand-in that draws them while the bridge waits for its answers
 * measures itself rather than the bridge (issue 23: the bench process at a full core for 75 s of an 89 s catch-up).
 * The values held are the very numbers `MetricDef.value` gives, so an answer is the same with or without them.
 */
export class PrecomputedMinutes {
  private readonly values = new Map<string, Float64Array>();
  private readonly statIndex = new Map<string, number>();
  private fromSeconds = 0;
  private minutes = 0;
  /** Statistics answered from what is held (a test's proof that the held path ran). */
  hits = 0;

  /** Metric-minutes held: one per timing and minute. */
  get size(): number {
    return this.values.size * this.minutes;
  }

  /**
   * Computes `stats` of every metric given, each resolution-60 minute from `fromSeconds` (inclusive) to `toSeconds`
   * (exclusive), replacing whatever was held. NaN stands for a statistic the minute has no datapoint for.
   */
  fill(metrics: Iterable<readonly [string, MetricDef]>, stats: readonly string[], fromSeconds: number, toSeconds: number): void {
    this.clear();
    this.fromSeconds = Math.floor(fromSeconds / 60) * 60;
    this.minutes = Math.max(0, Math.ceil((toSeconds - this.fromSeconds) / 60));
    stats.forEach((stat, i) => this.statIndex.set(stat, i));
    withoutRawCache(() => {
      for (const [id, metric] of metrics) {
        const held = new Float64Array(this.minutes * stats.length);
        for (let m = 0; m < this.minutes; m++) {
          const at = this.fromSeconds + m * 60;
          stats.forEach((stat, i) => {
            held[m * stats.length + i] = metric.value(stat, at) ?? NaN;
          });
        }
        this.values.set(id, held);
      }
    });
  }

  clear(): void {
    this.values.clear();
    this.statIndex.clear();
    this.minutes = 0;
  }

  /** The held statistic of the minute starting at `at` (undefined: no datapoint), or null when it is not held. */
  valueOf(id: string, stat: string, at: number): number | undefined | null {
    const held = this.values.get(id);
    const index = this.statIndex.get(stat);
    const minute = (at - this.fromSeconds) / 60;
    if (held === undefined || index === undefined || !Number.isInteger(minute) || minute < 0 || minute >= this.minutes) return null;
    this.hits += 1;
    const value = held[minute * this.statIndex.size + index] as number;
    return Number.isNaN(value) ? undefined : value;
  }
}
