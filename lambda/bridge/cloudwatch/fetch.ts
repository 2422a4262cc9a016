import { GetMetricDataCommand, type CloudWatchClient, type Metric, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { RecoverableError } from '../../../contract/errors';
import type { BridgeLogger } from '../logger';
import type { RateLimiter } from '../concurrency';
import type { ApiCallCounter } from '../self-metrics';
import type { DiscoveredMetric } from './discovery';
import { billedMetrics } from './plan';

/** A query CloudWatch could not answer this time; the cycle stops uncommitted and the next one reads the window again. */
export class CloudWatchDataError extends RecoverableError {}

/** What GetMetricData is asked: a planned query, or an idle variant's sentinel (read, never written). */
export interface FetchQuery {
  readonly metric: DiscoveredMetric;
  readonly template: { readonly stat: string };
}

export function describeQuery(query: FetchQuery): string {
  const dims = query.metric.dimensions.map((d) => `${d.Name}=${d.Value}`).join(',');
  return `${query.metric.namespace} ${query.metric.metricName}{${dims}} ${query.template.stat}`;
}

export interface ReadSpan {
  /** GetMetricData StartTime, epoch ms (inclusive). */
  readonly start: number;
  /** GetMetricData EndTime, epoch ms (exclusive). */
  readonly end: number;
  readonly periodSeconds: number;
}

/** One page's datapoints for one query of the chunk. */
export interface PagePoints {
  readonly index: number;
  readonly timestamps: readonly Date[];
  readonly values: readonly number[];
}

export interface ChunkOutcome {
  /** Queries CloudWatch refused (StatusCode Forbidden): no data, logged and counted. */
  readonly forbidden: number;
  /** Queries still PartialData after the last page: their later datapoints are missing this cycle. */
  readonly incomplete: ReadonlySet<number>;
}

/**
 * Reads one call's worth of queries (at most 500, one period and window) oldest first, following NextToken,
 * and hands each page to `onPage` before fetching the next, so only one page is held at a time.
 */
export async function fetchChunk(
  cloudwatch: CloudWatchClient,
  queries: readonly FetchQuery[],
  span: ReadSpan,
  limiter: RateLimiter,
  calls: ApiCallCounter,
  logger: BridgeLogger,
  onPage: (points: readonly PagePoints[]) => void | Promise<void>,
): Promise<ChunkOutcome> {
  // A metric's statistics (13 for a latency histogram) share one Metric: the request holds it while every page is read.
  const metrics = new Map<FetchQuery['metric'], Metric>();
  const metricOf = ({ metric }: FetchQuery): Metric => {
    let shared = metrics.get(metric);
    if (!shared) {
      shared = { Namespace: metric.namespace, MetricName: metric.metricName, Dimensions: [...metric.dimensions] };
      metrics.set(metric, shared);
    }
    return shared;
  };
  const metricDataQueries: MetricDataQuery[] = queries.map((query, position) => ({
    Id: `q${position}`,
    MetricStat: {
      Metric: metricOf(query),
      Period: span.periodSeconds,
      Stat: query.template.stat,
    },
    ReturnData: true,
  }));
  const status = new Map<number, string>();
  // One page at a time, the SDK's answer never held across onPage's await (the remote write): only its points live on.
  const readPage = async (token: string | undefined): Promise<{ points: PagePoints[]; next: string | undefined }> => {
    await limiter.take();
    const started = Date.now();
    const page = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: metricDataQueries,
        StartTime: new Date(span.start),
        EndTime: new Date(span.end),
        ScanBy: 'TimestampAscending',
        NextToken: token,
      }),
    );
    calls.record('cloudwatch', 'GetMetricData', page.$metadata?.attempts);
    if (token === undefined) calls.recordMetricsRequested(billedMetrics(queries));
    logger.debug('GetMetricData', { queries: metricDataQueries.length, page: token !== undefined, ms: Date.now() - started, attempts: page.$metadata?.attempts });
    for (const message of page.Messages ?? []) logger.warn('GetMetricData message', { code: message.Code, message: message.Value });
    const points: PagePoints[] = [];
    for (const result of page.MetricDataResults ?? []) {
      const index = result.Id ? Number(result.Id.slice(1)) : NaN;
      const query = queries[index];
      if (!query) continue;
      if (result.StatusCode) status.set(index, result.StatusCode);
      for (const message of result.Messages ?? []) logger.warn('GetMetricData result message', { metric: describeQuery(query), code: message.Code, message: message.Value });
      if ((result.Timestamps?.length ?? 0) > 0) points.push({ index, timestamps: result.Timestamps ?? [], values: result.Values ?? [] });
    }
    return { points, next: page.NextToken };
  };
  let nextToken: string | undefined;
  do {
    const { points, next } = await readPage(nextToken);
    nextToken = next;
    await onPage(points);
  } while (nextToken);

  let forbidden = 0;
  const incomplete = new Set<number>();
  for (const [index, code] of status) {
    const query = queries[index] as FetchQuery;
    if (code === 'InternalError') {
      throw new CloudWatchDataError(`GetMetricData returned InternalError for ${describeQuery(query)}; the window will be read again next cycle`);
    }
    if (code === 'Forbidden') {
      forbidden += 1;
      logger.error('GetMetricData returned Forbidden: check cloudwatch:GetMetricData permissions for this metric', { metric: describeQuery(query) });
    } else if (code === 'PartialData') {
      incomplete.add(index);
      logger.warn('GetMetricData returned PartialData after following every NextToken; the missing periods are read again next cycle', { metric: describeQuery(query) });
    }
  }
  return { forbidden, incomplete };
}
