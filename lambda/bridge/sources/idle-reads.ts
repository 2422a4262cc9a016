import type { DiscoveredMetric } from '../cloudwatch/discovery';
import { fetchChunk, type FetchQuery } from '../cloudwatch/fetch';
import { SENTINEL, TrafficWatch, type TrafficSplit } from '../cloudwatch/idle';
import { MAX_QUERIES_PER_CALL, type QueryPlan } from '../cloudwatch/plan';
import { forEachConcurrently, type RateLimiter } from '../concurrency';
import type { SeriesTable } from '../state/series-table';
import type { SourceContext } from './context';
import type { ReadSpan } from './source';

/** A cycle's GetMetricData reads once the idle variants' sentinels are in. */
export interface IdleReads {
  readonly traffic: TrafficSplit;
  readonly watch: TrafficWatch;
  /** Every metric but the idle variants': read over the cycle's span. */
  readonly busy: QueryPlan;
  /** The metrics of idle variants whose sentinel showed traffic: read from `wokenFrom`. */
  readonly woken: QueryPlan;
  readonly wokenKeys: ReadonlySet<string>;
  /** Epoch ms: the earliest first period not read in full of a woken variant (Infinity when none woke). */
  readonly wokenFrom: number;
  /** Idle variants that stay idle, with their first period not read in full. */
  readonly skipped: ReadonlyMap<string, number>;
  readonly skippedCollisions: readonly string[];
  readonly span: ReadSpan;
  /** Queries the cycle requests: the busy and woken plans' and one sentinel per idle variant. */
  readonly queries: number;
}

/**
 * Reads the sentinel of every variant the state marks idle (its invocations' SampleCount over the cycle's span, 500
 * a call), and splits the plan: variants with traffic are read in full, from their first period not read in full;
 * the rest stay idle. A sentinel answer cut short or refused counts as traffic: a full read costs more, never misses.
 */
export async function readIdle(
  traffic: TrafficSplit,
  idle: Readonly<Record<string, number>>,
  span: ReadSpan,
  context: SourceContext,
  limiter: RateLimiter,
  plan: QueryPlan,
  table: SeriesTable,
): Promise<IdleReads> {
  const sentinels: Array<FetchQuery & { key: string }> = [];
  for (const [key, group] of traffic.groups) {
    if (idle[key] !== undefined && group.sentinel) sentinels.push({ key, metric: group.sentinel, template: { stat: SENTINEL.stat } });
  }
  const woken = await readSentinels(sentinels, span, context, limiter);
  const skipped = new Map<string, number>();
  const busyMetrics: DiscoveredMetric[] = [...traffic.always];
  const wokenMetrics: DiscoveredMetric[] = [];
  const skippedMetrics: DiscoveredMetric[] = [];
  let wokenFrom = Infinity;
  for (const [key, group] of traffic.groups) {
    const from = idle[key];
    if (from === undefined) busyMetrics.push(...group.metrics);
    else if (woken.has(key)) {
      wokenMetrics.push(...group.metrics);
      wokenFrom = Math.min(wokenFrom, from);
    } else {
      skippedMetrics.push(...group.metrics);
      skipped.set(key, from);
    }
  }
  const skippedPlan = plan.subset(skippedMetrics);
  keepUnread(skippedPlan, table, span.start);
  const busy = plan.subset(busyMetrics);
  const wokenPlan = plan.subset(wokenMetrics);
  if (sentinels.length > 0) {
    context.deps.logger.debug('idle variants read through their sentinel', { idle: sentinels.length, woken: woken.size, stayIdle: skipped.size });
  }
  return {
    traffic,
    watch: new TrafficWatch(traffic),
    busy,
    woken: wokenPlan,
    wokenKeys: woken,
    wokenFrom,
    skipped,
    skippedCollisions: skippedPlan.collisions,
    span,
    queries: busy.size + wokenPlan.size + sentinels.length,
  };
}

/** The keys of the variants whose sentinel returned a datapoint, was cut short, or was refused. */
async function readSentinels(sentinels: ReadonlyArray<FetchQuery & { key: string }>, span: ReadSpan, context: SourceContext, limiter: RateLimiter): Promise<Set<string>> {
  const { config, deps, calls } = context;
  const woken = new Set<string>();
  const chunks: Array<ReadonlyArray<FetchQuery & { key: string }>> = [];
  for (let from = 0; from < sentinels.length; from += MAX_QUERIES_PER_CALL) chunks.push(sentinels.slice(from, from + MAX_QUERIES_PER_CALL));
  await forEachConcurrently(chunks, config.concurrency, async (chunk) => {
    const outcome = await fetchChunk(deps.cloudwatch, chunk, { ...span, periodSeconds: config.period }, limiter, calls, deps.logger, (page) => {
      for (const points of page) if (points.timestamps.length > 0) woken.add((chunk[points.index] as { key: string }).key);
    });
    for (const index of outcome.incomplete) woken.add((chunk[index] as { key: string }).key);
    if (outcome.forbidden > 0) for (const query of chunk) woken.add(query.key);
  });
  return woken;
}

/**
 * The series of variants that stay idle are planned but not read: marked planned, they are kept as they are (not
 * dropped after a day unread, no counter reset), and their revision aggregates are empty. They are, since nothing was
 * forwarded after the frontier, and the frontier lies before the idle variant's last full read; should a series have
 * been written inside the span after all, it has no baseline until its next read.
 */
function keepUnread(plan: QueryPlan, table: SeriesTable, spanStart: number): void {
  for (const chunk of plan.chunks()) {
    for (const query of chunk) {
      for (const { key } of [query, ...query.also]) {
        const state = table.get(key);
        if (state) table.set(key, { ...state, window: 0, count: 0, moment: 0, baseline: state.frontier < spanStart });
      }
    }
  }
}
