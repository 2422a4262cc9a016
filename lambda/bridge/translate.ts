import type { BridgeState, SeriesState } from './state/state';
import { buildLabels, seriesKey, type Sample, type TimeSeries } from './series';
import type { CycleWindow } from './windows';

/** What GetMetricData returned for one query, with the Prometheus identity it maps to. */
export interface QueryResult {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly kind: 'counter' | 'gauge';
  readonly quantile: boolean;
  readonly scale: number;
  /** [epoch ms, raw CloudWatch value], any order. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface TranslateStats {
  /** Revisions CloudWatch made to periods already forwarded, by kind (`counter` ones are carried into the counter). */
  revisions: { counter: number; gauge: number; quantile: number; late: number };
  /** Datapoints that were NaN or infinite. */
  nonFinite: number;
}

export interface TranslateOutput {
  readonly series: TimeSeries[];
  readonly state: BridgeState;
  readonly stats: TranslateStats;
}

export interface TranslateSettings {
  readonly periodMs: number;
  readonly revisionWindowMs: number;
  /** Series with no data for this long are forgotten. */
  readonly retentionMs: number;
}

/**
 * Turns CloudWatch results into samples for the window's new periods, and the state after them.
 *
 * Counters are cumulative: each period's Sum is added to the running total, which is written at the
 * period's start. A new series starts with a 0 sample one period before its first data, so `increase()`
 * over any range that holds both equals CloudWatch's Sum. A revision to a period already forwarded (read
 * again inside the revision window) is added to the next sample, so the total stays exact; a revision
 * downward waits until the counter has grown past it, since a counter that drops reads as a reset.
 * Gauges and quantiles cannot be rewritten: their revisions are only counted.
 */
export function translate(results: readonly QueryResult[], window: CycleWindow, previous: BridgeState, settings: TranslateSettings): TranslateOutput {
  const stats: TranslateStats = { revisions: { counter: 0, gauge: 0, quantile: 0, late: 0 }, nonFinite: 0 };
  const nextSeries: Record<string, SeriesState> = {};
  const out: TimeSeries[] = [];
  const keepForwardedFrom = window.end - settings.revisionWindowMs;
  const lastPeriod = window.end - settings.periodMs;

  for (const result of results) {
    const labels = buildLabels(result.name, result.labels);
    const key = seriesKey(labels);
    const before = previous.series[key];
    const state: SeriesState = { ...before, f: { ...before?.f }, s: before?.s ?? 0 };
    const fresh: Array<readonly [number, number]> = [];
    let late = 0;

    const points = [...result.points].sort((a, b) => a[0] - b[0]);
    for (const [timestamp, raw] of points) {
      if (!Number.isFinite(raw)) {
        stats.nonFinite += 1;
        continue;
      }
      const value = raw * result.scale;
      if (timestamp >= window.start && timestamp < window.end) {
        fresh.push([timestamp, value]);
        continue;
      }
      if (timestamp < window.start && timestamp >= window.readStart) {
        const slot = String(timestamp / 1000);
        const forwarded = state.f[slot];
        if (forwarded === value) continue;
        if (result.kind === 'counter') {
          late += value - (forwarded ?? 0);
          stats.revisions.counter += 1;
        } else if (forwarded === undefined) {
          stats.revisions.late += 1;
        } else {
          stats.revisions[result.quantile ? 'quantile' : 'gauge'] += 1;
        }
        state.f[slot] = value;
      }
    }

    const samples: Sample[] = [];
    if (result.kind === 'counter') {
      let total = state.t ?? 0;
      let pending = (state.p ?? 0) + late;
      if (state.t === undefined && (fresh.length > 0 || pending > 0)) {
        const first = fresh[0]?.[0] ?? lastPeriod;
        samples.push({ timestamp: first - settings.periodMs, value: 0 });
      }
      for (const [timestamp, value] of fresh) {
        state.f[String(timestamp / 1000)] = value;
        const candidate = total + value + pending;
        if (candidate >= total) {
          total = candidate;
          pending = 0;
        } else {
          pending = candidate - total;
        }
        samples.push({ timestamp, value: total });
      }
      if (fresh.length === 0 && pending > 0) {
        total += pending;
        pending = 0;
        samples.push({ timestamp: lastPeriod, value: total });
      }
      if (samples.length > 0 || state.t !== undefined) state.t = total;
      if (pending !== 0) state.p = pending;
      else delete state.p;
    } else {
      for (const [timestamp, value] of fresh) {
        state.f[String(timestamp / 1000)] = value;
        samples.push({ timestamp, value });
      }
    }

    const newest = fresh[fresh.length - 1]?.[0];
    if (newest !== undefined) state.s = Math.max(state.s, newest);
    for (const slot of Object.keys(state.f)) {
      if (Number(slot) * 1000 < keepForwardedFrom) delete state.f[slot];
    }
    nextSeries[key] = state;
    if (samples.length > 0) out.push({ labels, samples, kind: result.kind });
  }

  // Series CloudWatch no longer lists keep their totals for a while, so a brief absence is not a counter reset.
  for (const [key, state] of Object.entries(previous.series)) {
    if (nextSeries[key] !== undefined || state.s < window.end - settings.retentionMs) continue;
    const f: Record<string, number> = {};
    for (const [slot, value] of Object.entries(state.f)) if (Number(slot) * 1000 >= keepForwardedFrom) f[slot] = value;
    nextSeries[key] = { ...state, f };
  }

  return {
    series: out,
    state: { ...previous, highWaterMark: window.end, series: nextSeries },
    stats,
  };
}
