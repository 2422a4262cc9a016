import type { MetricSource, PagePoints, PlanInput, ReadOutcome, ReadSpan, Snapshot, SnapshotTimes, SourcePlan, SourceRead, SourceSeries } from '../../../../lambda/bridge/sources';
import { buildLabels, seriesKey, type TimeSeries } from '../../../../lambda/bridge/series';
import { seriesKeyOf } from '../../../../lambda/bridge/state/series-state';
import type { BridgeState } from '../../../../lambda/bridge/state/state';

/** A series of the fake source: its datapoints come as `[epoch ms, value]`, one page per `pageSize`. */
export interface FakeSeries {
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly labels?: Record<string, string>;
  readonly ended?: boolean;
  /** Every datapoint the source holds; a read returns those inside its span. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export function sourceSeries(s: FakeSeries): SourceSeries {
  const labels = buildLabels(s.name, s.labels ?? {});
  return { labels, key: seriesKeyOf(seriesKey(labels)), kind: s.kind, quantile: false, scale: 1, ended: s.ended ?? false };
}

/**
 * A source as the next issue's PromQL source would look to the cycle: its own discovery, epoch-ms timestamps,
 * one stream per series, pages of `pageSize` datapoints, counters as per-period deltas. Records what it was asked.
 */
export class FakeSource implements MetricSource {
  readonly name = 'fake';
  readonly events: string[] = [];
  discovered = false;
  planned: PlanInput | undefined;
  readonly spans: ReadSpan[] = [];

  constructor(
    private readonly series: readonly FakeSeries[],
    private readonly options: { pageSize?: number; periodMs?: number; snapshot?: Snapshot; incomplete?: number[]; forbidden?: number; queries?: number } = {},
  ) {}

  async discover(): Promise<void> {
    this.discovered = true;
    this.events.push('discover');
  }

  plan(input: PlanInput): SourcePlan {
    this.planned = input;
    const { series, options, events, spans } = this;
    const periodMs = options.periodMs ?? 60_000;
    const read: SourceRead = {
      periodMs,
      series: series.map(sourceSeries),
      streams: series.length,
      outputs: (stream) => [stream],
      async read(span: ReadSpan, onPage: (page: readonly PagePoints[]) => Promise<void>): Promise<ReadOutcome> {
        spans.push(span);
        const inSpan = series.map((s) => s.points.filter(([t]) => t >= span.start && t < span.end));
        const pageSize = options.pageSize ?? Infinity;
        const longest = Math.max(0, ...inSpan.map((p) => p.length));
        for (let from = 0; from < longest; from += pageSize) {
          events.push(`page ${from / Math.min(pageSize, longest)}`);
          const page = inSpan
            .map((points, index) => ({ index, slice: points.slice(from, from + pageSize) }))
            .filter(({ slice }) => slice.length > 0)
            .map(({ index, slice }) => ({ index, timestamps: slice.map(([t]) => t), values: slice.map(([, v]) => v) }));
          await onPage(page);
        }
        return { forbidden: options.forbidden ?? 0, incomplete: new Set(options.incomplete ?? []) };
      },
    };
    return {
      discovered: series.length,
      queries: options.queries ?? series.length,
      samplesPerPeriod: series.length,
      families: () => series.map((s) => ({ name: s.name, counter: s.kind === 'counter' })),
      reads: () => [read],
      begin: () => void events.push('begin'),
      afterReads: () => void events.push('afterReads'),
      snapshot: async (times: SnapshotTimes) => {
        events.push(`snapshot ${times.at} ${times.endedAt}`);
        return options.snapshot ?? { current: [], ended: [] };
      },
      commit: (state: BridgeState) => void events.push(`commit ${state.highWaterMark}`),
    };
  }
}

/** A one-sample gauge, as a snapshot series. */
export function gaugeAt(name: string, timestamp: number, value: number): TimeSeries {
  return { labels: buildLabels(name, {}), samples: [{ timestamp, value }], kind: 'gauge' };
}
