import { validation } from './aws-json';
import { aggregate, buildMetrics, isAdditive, withoutRawCache, HIGH_RESOLUTION_RETENTION_S, identity, type Dimension, type FleetOptions, type MetricDef } from './fleet';
import { isStatistic } from './latency-distribution';
import { PrecomputedMinutes } from './precomputed-minutes';

/**
 * CloudWatch (AWS JSON 1.0, `GraniteServiceVersion20100801.`): ListMetrics and GetMetricData over the fleet's
 * metrics, with CloudWatch's documented limits and paging. `AwsStandIn` serves it over HTTP.
 */
export class CloudWatchStandIn {
  /** What CloudWatch bills GetMetricData for: the queries of every accepted first page (no NextToken). */
  metricsRequested = 0;
  /** Accepted GetMetricData first pages: the minimum number of calls is ceil(queries / 500) per window read. */
  getMetricDataFirstPages = 0;
  /** Datapoints answered by GetMetricData, over every page. */
  datapointsServed = 0;
  /**
   * Per GetMetricData window (`StartTime|EndTime`, epoch s): queries on first pages, datapoints over every page. A
   * call has one StartTime and EndTime, so reads of different windows can never share one: see getMetricDataMinimum.
   */
  readonly windows = new Map<string, { queries: number; datapoints: number }>();
  /** Percentile and trimmed-count (TC) statistics asked per metric: a metric stream sends them as extra updates. */
  readonly extraStatistics = new Map<string, Set<string>>();
  /** Distinct (metric, statistic, period) queries on first pages: what a scraper asks for each scrape. */
  readonly distinctQueries = new Set<string>();
  /** The latest GetMetricData EndTime seen (epoch ms): how far the bridge has read. */
  latestEndTime = 0;
  /** Small pages force NextToken, as CloudWatch does past 100,800 datapoints. */
  datapointsPerPage = 100_800;
  listMetricsPageSize = 500;
  /**
   * Fault switch: every GetMetricData answer stops after this many datapoints, says `PartialData` for each query it
   * cut, and gives no NextToken. The GetMetricData reference gives a NextToken with PartialData, but does not promise
   * one (none for math expressions); this is the case a client cannot page its way out of.
   */
  partialDataAfter: number | undefined;
  private readonly metrics: MetricDef[];
  private readonly byIdentity: Map<string, MetricDef>;
  private readonly byNamespace = new Map<string, MetricDef[]>();
  private readonly overrides = new Map<string, Map<number, number | undefined>>();
  private readonly unlisted = new Set<string>();
  private readonly deletedEndpoints = new Map<string, number>();
  private readonly deletedComponents = new Map<string, number>();
  /** Every statistic asked of a timing (a metric with raw values), kept across cycles: what `precomputeMinutes` computes. */
  private readonly timingStatistics = new Set<string>();
  readonly precomputed = new PrecomputedMinutes();

  constructor(
    fleet: FleetOptions,
    private readonly now: () => number,
  ) {
    this.metrics = buildMetrics(fleet);
    this.byIdentity = new Map(this.metrics.map((m) => [identity(m.namespace, m.metricName, m.dimensions), m]));
    for (const m of this.metrics) {
      const list = this.byNamespace.get(m.namespace) ?? [];
      list.push(m);
      this.byNamespace.set(m.namespace, list);
    }
  }

  /** The number of CloudWatch metrics served (ListMetrics entries over every namespace). */
  get metricCount(): number {
    return this.metrics.length;
  }

  /** Zeroes the GetMetricData counters (one benchmark cycle each). */
  resetCounts(): void {
    this.metricsRequested = 0;
    this.getMetricDataFirstPages = 0;
    this.latestEndTime = 0;
    this.datapointsServed = 0;
    this.windows.clear();
    this.extraStatistics.clear();
    this.distinctQueries.clear();
  }

  /** No datapoint for the endpoint's metrics from `deletedAtMs` on; they stay listed, as ListMetrics keeps recently active ones. */
  endpointDeleted(name: string, deletedAtMs: number): void {
    this.deletedEndpoints.set(name, deletedAtMs / 1000);
  }

  /** No datapoint for the inference component's metrics from `deletedAtMs` on. */
  componentDeleted(name: string, deletedAtMs: number): void {
    this.deletedComponents.set(name, deletedAtMs / 1000);
  }

  /**
   * The fewest GetMetricData calls that could have read what was asked: per distinct (StartTime, EndTime) window,
   * max(ceil(queries / 500), ceil(datapoints / 100,800)), summed (500 queries a call, 100,800 datapoints a page).
   */
  getMetricDataMinimum(): number {
    let calls = 0;
    for (const { queries, datapoints } of this.windows.values()) calls += Math.max(Math.ceil(queries / 500), Math.ceil(datapoints / 100_800));
    return calls;
  }

  /** Metric Streams' extra updates a minute for the statistics asked: one for every 5 extra statistics of a metric. */
  streamExtraUpdates(): number {
    return [...this.extraStatistics.values()].reduce((n, stats) => n + Math.ceil(stats.size / 5), 0);
  }

  /**
   * Computes every timing's statistics asked so far, each minute from `fromMs` to `toMs`, ahead of the reads (a
   * benchmark does this before a catch-up, so the stand-in's own work is not timed as the bridge's). Answers stay the
   * same: only where they come from changes. Returns the metric-minutes held.
   */
  precomputeMinutes(fromMs: number, toMs: number): number {
    const timings = [...this.byIdentity].filter(([, metric]) => metric.raw !== undefined && (metric.resolution ?? 60) === 60);
    this.precomputed.fill(timings, [...this.timingStatistics], fromMs / 1000, toMs / 1000);
    return this.precomputed.size;
  }

  /** Lets go of what `precomputeMinutes` held. */
  clearPrecomputed(): void {
    this.precomputed.clear();
  }

  /** A stored datapoint of one minute (or one high-resolution slot) as `MetricDef.value` gives it, held or computed now. */
  private storedValue(id: string, metric: MetricDef, stat: string, at: number): number | undefined {
    const held = this.precomputed.valueOf(id, stat, at);
    return held === null ? metric.value(stat, at) : held;
  }

  /** Epoch seconds from which a metric with these dimensions has no data (its endpoint or component deleted), else Infinity. */
  private dataEndsAt(dimensions: readonly Dimension[] | undefined): number {
    const endpoint = dimensions?.find((d) => d.Name === 'EndpointName')?.Value;
    const component = dimensions?.find((d) => d.Name === 'InferenceComponentName')?.Value;
    return Math.min(
      endpoint === undefined ? Infinity : (this.deletedEndpoints.get(endpoint) ?? Infinity),
      component === undefined ? Infinity : (this.deletedComponents.get(component) ?? Infinity),
    );
  }

  /** CloudWatch revises (or, with undefined, withholds) one statistic of one period. */
  setValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number, value: number | undefined): void {
    const key = `${identity(namespace, metricName, dimensions)}|${stat}`;
    const map = this.overrides.get(key) ?? new Map<number, number | undefined>();
    map.set(periodStartMs / 1000, value);
    this.overrides.set(key, map);
  }

  /** True when `setValue` revised (or withheld) this statistic of this period. */
  isOverridden(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): boolean {
    return this.overrides.get(`${identity(namespace, metricName, dimensions)}|${stat}`)?.has(periodStartMs / 1000) ?? false;
  }

  clearValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): void {
    this.overrides.get(`${identity(namespace, metricName, dimensions)}|${stat}`)?.delete(periodStartMs / 1000);
  }

  /** The value CloudWatch currently holds for a period (what the bridge should end up with), 60 s unless said. */
  valueAt(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number, periodSeconds = 60): number | undefined {
    const id = identity(namespace, metricName, dimensions);
    const metric = this.byIdentity.get(id);
    if (!metric) return undefined;
    const t = periodStartMs / 1000;
    if (t >= this.dataEndsAt(dimensions)) return undefined;
    return this.pointAt(id, metric, stat, t, periodSeconds);
  }

  /**
   * The datapoint of a `period`-second bucket starting at `t` (epoch s), from what CloudWatch stores: a period shorter
   * than the metric's resolution finds a datapoint only in the buckets where a stored one starts (a standard metric read
   * at 10 s answers once a minute); a longer one aggregates every stored datapoint in the bucket (`aggregate`).
   */
  private pointAt(id: string, metric: MetricDef, stat: string, t: number, period: number): number | undefined {
    const stored = (s: string, at: number) => {
      const override = this.overrides.get(`${id}|${s}`);
      return override?.has(at) ? override.get(at) : this.storedValue(id, metric, s, at);
    };
    const resolution = metric.resolution ?? 60;
    if (period < resolution) return t % resolution === 0 ? stored(stat, t) : undefined;
    if (period === resolution) return stored(stat, t);
    const times: number[] = [];
    for (let at = t; at < t + period; at += resolution) times.push(at);
    const override = this.overrides.get(`${id}|${stat}`);
    return aggregate(stat, times, stored, metric.raw, times.some((at) => override?.has(at)));
  }

  /** The raw values (ascending, CloudWatch's unit) a timing's statistics of one period are computed from; empty for other metrics. */
  rawValuesAt(namespace: string, metricName: string, dimensions: readonly Dimension[], periodStartMs: number): Float64Array {
    return this.byIdentity.get(identity(namespace, metricName, dimensions))?.raw?.(periodStartMs / 1000) ?? new Float64Array(0);
  }

  /**
   * ListMetrics leaves this metric out (or, with `listed`, lists it again) while its datapoints go on: CloudWatch can
   * list a metric later than its first datapoints.
   */
  setListed(namespace: string, metricName: string, dimensions: readonly Dimension[], listed: boolean): void {
    const id = identity(namespace, metricName, dimensions);
    if (listed) this.unlisted.delete(id);
    else this.unlisted.add(id);
  }

  listMetrics(body: Record<string, unknown>): unknown {
    const all = this.byNamespace.get(String(body.Namespace)) ?? [];
    const matching = this.unlisted.size === 0 ? all : all.filter((m) => !this.unlisted.has(identity(m.namespace, m.metricName, m.dimensions)));
    const offset = body.NextToken ? Number(Buffer.from(String(body.NextToken), 'base64').toString()) : 0;
    const page = matching.slice(offset, offset + this.listMetricsPageSize);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString('base64') : undefined;
    return {
      Metrics: page.map((m) => ({ Namespace: m.namespace, MetricName: m.metricName, Dimensions: m.dimensions })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  getMetricData(body: Record<string, unknown>): unknown {
    const queries = body.MetricDataQueries as Array<{ Id: string; MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] }; Period: number; Stat: string } }>;
    if (!Array.isArray(queries) || queries.length === 0) throw validation('MetricDataQueries is required');
    if (queries.length > 500) throw validation('The collection MetricDataQueries must not have a size greater than 500.');
    const start = Number(body.StartTime);
    const end = Number(body.EndTime);
    if (body.ScanBy !== 'TimestampAscending') throw validation('stand-in expects ScanBy TimestampAscending');
    const maxDatapoints = body.MaxDatapoints === undefined ? this.datapointsPerPage : Math.min(Number(body.MaxDatapoints), this.datapointsPerPage);
    if (!(maxDatapoints >= 1)) throw validation('MaxDatapoints must be at least 1');
    const window = this.windows.get(`${start}|${end}`) ?? { queries: 0, datapoints: 0 };
    this.windows.set(`${start}|${end}`, window);
    if (body.NextToken === undefined) {
      this.metricsRequested += queries.length;
      this.getMetricDataFirstPages += 1;
      window.queries += queries.length;
    }
    this.latestEndTime = Math.max(this.latestEndTime, end * 1000);
    queries.forEach((q, i) => {
      const period = Number(q.MetricStat?.Period);
      if (!(Number.isInteger(period) && ([1, 5, 10, 20, 30].includes(period) || (period > 0 && period % 60 === 0)))) {
        throw validation(`The value ${String(q.MetricStat?.Period)} for parameter MetricDataQueries.member.${i + 1}.MetricStat.Period must be 1, 5, 10, 20, 30, 60, or a multiple of 60.`);
      }
      // CloudWatch refuses the whole call for a string that is no statistic (a known statistic the metric lacks only has no datapoints).
      if (!isStatistic(String(q.MetricStat?.Stat))) throw validation(`The value ${String(q.MetricStat?.Stat)} for parameter MetricDataQueries.member.${i + 1}.MetricStat.Stat is not a valid statistic.`);
    });
    const together = new AdditiveTogether(queries, (id, stat) => this.overrides.has(`${id}|${stat}`), (id, metric, stat, at) => this.storedValue(id, metric, stat, at));
    const all = queries.map((q) => {
      const period = q.MetricStat.Period;
      const stat = q.MetricStat.Stat;
      const id = identity(q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, q.MetricStat.Metric.Dimensions ?? []);
      const metric = this.byIdentity.get(id);
      if (body.NextToken === undefined) {
        if (metric?.raw) this.timingStatistics.add(stat);
        this.distinctQueries.add(`${id}|${stat}|${period}`);
        if (/^(p\d|TC\()/.test(stat)) this.extraStatistics.set(id, (this.extraStatistics.get(id) ?? new Set()).add(stat));
      }
      const timestamps: number[] = [];
      const values: number[] = [];
      const deletedAt = this.dataEndsAt(q.MetricStat.Metric.Dimensions);
      const expired = !periodServes(period, this.now() / 1000 - start);
      if (metric && !expired) {
        // Buckets start at StartTime as CloudWatch rounds it, one Period apart: a datapoint's timestamp is its bucket's start.
        for (let t = roundedStart(start, period, this.now() / 1000 - start); t < Math.min(end, deletedAt); t += period) {
          const v = (together.valueOf(id, metric, stat, t, period) ?? { value: this.pointAt(id, metric, stat, t, period) }).value;
          if (v !== undefined) {
            timestamps.push(t);
            values.push(v);
          }
        }
      }
      return { Id: q.Id, timestamps, values };
    });
    // Datapoints are paged across all queries in order; a query cut by a page boundary continues on the next page.
    const offset = body.NextToken ? Number(Buffer.from(String(body.NextToken), 'base64').toString()) : 0;
    let skipped = 0;
    const cut = this.partialDataAfter;
    let room = cut === undefined ? maxDatapoints : Math.min(maxDatapoints, cut);
    const answered = room;
    const results = all.map((r) => {
      const from = Math.max(0, Math.min(r.timestamps.length, offset - skipped));
      skipped += r.timestamps.length;
      const take = Math.max(0, Math.min(room, r.timestamps.length - from));
      room -= take;
      const complete = from + take === r.timestamps.length;
      return {
        Id: r.Id,
        Label: r.Id,
        Timestamps: r.timestamps.slice(from, from + take),
        Values: r.values.slice(from, from + take),
        StatusCode: complete ? 'Complete' : 'PartialData',
      };
    });
    const served = offset + (answered - room);
    this.datapointsServed += answered - room;
    window.datapoints += answered - room;
    const total = all.reduce((n, r) => n + r.timestamps.length, 0);
    return {
      MetricDataResults: results,
      Messages: [],
      ...(served < total && cut === undefined ? { NextToken: Buffer.from(String(served)).toString('base64') } : {}),
    };
  }
}

const DAY_S = 86_400;

/**
 * Whether a Period can have datapoints for a StartTime `age` seconds ago (MetricStat Period): under 60 s only within
 * 3 hours; from 15 days back a multiple of 300, from 63 days a multiple of 3600. Otherwise CloudWatch returns none.
 */
function periodServes(period: number, age: number): boolean {
  if (age > 63 * DAY_S) return period % 3600 === 0;
  if (age > 15 * DAY_S) return period % 300 === 0;
  return period >= 60 || age <= HIGH_RESOLUTION_RETENTION_S;
}

/**
 * StartTime as CloudWatch rounds it (GetMetricData StartTime): down to the minute (to the Period's division of the
 * minute for 5, 10, 20, 30 s), to 5 minutes from 15 days back, to the hour from 63 days back.
 */
function roundedStart(start: number, period: number, age: number): number {
  const step = age > 63 * DAY_S ? 3600 : age > 15 * DAY_S ? 300 : period < 60 ? period : 60;
  return Math.floor(start / step) * step;
}

/**
 * The additive statistics (Sum, SampleCount, TC) of one metric over a period longer than its resolution, all those a
 * call asks for at once: each stored minute's statistics are computed together, so a timing's raw values are drawn
 * once a minute and call rather than once a statistic (a 6 h span of a 5,000-variant fleet's TC buckets drew them
 * ~20 times over, minutes each). The values are exactly `aggregate`'s: the sum over the minutes that have one.
 */
class AdditiveTogether {
  private readonly stats = new Map<string, string[]>();
  private readonly sums = new Map<string, Map<string, number | undefined>>();

  constructor(
    queries: ReadonlyArray<{ MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] }; Period: number; Stat: string } }>,
    private readonly revised: (id: string, stat: string) => boolean,
    private readonly stored: (id: string, metric: MetricDef, stat: string, at: number) => number | undefined,
  ) {
    for (const { MetricStat: q } of queries) {
      if (!isAdditive(q.Stat)) continue;
      const key = `${identity(q.Metric.Namespace, q.Metric.MetricName, q.Metric.Dimensions ?? [])}|${q.Period}`;
      const list = this.stats.get(key) ?? [];
      if (!list.includes(q.Stat)) list.push(q.Stat);
      this.stats.set(key, list);
    }
  }

  /** Undefined when the statistic is not computed here (not additive, a period the metric stores, a revised series). */
  valueOf(id: string, metric: MetricDef, stat: string, t: number, period: number): { readonly value: number | undefined } | undefined {
    const resolution = metric.resolution ?? 60;
    if (period <= resolution || !isAdditive(stat) || this.revised(id, stat)) return undefined;
    const key = `${id}|${period}|${t}`;
    let sums = this.sums.get(key);
    if (!sums) {
      const stats = (this.stats.get(`${id}|${period}`) ?? [stat]).filter((s) => !this.revised(id, s));
      const computed = new Map<string, number | undefined>(stats.map((s) => [s, undefined]));
      withoutRawCache(() => {
        for (let at = t; at < t + period; at += resolution) {
          for (const s of stats) {
            const v = this.stored(id, metric, s, at);
            if (v !== undefined) computed.set(s, (computed.get(s) ?? 0) + v);
          }
        }
      });
      sums = computed;
      this.sums.set(key, sums);
    }
    return { value: sums.get(stat) };
  }
}
