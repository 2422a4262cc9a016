import { discoverMetrics, type DiscoveredMetric } from '../cloudwatch/discovery';
import { fetchChunk } from '../cloudwatch/fetch';
import { QueryPlan, type PlannedQuery } from '../cloudwatch/plan';
import { RateLimiter } from '../concurrency';
import { isEnded, type EndedResources } from '../sagemaker/ended';
import { metricInShard } from '../shard';
import type { SourceContext } from './context';
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
    const plan = new QueryPlan(this.metrics, catalog, deps.baseLabels, config.maxLabelValueLength, { period: config.period, highResolution }, input.previous.series);
    // Once per name in the catalog's life (a warm Lambda, a CLI process): enough for a user to report it, never a flood.
    for (const [namespace, names] of catalog.takeUnlisted()) {
      deps.logger.info('CloudWatch metrics that match no catalog entry: forwarded under generic names (report them, or add catalog entries)', { namespace, metrics: names });
    }
    return new GetMetricDataPlan(plan, this.metrics.length, this.context, input.previous.sagemaker?.ended ?? {});
  }
}

class GetMetricDataPlan implements SourcePlan {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly plan: QueryPlan,
    readonly discovered: number,
    private readonly context: SourceContext,
    private readonly ended: EndedResources,
  ) {
    this.limiter = new RateLimiter(context.config.getMetricDataTps);
  }

  get queries(): number {
    return this.plan.size;
  }

  get samplesPerPeriod(): number {
    return this.plan.samplesPerPeriod;
  }

  families(): Iterable<SeriesFamily> {
    return this.plan.families();
  }

  *reads(): Iterable<SourceRead> {
    for (const chunk of this.plan.chunks()) yield new GetMetricDataRead(chunk, this.context, this.limiter, this.ended);
  }

  afterReads(): void {
    for (const collision of this.plan.collisions) this.context.deps.logger.warn('two CloudWatch metrics map to the same Prometheus series; the second is skipped', { metric: collision });
  }
}

/** One GetMetricData call's worth of queries (one period), with its NextToken pages. */
export class GetMetricDataRead implements SourceRead {
  readonly periodMs: number;
  readonly series: readonly SourceSeries[];
  private readonly outputsOf: number[][] = [];

  constructor(
    private readonly chunk: readonly PlannedQuery[],
    private readonly context: SourceContext,
    private readonly limiter: RateLimiter,
    ended: EndedResources,
  ) {
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

  read(span: ReadSpan, onPage: (page: readonly PagePoints[]) => Promise<void>): Promise<ReadOutcome> {
    const { deps, calls } = this.context;
    return fetchChunk(deps.cloudwatch, this.chunk, { ...span, periodSeconds: this.periodMs / 1000 }, this.limiter, calls, deps.logger, onPage);
  }
}
