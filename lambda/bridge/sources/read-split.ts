import type { Dimension } from '@aws-sdk/client-cloudwatch';
import type { Catalog } from '../catalog/catalog';
import type { DiscoveredMetric } from '../cloudwatch/discovery';
import { fetchChunk, type FetchQuery } from '../cloudwatch/fetch';
import { metricClass, METRIC_CLASSES, ReadSchedule, type ClassReadSettings, type MetricClass } from '../cloudwatch/freshness';
import { SENTINEL, TrafficSplit, TrafficWatch } from '../cloudwatch/idle';
import { MAX_QUERIES_PER_CALL, type QueryPlan } from '../cloudwatch/plan';
import { forEachConcurrently, type RateLimiter } from '../concurrency';
import type { SeriesTable } from '../state/series-table';
import type { BridgeState } from '../state/state';
import type { CursorSettings } from '../translate';
import type { SourceContext } from './context';
import type { ReadSpan } from './source';

/** One plan of queries read alike: one class, from one start. */
export interface PlannedReads {
  readonly plan: QueryPlan;
  readonly settings: ClassReadSettings;
  /** Epoch ms: GetMetricData StartTime (a woken variant's first period not read in full, or its class's start). */
  readonly from: number;
}

/** A cycle's GetMetricData reads once the classes due and the idle variants' sentinels are known. */
export interface SplitReads {
  readonly schedule: ReadSchedule;
  readonly plans: readonly PlannedReads[];
  /** Idle variants (config `idleVariants: sentinel`); undefined when every variant is read in full. */
  readonly traffic?: TrafficSplit;
  readonly watch?: TrafficWatch;
  readonly wokenKeys: ReadonlySet<string>;
  /** Epoch ms: the earliest first period not read in full of a woken variant (Infinity when none woke). */
  readonly wokenFrom: number;
  /** Idle variants that stay idle, with their first period not read in full. */
  readonly skipped: ReadonlyMap<string, number>;
  readonly collisions: readonly string[];
  /** Queries the cycle requests: every plan's and one sentinel per idle variant. */
  readonly queries: number;
}

export interface SplitInput {
  readonly metrics: readonly DiscoveredMetric[];
  readonly plan: QueryPlan;
  readonly previous: BridgeState;
  /** Whether a metric's endpoint or variant has ended (SageMaker metadata), from its dimensions. */
  readonly ended: (dimensions: readonly Dimension[]) => boolean;
  readonly limiter: RateLimiter;
}

/**
 * Splits a cycle's metrics into what is read, from where, and what waits. Each class of metric (config
 * `readIntervals`) is read when due, from its own revision base; a class not due is planned but not read (its
 * series wait untouched). Idle variants (`idleVariants: sentinel`) are read through their sentinel; those that show
 * traffic are read in full in every class, from their first period not read in full; the rest stay idle.
 */
export async function splitReads(input: SplitInput, span: ReadSpan, cycle: CursorSettings, context: SourceContext): Promise<SplitReads> {
  const { config } = context;
  const schedule = new ReadSchedule(config, input.previous, { readStart: cycle.readStart, fetchStart: cycle.fetchStart ?? cycle.readStart, nextBase: cycle.nextBase, heldBase: cycle.heldBase, end: span.end, startedAt: context.startedAt });
  const idle = config.idleVariants === 'sentinel' ? input.previous.idle ?? {} : {};
  const traffic = config.idleVariants === 'sentinel' ? new TrafficSplit(input.metrics, input.ended) : undefined;
  const sentinels: Array<FetchQuery & { key: string }> = [];
  for (const [key, group] of traffic?.groups ?? []) {
    if (idle[key] !== undefined && group.sentinel) sentinels.push({ key, metric: group.sentinel, template: { stat: SENTINEL.stat } });
  }
  // Over every period some class still re-reads: a class read apart keeps an older base, and a period with traffic
  // there may yet get its late latency datapoints, which only a woken variant's read takes in.
  const woken = await readSentinels(sentinels, { ...span, start: Math.min(span.start, schedule.earliestFetch) }, context, input.limiter);
  const { busy, wokenMetrics, skippedMetrics, skipped, wokenFrom } = partition(input.metrics, traffic, idle, woken);
  const collisions: string[] = [];
  const skippedPlan = input.plan.subset(skippedMetrics);
  keepUnread(skippedPlan, input.previous.series, Math.min(schedule.earliestFetch, cycle.fetchStart ?? cycle.readStart));
  collisions.push(...skippedPlan.collisions);
  const byClass = classify(context.catalog, busy, wokenMetrics);
  // Reads alike (same settings and start) share their calls: one call per 500 queries and start, the minimum.
  const alike = new Map<string, { settings: ClassReadSettings; from: number; metrics: DiscoveredMetric[] }>();
  const add = (settings: ClassReadSettings, from: number, metrics: readonly DiscoveredMetric[]) => {
    if (metrics.length === 0) return;
    const id = `${settings.readStart}|${settings.fetchStart}|${settings.nextBase}|${settings.heldBase}|${from}`;
    const entry = alike.get(id) ?? { settings, from, metrics: [] };
    entry.metrics.push(...metrics);
    alike.set(id, entry);
  };
  for (const c of METRIC_CLASSES) {
    const { due, settings } = schedule.of(c);
    const own = byClass.get(c);
    if (due) add(settings, settings.fetchStart, own?.busy ?? []);
    else {
      // A series whose resource ended gets its stale marker from a read: read it now, its class's base kept.
      const ended = (own?.busy ?? []).filter((metric) => input.ended(metric.dimensions));
      add(settings, settings.fetchStart, ended);
      const waiting = input.plan.subset((own?.busy ?? []).filter((metric) => !input.ended(metric.dimensions)));
      waitUnread(waiting);
      collisions.push(...waiting.collisions);
    }
    // A woken variant is read in every class, due or not: a class not due keeps its base (nextBase = readStart).
    add(settings, Math.min(settings.fetchStart, wokenFrom), own?.woken ?? []);
  }
  const plans: PlannedReads[] = [...alike.values()].map(({ settings, from, metrics }) => ({ plan: input.plan.subset(metrics), settings, from }));
  if (sentinels.length > 0) context.deps.logger.debug('idle variants read through their sentinel', { idle: sentinels.length, woken: woken.size, stayIdle: skipped.size });
  return {
    schedule,
    plans,
    traffic,
    watch: traffic ? new TrafficWatch(traffic) : undefined,
    wokenKeys: woken,
    wokenFrom,
    skipped,
    get collisions() {
      return [...collisions, ...plans.flatMap((p) => p.plan.collisions)];
    },
    queries: plans.reduce((n, p) => n + p.plan.size, 0) + sentinels.length,
  };
}

/** The metrics of busy variants (and those never idle), of woken ones, and of those that stay idle. */
function partition(metrics: readonly DiscoveredMetric[], traffic: TrafficSplit | undefined, idle: Readonly<Record<string, number>>, woken: ReadonlySet<string>) {
  const busy: DiscoveredMetric[] = traffic ? [...traffic.always] : [...metrics];
  const wokenMetrics: DiscoveredMetric[] = [];
  const skippedMetrics: DiscoveredMetric[] = [];
  const skipped = new Map<string, number>();
  let wokenFrom = Infinity;
  for (const [key, group] of traffic?.groups ?? []) {
    const from = idle[key];
    if (from === undefined) busy.push(...group.metrics);
    else if (woken.has(key)) {
      wokenMetrics.push(...group.metrics);
      wokenFrom = Math.min(wokenFrom, from);
    } else {
      skippedMetrics.push(...group.metrics);
      skipped.set(key, from);
    }
  }
  return { busy, wokenMetrics, skippedMetrics, skipped, wokenFrom };
}

function classify(catalog: Catalog, busy: readonly DiscoveredMetric[], woken: readonly DiscoveredMetric[]): Map<MetricClass, { busy: DiscoveredMetric[]; woken: DiscoveredMetric[] }> {
  const classOf = new Map<string, MetricClass>();
  const out = new Map<MetricClass, { busy: DiscoveredMetric[]; woken: DiscoveredMetric[] }>();
  const add = (metric: DiscoveredMetric, which: 'busy' | 'woken') => {
    const id = `${metric.namespace}\u0000${metric.metricName}`;
    let c = classOf.get(id);
    if (c === undefined) {
      c = metricClass(metric.namespace, catalog.resolve(metric.namespace, metric.metricName));
      classOf.set(id, c);
    }
    let lists = out.get(c);
    if (!lists) {
      lists = { busy: [], woken: [] };
      out.set(c, lists);
    }
    lists[which].push(metric);
  };
  for (const metric of busy) add(metric, 'busy');
  for (const metric of woken) add(metric, 'woken');
  return out;
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

/** A class not due: its series are planned (so kept, never taken for gone) and left as they are, their windows on the class's base. */
function waitUnread(plan: QueryPlan): void {
  for (const chunk of plan.chunks()) void chunk;
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
