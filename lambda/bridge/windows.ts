/** The span of periods one cycle forwards, and the span it reads from CloudWatch. All times are epoch milliseconds. */
export interface CycleWindow {
  /** First period forwarded (inclusive); equals the previous high-water mark. */
  readonly start: number;
  /** End of the last period forwarded (exclusive); the next high-water mark. */
  readonly end: number;
  /** GetMetricData StartTime: `start` less the revision window, once something has been forwarded. */
  readonly readStart: number;
}

export interface WindowSettings {
  readonly period: number;
  readonly settle: number;
  readonly initialLookback: number;
  readonly revisionWindow: number;
  readonly maxCycleSpan: number;
}

/** `floor(x / step) * step`, for whole multiples. */
export function alignDown(value: number, step: number): number {
  return Math.floor(value / step) * step;
}

/**
 * Forward every period that ended at least `settle` ago and has not been forwarded yet:
 * `[highWaterMark, floor((now - settle) / period) * period)`, at most `maxCycleSpan` of it per cycle. With
 * `writableFrom` (epoch ms; the cycle can read the periods before it coarsely, `CursorSettings.skipTo`), the span
 * bounded is the writable part: the periods before `writableFrom` are only read, one coarse datapoint each counter.
 * Returns undefined when no whole period is ready.
 */
export function planWindow(nowMs: number, settings: WindowSettings, highWaterMark: number | undefined, writableFrom?: number): CycleWindow | undefined {
  const period = settings.period * 1000;
  const ready = alignDown(nowMs - settings.settle * 1000, period);
  const start = highWaterMark ?? alignDown(ready - settings.initialLookback * 1000, period);
  const from = writableFrom === undefined ? start : Math.max(start, writableFrom);
  const end = Math.min(ready, from + alignDown(settings.maxCycleSpan * 1000, period));
  if (end <= start) return undefined;
  const readStart = highWaterMark === undefined ? start : start - settings.revisionWindow * 1000;
  return { start, end, readStart };
}
