import { discoverMetrics, type DiscoveredMetric } from '../cloudwatch/discovery';
import { fetchChunk, type ChunkOutcome, type ReadSpan as FetchSpan } from '../cloudwatch/fetch';
import { heldRef, type ClassSettings } from '../cloudwatch/freshness';
import { nextIdle, SENTINEL, type TrafficWatch } from '../cloudwatch/idle';
import { QueryPlan, type PlannedQuery } from '../cloudwatch/plan';
import { RateLimiter } from '../concurrency';
import { isEnded, type EndedResources } from '../sagemaker/ended';
import { metricInShard } from '../shard';
import type { BridgeState } from '../state/state';
import type { SourceContext } from './context';
import { coarseSpan, counterPositions, packCoarse, shareAlone, type CoarseFetch, type CoarseQueries, type CoarseShare, type SkipOptions } from './coarse-read';
import { splitReads, type SplitReads } from './read-split';
import type { CursorSettings } from '../translate';
import type { MetricSource, PagePoints, PlanInput, ReadOutcome, ReadSpan, SeriesFamily, SourcePlan, SourceRead, SourceSeries } from './source';

/** How long CloudWatch keeps datapoints of periods under a minute (GetMetricData, MetricStat Period). */
const HIGH_RESOLUTION_RETENTION_MS = 3 * 3600 * 1000;

/**
 * CloudWatch's classic metrics: ListMetrics per configured namespace (cached), one query per metric, dimensions
 * and statistic the catalog asks for, read with GetMetricData, 500 queries a call, at most `getMetricDataTps`.
 */
export class GetMetricDataSource implements MetricSource {
  readonly name = 'cloudwatch';
  private metrics: readonly DiscoveredMetric[] = [];

  constructor(private readonly context: SourceContext) {}

  async discover(): Promise<void> {
    const { config, deps, calls, startedAt } = this.context;
    const listed = await discoverMetrics(deps.cloudwatch, config.namespaces, deps.discoveryCache, startedAt, config.discoveryInterval * 1000, calls);
    this.metrics = listed.filter((metric) => metricInShard(metric, config.shard));
  }

  plan(input: PlanInput): SourcePlan {
    const { config, catalog, deps } = this.context;
    // CloudWatch keeps high-resolution datapoints 3 hours and answers a read that starts earlier with none: such a
    // cycle (a catch-up after a long outage) reads those metrics at the cycle's period.
    const highResolution = config.highResolution && input.readStart >= input.startedAt - HIGH_RESOLUTION_RETENTION_MS;
    if (config.highResolution && !highResolution) {
      deps.logger.info('this cycle reads high-resolution metrics at the configured period: CloudWatch keeps their datapoints 3 hours', {
        readFrom: new Date(input.readStart).toISOString(),
        period: config.period,
      });
    }
    // The table marks what is planned: a Set of every planned key would cost a large fleet ~20 MB of heap.
    const plan = new QueryPlan(this.metrics, catalog, deps.baseLabels, config.maxLabelValueLength, { period: config.period, highResolution, familiesTogether: input.dryRun }, input.previous.series);
    // Once per name in the catalog's life (a warm Lambda, a CLI process): enough for a user to report it, never a flood.
    for (const [namespace, names] of catalog.takeUnlisted()) {
      deps.logger.info('CloudWatch metrics that match no catalog entry: forwarded under generic names (report them, or add catalog entries)', { namespace, metrics: names });
    }
    return new GetMetricDataPlan(plan, this.metrics, input, this.context, input.previous.sagemaker?.ended ?? {});
  }
}

class GetMetricDataPlan implements SourcePlan {
  private readonly limiter: RateLimiter;
  /** After `prepare`: the classes due, the idle variants; until then every metric is read in full at the cycle's settings. */
  private split?: SplitReads;
  private end = Infinity;
  /** Epoch ms: where the cycle's reads start (the span `prepare` was given). */
  private fetchStart?: number;
  /** Epoch ms: `CursorSettings.skipTo`, once `prepare` knows it. */
  private skipTo?: number;
  /** The series of queries cut short (PartialData, no NextToken), by the base they would be held at. */
  private readonly cut = new Map<number, string[]>();

  constructor(
    private readonly plan: QueryPlan,
    private readonly metrics: readonly DiscoveredMetric[],
    private readonly input: PlanInput,
    private readonly context: SourceContext,
    private readonly ended: EndedResources,
  ) {
    this.limiter = new RateLimiter(context.config.getMetricDataTps);
  }

  get discovered(): number {
    return this.metrics.length;
  }

  /** Before `prepare`, every query; after, what the cycle requests: the classes due, the busy and woken variants, the sentinels. */
  get queries(): number {
    return this.split ? this.split.queries : this.plan.size;
  }

  get samplesPerPeriod(): number {
    return this.plan.samplesPerPeriod;
  }

  families(): Iterable<SeriesFamily> {
    return this.plan.families();
  }

  async prepare(span: ReadSpan, settings: CursorSettings): Promise<void> {
    this.end = span.end;
    this.fetchStart = span.start;
    this.skipTo = settings.skipTo;
    const { metrics, plan, limiter } = this;
    this.split = await splitReads({ metrics, plan, previous: this.input.previous, ended: (dimensions) => isEnded(this.ended, dimensions), limiter }, span, settings, this.context);
  }

  *reads(): Iterable<SourceRead> {
    const split = this.split;
    if (!split) {
      for (const chunk of this.plan.chunks()) yield new GetMetricDataRead(chunk, this.context, this.limiter, this.ended);
      return;
    }
    // A dry run's exposition needs the reads in family order, one at a time: each read makes its own coarse call.
    if (this.input.dryRun || this.fetchStart === undefined) {
      yield* this.splitReads(split);
      return;
    }
    const { deps, calls } = this.context;
    const fetch: CoarseFetch = (queries, span, onPage) => fetchChunk(deps.cloudwatch, queries, span, this.limiter, calls, deps.logger, onPage);
    yield* packCoarse(this.splitReads(split), { start: this.fetchStart, end: this.end }, fetch);
  }

  private *splitReads(split: SplitReads): Generator<GetMetricDataRead> {
    for (const { plan, settings, from } of split.plans) {
      const ref = heldRef(settings);
      const onCut = (keys: readonly string[]) => {
        const list = this.cut.get(ref) ?? [];
        for (const key of keys) list.push(key);
        this.cut.set(ref, list);
      };
      const skipTo = this.skipTo;
      // Only where the windows refer to where the read starts and the next base's window is read per period.
      const skip = skipTo !== undefined && settings.heldBase === undefined && settings.nextBase >= skipTo ? { to: skipTo, table: this.input.previous.series } : undefined;
      for (const chunk of plan.chunks()) yield new GetMetricDataRead(chunk, this.context, this.limiter, this.ended, { watch: split.watch, settings, from, onCut, skip });
    }
  }

  afterReads(): void {
    const collisions = this.split ? this.split.collisions : this.plan.collisions;
    for (const collision of collisions) this.context.deps.logger.warn('two CloudWatch metrics map to the same Prometheus series; the second is skipped', { metric: collision });
  }

  commit(state: BridgeState): void {
    const split = this.split;
    if (!split) return;
    // A class read apart keeps its held base while some series cut short is held there.
    const held = new Set<number>();
    for (const [ref, keys] of this.cut) if (keys.some((key) => state.series.get(key)?.held === true)) held.add(ref);
    state.classes = split.schedule.committed(held);
    if (!split.traffic || !split.watch) return;
    // Everything before the end of the least recent class read was read in full.
    state.idle = nextIdle(split.traffic, split.watch, split.skipped, Math.min(this.end, split.schedule.readUpTo));
    // A woken variant's read began before the cycle's own, so the partial answer's unread periods may too.
    const watch = split.watch;
    const cut = [...split.wokenKeys].some((key) => watch.unsure.has(key));
    if (cut && split.wokenFrom < (state.revisionBase ?? Infinity)) state.rereadFrom = Math.min(state.rereadFrom ?? Infinity, split.wokenFrom);
  }
}

export interface ReadOptions {
  /** Notes which variants' invocations had datapoints, and which variants' answers were cut. */
  readonly watch?: TrafficWatch;
  /** The read's class's revision base and next base, when not the cycle's. */
  readonly settings?: ClassSettings;
  /** Epoch ms: GetMetricData StartTime when before the cycle's (a class's own base, a woken variant's first period not read in full). */
  readonly from?: number;
  /** Told the series keys of the queries whose answer was cut short (PartialData, no NextToken). */
  readonly onCut?: (keys: readonly string[]) => void;
  /** The read may take its counters' too-old span at one coarse period (`coarseSpan` decides). */
  readonly skip?: SkipOptions;
}

/** One GetMetricData call's worth of queries (one period), with its NextToken pages. */
export class GetMetricDataRead implements SourceRead {
  readonly periodMs: number;
  readonly series: readonly SourceSeries[];
  readonly settings?: ClassSettings;
  private readonly outputsOf: number[][] = [];
  private readonly watch?: TrafficWatch;
  private readonly from: number;
  private readonly onCut?: (keys: readonly string[]) => void;
  private readonly skip?: SkipOptions;
  coarseTo?: number;
  /** Its coarse span's queries' part in calls shared with other reads of its plan, when packed. */
  share?: CoarseShare;

  constructor(
    private readonly chunk: readonly PlannedQuery[],
    private readonly context: SourceContext,
    private readonly limiter: RateLimiter,
    ended: EndedResources,
    options: ReadOptions = {},
  ) {
    this.watch = options.watch;
    this.settings = options.settings;
    this.from = options.from ?? Infinity;
    this.onCut = options.onCut;
    this.skip = options.skip;
    this.periodMs = (chunk[0]?.periodSeconds ?? context.config.period) * 1000;
    const series: SourceSeries[] = [];
    // Each query's own series, then the series its datapoints also feed (a histogram's +Inf bucket is its _count).
    for (const query of chunk) {
      const gone = isEnded(ended, query.metric.dimensions);
      const outputs: number[] = [];
      for (const planned of [query, ...query.also]) {
        outputs.push(series.length);
        const { template } = planned;
        series.push({ labels: planned.labels, key: planned.key, kind: template.kind, quantile: template.constLabels.quantile !== undefined, scale: template.scale, ended: gone });
      }
      this.outputsOf.push(outputs);
    }
    this.series = series;
  }

  get streams(): number {
    return this.chunk.length;
  }

  outputs(stream: number): readonly number[] {
    return this.outputsOf[stream] ?? [];
  }

  async read(span: ReadSpan, onPage: (page: readonly PagePoints[]) => Promise<void>): Promise<ReadOutcome> {
    const coarse = await this.readCoarse(span);
    if (coarse) {
      this.coarseTo = coarse.to;
      await onPage(coarse.page);
    }
    const outcome = await this.fetch(span, onPage, coarse?.to);
    if (this.onCut && outcome.incomplete.size > 0) this.onCut([...outcome.incomplete].flatMap((stream) => this.outputs(stream).map((output) => (this.series[output] as SourceSeries).key)));
    return outcome;
  }

  /** Its coarse span and the counter queries read over it, or undefined: this read reads every period (see `coarseSpan`). */
  coarseQueries(span: ReadSpan): CoarseQueries | undefined {
    const window = coarseSpan(Math.min(span.start, this.from), this.settings?.readStart, this.skip, this.series, this.context.startedAt);
    const positions = window && counterPositions(this.chunk);
    if (!window || !positions) return undefined;
    return { window, positions, queries: positions.map((position) => this.chunk[position] as PlannedQuery), note: (query, points) => this.note(query, points) };
  }

  /**
   * The counters' too-old span at one coarse period (one datapoint a query, held until the answer is known whole), or
   * undefined: this read reads every period (see `coarseSpan`), or the coarse answer was cut short (PartialData).
   * Taken from the calls it shares with other reads when packed (`packCoarse` has worked out its span already), else
   * from its own call.
   */
  private async readCoarse(span: ReadSpan): Promise<{ to: number; page: PagePoints[] } | undefined> {
    const coarse = this.share ? undefined : this.coarseQueries(span);
    const share = this.share ?? (coarse && shareAlone(coarse, (queries, fetchSpan, onPage) => this.fetchChunk(queries, fetchSpan, onPage)));
    if (!share) return undefined;
    const { start, end } = share.window;
    const answer = await share.answer();
    if (answer.complete) return { to: end, page: answer.page };
    this.context.deps.logger.info('a coarse read of periods too old to write was cut short (PartialData): this read reads them per period', { from: new Date(start).toISOString(), to: new Date(end).toISOString() });
    return undefined;
  }

  private async fetch(span: ReadSpan, onPage: (page: readonly PagePoints[]) => Promise<void>, from?: number): Promise<ReadOutcome> {
    const fetchSpan = { start: from ?? Math.min(span.start, this.from), end: span.end, periodSeconds: this.periodMs / 1000 };
    const outcome = await this.fetchQueries(this.chunk, fetchSpan, onPage);
    const watch = this.watch;
    if (watch) {
      for (const stream of outcome.incomplete) {
        const query = this.chunk[stream];
        const key = query && watch.split.keyOf(query.metric);
        if (key !== undefined) watch.unsure.add(key);
      }
    }
    return outcome;
  }

  /** One GetMetricData read of `queries` (this chunk's, or some of them), noting which idle-watched variants had traffic. */
  private async fetchQueries(queries: readonly PlannedQuery[], fetchSpan: FetchSpan, onPage: (page: readonly PagePoints[]) => Promise<void>): Promise<ReadOutcome> {
    if (!this.watch) return this.fetchChunk(queries, fetchSpan, onPage);
    return this.fetchChunk(queries, fetchSpan, (page) => {
      for (const points of page) this.note(queries[points.index] as PlannedQuery, points);
      return onPage(page);
    });
  }

  /** One GetMetricData read of `queries` through this plan's client, limiter and counters. */
  private fetchChunk(queries: readonly PlannedQuery[], fetchSpan: FetchSpan, onPage: (page: readonly PagePoints[]) => Promise<void> | void): Promise<ChunkOutcome> {
    const { deps, calls } = this.context;
    return fetchChunk(deps.cloudwatch, queries, fetchSpan, this.limiter, calls, deps.logger, onPage);
  }

  /** An idle-watched variant whose sentinel had a datapoint had traffic. */
  private note(query: PlannedQuery, points: PagePoints): void {
    const watch = this.watch;
    if (!watch || points.timestamps.length === 0 || query.metric.metricName !== SENTINEL.metricName) return;
    const key = watch.split.keyOf(query.metric);
    if (key !== undefined) watch.seen.add(key);
  }
}
