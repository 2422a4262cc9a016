import type { Dimension } from '@aws-sdk/client-cloudwatch';
import type { FamilyInfo } from '../../catalog/catalog';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { RecoverableError } from '../../../../contract/errors';
import { mapConcurrently, RateLimiter } from '../../concurrency';
import { seriesKey } from '../../series';
import { isEnded } from '../../sagemaker/ended';
import { endpointInShard } from '../../shard';
import { seriesKeyOf } from '../../state/series-state';
import type { SeriesTable } from '../../state/series-table';
import type { SourceContext } from '../context';
import type { MetricSource, PagePoints, PlanInput, ReadOutcome, ReadSpan, SeriesFamily, SourcePlan, SourceRead, SourceSeries } from '../source';
import { PromQlClient, PromQlRequestError, type PromQlSeriesLabels, type RangeSeries } from './client';
import { histogramSeries, periodValues } from './histogram';
import { describeFamilies, loadPromQlMapping, prometheusLabels, sourceIdentity, type PromQlMapping, type PromQlMetric } from './mapping';
import { selector, splitByLabels, type Split } from './selector';

/** CloudWatch evaluates a PromQL request over at most 24 hours of data (PromQL limits and restrictions). */
export const SCAN_WINDOW_MS = 24 * 3600 * 1000;
/** GetSeries returns at most 10,000 series (its documented `limit` maximum). */
const GET_SERIES_LIMIT = 10_000;
const ENDPOINT_LABEL = 'aws.sagemaker.endpoint.name';
const RESOURCE_DIMENSIONS: Readonly<Record<string, string>> = {
  [ENDPOINT_LABEL]: 'EndpointName',
  'aws.sagemaker.variant.name': 'VariantName',
  'aws.sagemaker.inference_component.name': 'InferenceComponentName',
};

interface Listing {
  readonly at: number;
  readonly series: ReadonlyMap<string, readonly PromQlSeriesLabels[]>;
}

/** GetSeries answers kept by a warm Lambda or a CLI process, per endpoint, for `promql.discoveryInterval`. */
const listings = new Map<string, Listing>();

/**
 * CloudWatch's PromQL API is served by CloudWatch's own host: the SDK's standard overrides of that host
 * (AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL) apply to it too, unless `promql.endpoint` says otherwise.
 */
export function promQlEndpoint(region: string, configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return configured ?? env.AWS_ENDPOINT_URL_CLOUDWATCH ?? env.AWS_ENDPOINT_URL ?? `https://monitoring.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/**
 * SageMaker AI detailed observability through CloudWatch's PromQL API: GetLabels for the metric names, GetSeries per
 * mapped metric present (cached), then one
 * query_range per group of at most `maxSeriesPerQuery - 1` series (a full answer means more matched: refused, never
 * silently cut), each period's OTel deltas summed (`sum_over_time`) and handed to the cycle as per-period amounts of
 * a counter, gauges as the period's last value.
 */
export class PromQlSource implements MetricSource {
  readonly name = 'promql';
  private readonly mapping: PromQlMapping;
  private readonly client: PromQlClient;
  private readonly endpoint: string;
  private discovered: ReadonlyMap<string, readonly PromQlSeriesLabels[]> = new Map();

  constructor(
    private readonly context: SourceContext,
    mapping?: PromQlMapping,
  ) {
    const { config, deps, calls } = context;
    this.mapping = mapping ?? loadPromQlMapping();
    this.endpoint = promQlEndpoint(config.region, config.promql.endpoint);
    this.client = new PromQlClient({
      endpoint: this.endpoint,
      region: config.region,
      credentials: deps.cloudwatch.config.credentials as AwsCredentialIdentityProvider,
      limiter: new RateLimiter(config.promql.tps),
      maxInFlight: config.promql.concurrency,
      onRequest: (api) => calls.record('cloudwatch', `PromQL:${api}`),
    });
  }

  async discover(): Promise<void> {
    const { config, startedAt, deps } = this.context;
    const cached = listings.get(this.endpoint);
    if (cached && startedAt - cached.at < config.promql.discoveryInterval * 1000) {
      this.discovered = cached.series;
      return;
    }
    // Every series a cycle may read: its window, the revision window behind it and the first run's lookback.
    const lookback = Math.min(SCAN_WINDOW_MS, (config.initialLookback + config.revisionWindow + config.maxCycleSpan + config.settle) * 1000);
    // One GetLabels call says which mapped metrics the account has: GetSeries only for those (none: one call a listing).
    const names = new Set(await this.metricNames(startedAt - lookback, startedAt));
    const present = this.mapping.metrics.filter((metric) => names.has(metric.source));
    const answers = await mapConcurrently(present, config.promql.concurrency, async (metric) => {
      const found = await this.client.series(selector(metric.source, []), startedAt - lookback, startedAt, GET_SERIES_LIMIT);
      if (found.length >= GET_SERIES_LIMIT) {
        deps.logger.warn('GetSeries returned its limit of series for a PromQL metric: the rest are not read', { metric: metric.source, limit: GET_SERIES_LIMIT });
      }
      return [metric.source, found.filter((labels) => endpointInShard(labels[ENDPOINT_LABEL] ?? '', config.shard))] as const;
    });
    this.discovered = new Map(answers);
    listings.set(this.endpoint, { at: startedAt, series: this.discovered });
  }

  /**
   * The metric names the account has, or none when the API refuses or is not there (a region without it, a role
   * without cloudwatch:ListMetrics): the source is then inactive until the next discovery, and the cycle goes on.
   */
  private async metricNames(start: number, end: number): Promise<string[]> {
    const { logger } = this.context.deps;
    try {
      return await this.client.labelValues('__name__', start, end);
    } catch (error) {
      if (!(error instanceof PromQlRequestError) && !(error instanceof RecoverableError)) throw error;
      const denied = error instanceof PromQlRequestError && error.status === 403;
      const log = denied ? logger.warn.bind(logger) : logger.info.bind(logger);
      log('PromQL source inactive: its discovery call failed, so no detailed-observability metric is read until the next discovery (promql.enabled: false turns it off)', {
        endpoint: this.endpoint,
        error: error.message,
        retryAfterSeconds: this.context.config.promql.discoveryInterval,
      });
      return [];
    }
  }

  plan(input: PlanInput): SourcePlan {
    return new PromQlPlan(this.context, this.mapping, this.client, this.discovered, input);
  }
}

/** The SageMaker resource labels as the CloudWatch dimensions `isEnded` knows. */
function asDimensions(source: PromQlSeriesLabels): Dimension[] {
  return Object.entries(RESOURCE_DIMENSIONS).flatMap(([label, Name]) => (source[label] !== undefined ? [{ Name, Value: source[label] }] : []));
}

/** Test seam: a new process's first discovery. */
export function forgetPromQlListings(): void {
  listings.clear();
}

/** `ended` stays open until the read: a series its answers left out for a whole span ends then. */
type PlannedSeries = { -readonly [K in keyof SourceSeries]: SourceSeries[K] };

interface Member {
  readonly source: PromQlSeriesLabels;
  /** One series, or a histogram's buckets, `_sum` and `_count` (histogramSeries' order). */
  readonly series: readonly PlannedSeries[];
}

class PromQlPlan implements SourcePlan {
  readonly discovered: number;
  readonly samplesPerPeriod: number;
  private readonly groups: Array<{ metric: PromQlMetric; split: Split<Member> }> = [];

  constructor(
    private readonly context: SourceContext,
    private readonly mapping: PromQlMapping,
    private readonly client: PromQlClient,
    discovered: ReadonlyMap<string, readonly PromQlSeriesLabels[]>,
    private readonly input: PlanInput,
  ) {
    const { config, deps } = context;
    // One less than the limit: an answer with `limit` series may have been cut, so it is refused.
    const capacity = config.promql.maxSeriesPerQuery - 1;
    let total = 0;
    let outputs = 0;
    for (const metric of mapping.metrics) {
      const members = this.members(metric, discovered.get(metric.source) ?? []);
      total += members.length;
      for (const member of members) outputs += member.series.length;
      // A metric the account does not have costs no query.
      if (members.length === 0) continue;
      for (const split of splitByLabels(members, (m) => m.source, mapping.split, capacity)) {
        if (split.members.length > capacity) {
          deps.logger.warn('more PromQL series share every split label than one query may return: not read', { metric: metric.source, series: split.members.length, splitBy: mapping.split });
          continue;
        }
        this.groups.push({ metric, split });
      }
    }
    this.discovered = total;
    this.samplesPerPeriod = outputs;
  }

  get queries(): number {
    return this.groups.length;
  }

  families(): Iterable<SeriesFamily> {
    const names = new Map<string, boolean>();
    for (const m of this.mapping.metrics) {
      if (m.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.set(`${m.name}${suffix}`, true);
      else names.set(m.name, m.type === 'counter');
    }
    return [...names].map(([name, counter]) => ({ name, counter }));
  }

  describe(): FamilyInfo[] {
    return describeFamilies(this.mapping);
  }

  *reads(): Iterable<SourceRead> {
    for (const { metric, split } of this.groups) yield new PromQlRead(metric, split, this.context, this.client, this.input.previous.series);
  }

  private members(metric: PromQlMetric, found: readonly PromQlSeriesLabels[]): Member[] {
    const { config, deps } = this.context;
    const members: Member[] = [];
    for (const source of found) {
      const labels = prometheusLabels(this.mapping, metric, source, deps.baseLabels, config.maxLabelValueLength);
      const outputs = metric.type === 'histogram' ? histogramSeries(metric, labels) : [{ labels, scale: metric.scale }];
      const keys = outputs.map((o) => seriesKeyOf(seriesKey(o.labels)));
      const table = this.input.previous.series;
      const before = table.get(keys[0] as string);
      // Its stale marker written (see PromQlRead) and silent since: forgotten. If it comes back, it is a new series.
      if (before?.ended && before.frontier < this.input.readStart) {
        for (const key of keys) table.delete(key);
        continue;
      }
      // Marked in the cycle's table, as every source's series are: the finish keeps their revision baselines, and
      // a series another source (or another PromQL series) already writes is skipped, never written twice. A
      // histogram's series share their labels but the name, so its first tells for all.
      if (!table.markPlanned(keys[0] as string)) {
        deps.logger.warn('two series map to the same Prometheus series; the second (from PromQL) is skipped (map the label that tells them apart)', { metric: metric.source, series: seriesKey(labels) });
        continue;
      }
      for (const key of keys.slice(1)) table.markPlanned(key);
      // An endpoint, variant or component the SageMaker source saw deleted: a stale marker after the series' last sample.
      const gone = isEnded(this.input.previous.sagemaker?.ended ?? {}, asDimensions(source));
      const kind = metric.type === 'gauge' ? 'gauge' : 'counter';
      members.push({ source, series: outputs.map((o, k) => ({ labels: o.labels, key: keys[k] as string, kind, quantile: false, scale: o.scale, ended: gone })) });
    }
    return members;
  }
}

/** One query_range selection (one metric, at most `maxSeriesPerQuery - 1` series), read in scans of at most 24 hours. */
class PromQlRead implements SourceRead {
  readonly periodMs: number;
  readonly series: readonly PlannedSeries[];
  private readonly indexOf = new Map<string, number>();
  /** Each source series' outputs: its first index in `series`, and how many. */
  private readonly ranges: Array<[number, number]> = [];
  private readonly query: (rangeSeconds: number) => string;

  constructor(
    private readonly metric: PromQlMetric,
    split: Split<Member>,
    private readonly context: SourceContext,
    private readonly client: PromQlClient,
    private readonly table: SeriesTable,
  ) {
    this.periodMs = context.config.period * 1000;
    const series: PlannedSeries[] = [];
    for (const member of split.members) {
      // A source series' first output: a histogram's others follow it, one stream each.
      this.indexOf.set(sourceIdentity(member.source), series.length);
      this.ranges.push([series.length, member.series.length]);
      series.push(...member.series);
    }
    this.series = series;
    const sel = selector(metric.source, split.matchers);
    // OTel deltas are stamped at the end of their interval: (t - period, t] holds exactly the period ending at t.
    // sum_over_time adds a range's histograms too (the period's distribution), as Prometheus 3 does.
    const fn = metric.type === 'gauge' ? 'last_over_time' : 'sum_over_time';
    this.query = (rangeSeconds) => `${fn}(${sel}[${rangeSeconds}s])`;
  }

  get streams(): number {
    return this.series.length;
  }

  outputs(stream: number): readonly number[] {
    return [stream];
  }

  async read(span: ReadSpan, onPage: (page: readonly PagePoints[]) => Promise<void>): Promise<ReadOutcome> {
    const { config, deps } = this.context;
    const period = this.periodMs;
    // A scan evaluates steps t = p + period for each period p; its data reaches back one period before the first.
    const periodsPerScan = Math.max(1, Math.floor(SCAN_WINDOW_MS / period) - 1);
    let forbidden = 0;
    const answered = new Set<number>();
    for (let from = span.start; from < span.end; from += periodsPerScan * period) {
      const to = Math.min(span.end, from + periodsPerScan * period);
      let result;
      try {
        result = await this.client.queryRange(this.query(period / 1000), from + period, to, period, config.promql.maxSeriesPerQuery);
      } catch (error) {
        if (error instanceof PromQlRequestError && error.status === 403 && /AccessDenied/i.test(error.errorType)) {
          deps.logger.warn('PromQL query_range refused for lack of permission: its series are not read', { metric: this.metric.source, error: error.message });
          forbidden++;
          continue;
        }
        throw error;
      }
      if (result.length >= config.promql.maxSeriesPerQuery) {
        throw new RecoverableError(
          `PromQL query_range for ${this.metric.source} returned ${result.length} series, its limit: more series match than were discovered, and the answer may be cut. The next discovery (promql.discoveryInterval) splits them; nothing of this window was written for them.`,
        );
      }
      const page = this.page(result);
      for (const points of page) if (points.timestamps.length > 0) answered.add(points.index);
      await onPage(page);
    }
    if (forbidden === 0) this.endSilent(span, answered);
    return { forbidden, incomplete: new Set() };
  }

  /**
   * A series written before that no answer held over the whole span (the revision window and the new periods) has
   * stopped (an instance replaced, a GPU gone, an engine restarted under other labels): the cycle writes its stale
   * marker one period after its last sample, once; the next plan forgets it.
   */
  private endSilent(span: ReadSpan, answered: ReadonlySet<number>): void {
    for (const [start, count] of this.ranges) {
      if (answered.has(start)) continue;
      const state = this.table.get((this.series[start] as PlannedSeries).key);
      if (!state || state.ended || !Number.isFinite(state.frontier) || state.frontier >= span.start) continue;
      for (const series of this.series.slice(start, start + count)) series.ended = true;
    }
  }

  /** An answer's points, each at its period start (the step minus a period); a histogram's fill one stream per output. */
  private page(result: readonly RangeSeries[]): PagePoints[] {
    const page: PagePoints[] = [];
    for (const series of result) {
      const index = this.indexOf.get(sourceIdentity(series.metric));
      // A series newer than the discovery: read after the next one, from its own periods on.
      if (index === undefined) continue;
      const { buckets } = this.metric;
      if (buckets === undefined) {
        const values = series.values ?? [];
        page.push({ index, timestamps: values.map(([t]) => Math.round(t * 1000) - this.periodMs), values: values.map(([, v]) => Number(v)) });
        continue;
      }
      const histograms = series.histograms ?? [];
      const timestamps = histograms.map(([t]) => Math.round(t * 1000) - this.periodMs);
      const rows = histograms.map(([, h]) => periodValues(buckets, h));
      const outputs = rows[0]?.length ?? 0;
      for (let k = 0; k < outputs; k++) page.push({ index: index + k, timestamps, values: rows.map((row) => row[k] as number) });
    }
    return page;
  }
}
