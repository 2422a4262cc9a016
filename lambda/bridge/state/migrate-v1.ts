import { CorruptStateError } from './corrupt-state-error';
import { pointHash, seriesKeyOf } from './series-state';
import { SeriesTable } from './series-table';

/** What 0.1's state carries over: the rest of a state starts empty. */
export interface MigratedState {
  readonly highWaterMark?: number;
  readonly revisionBase?: number;
  readonly series: SeriesTable;
  readonly selfCounters: Record<string, number>;
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
export function migrateJsonState(buffer: Buffer, location: string): MigratedState {
  let document: { generation?: number; document?: unknown; committed?: unknown };
  try {
    document = JSON.parse(buffer.toString('utf8')) as typeof document;
  } catch (error) {
    throw new CorruptStateError(location, `not valid JSON: ${(error as Error).message}`, { cause: error });
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
