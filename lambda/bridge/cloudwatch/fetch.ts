import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { BridgeLogger } from '../logger';
import type { ApiCallCounter } from '../self-metrics';
import type { CycleWindow } from '../windows';
import { chunk, MAX_QUERIES_PER_CALL, type PlannedQuery } from './plan';

/** A query CloudWatch could not answer this time; the cycle stops uncommitted and the next one reads the window again. */
export class CloudWatchDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloudWatchDataError';
  }
}

export interface FetchOutcome {
  /** Datapoints per query, index-aligned with the planned queries: [epoch ms, value]. */
  readonly points: Array<Array<[number, number]>>;
  /** Queries CloudWatch refused (StatusCode Forbidden): no data, logged and counted. */
  readonly forbidden: number;
}

function describe(query: PlannedQuery): string {
  const dims = query.metric.dimensions.map((d) => `${d.Name}=${d.Value}`).join(',');
  return `${query.metric.namespace} ${query.metric.metricName}{${dims}} ${query.template.stat}`;
}

/**
 * Reads the window for every query with the fewest calls: 500 queries per GetMetricData call (all share one
 * period and window), following NextToken, oldest first. Datapoints of one query across pages are merged.
 */
export async function fetchMetricData(
  cloudwatch: CloudWatchClient,
  queries: readonly PlannedQuery[],
  window: CycleWindow,
  periodSeconds: number,
  calls: ApiCallCounter,
  logger: BridgeLogger,
): Promise<FetchOutcome> {
  const points: Array<Array<[number, number]>> = queries.map(() => []);
  let forbidden = 0;
  const indexed = queries.map((query, index) => ({ query, index }));
  for (const batch of chunk(indexed, MAX_QUERIES_PER_CALL)) {
    const byId = new Map<string, { query: PlannedQuery; index: number }>();
    const metricDataQueries: MetricDataQuery[] = batch.map(({ query, index }, position) => {
      const id = `q${position}`;
      byId.set(id, { query, index });
      return {
        Id: id,
        MetricStat: {
          Metric: { Namespace: query.metric.namespace, MetricName: query.metric.metricName, Dimensions: [...query.metric.dimensions] },
          Period: periodSeconds,
          Stat: query.template.stat,
        },
        ReturnData: true,
      };
    });
    const status = new Map<string, string>();
    let nextToken: string | undefined;
    do {
      const page = await cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: metricDataQueries,
          StartTime: new Date(window.readStart),
          EndTime: new Date(window.end),
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
        }),
      );
      calls.record('cloudwatch', 'GetMetricData', page.$metadata?.attempts);
      if (nextToken === undefined) calls.recordMetricsRequested(metricDataQueries.length);
      for (const message of page.Messages ?? []) logger.warn('GetMetricData message', { code: message.Code, message: message.Value });
      for (const result of page.MetricDataResults ?? []) {
        const target = result.Id ? byId.get(result.Id) : undefined;
        if (!target) continue;
        if (result.StatusCode) status.set(result.Id as string, result.StatusCode);
        for (const message of result.Messages ?? []) logger.warn('GetMetricData result message', { metric: describe(target.query), code: message.Code, message: message.Value });
        const timestamps = result.Timestamps ?? [];
        const values = result.Values ?? [];
        const into = points[target.index] as Array<[number, number]>;
        for (let i = 0; i < timestamps.length; i++) {
          const timestamp = timestamps[i] as Date;
          into.push([timestamp.getTime(), values[i] as number]);
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);

    for (const [id, code] of status) {
      const target = byId.get(id);
      if (!target) continue;
      if (code === 'InternalError') {
        throw new CloudWatchDataError(`GetMetricData returned InternalError for ${describe(target.query)}; the window will be read again next cycle`);
      }
      if (code === 'Forbidden') {
        forbidden += 1;
        logger.error('GetMetricData returned Forbidden: check cloudwatch:GetMetricData permissions for this metric', { metric: describe(target.query) });
      } else if (code === 'PartialData') {
        logger.warn('GetMetricData returned PartialData after following every NextToken; the rest is read again inside the revision window', {
          metric: describe(target.query),
        });
      }
    }
  }
  return { points, forbidden };
}
