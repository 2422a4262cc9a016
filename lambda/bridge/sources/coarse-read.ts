import type { SeriesTable } from '../state/series-table';
import type { PlannedQuery } from '../cloudwatch/plan';
import type { SourceSeries } from './source';

/** How far back CloudWatch answers a Period that is a multiple of 60 s (MetricStat Period; StartTime rounding). */
const MINUTE_PERIODS_MS = 15 * 86_400_000;

/** Where a read may take its too-old span at one coarse period (`CursorSettings.skipTo`), and the series states it checks. */
export interface SkipOptions {
  /** Epoch ms: the end of the coarse span; the read goes on per period from here. */
  readonly to: number;
  /** The previous state's series (the cursors' `previous`). */
  readonly table: SeriesTable;
}

/**
 * The coarse span `[start, skip.to)` of one read, or undefined when this read must read every period one by one:
 * its read does not start at the base its windows refer to (a woken idle variant, a held base, periods a partial
 * answer left unread), or the span reaches back past 15 days (CloudWatch then answers only Periods in multiples of
 * 300 s or 3600 s from rounded start times), or one of its series was forwarded past the span, or has a window that
 * is no baseline (no previous sum to compare the span's Sum with) or held.
 */
export function coarseSpan(start: number, readStart: number | undefined, skip: SkipOptions | undefined, series: readonly SourceSeries[], startedAt: number): { start: number; end: number } | undefined {
  if (!skip || readStart === undefined || start !== readStart || start >= skip.to) return undefined;
  if (start < startedAt - MINUTE_PERIODS_MS || (skip.to - start) % 60_000 !== 0) return undefined;
  for (const { key } of series) {
    const state = skip.table.get(key);
    if (state && (!state.baseline || state.held === true || state.frontier >= skip.to)) return undefined;
  }
  return { start, end: skip.to };
}

/**
 * The positions in a chunk of its counter queries (Sum, SampleCount, histogram buckets): what a coarse span reads.
 * Undefined when a query feeds a counter and a gauge at once (the span would be missing for one of them).
 */
export function counterPositions(chunk: readonly PlannedQuery[]): number[] | undefined {
  const out: number[] = [];
  for (let position = 0; position < chunk.length; position++) {
    const query = chunk[position] as PlannedQuery;
    const counters = [query, ...query.also].filter((planned) => planned.template.kind === 'counter').length;
    if (counters === query.also.length + 1) out.push(position);
    else if (counters > 0) return undefined;
  }
  return out;
}
