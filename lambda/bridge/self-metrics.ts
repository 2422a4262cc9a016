import { buildLabels, seriesKey, type TimeSeries } from './series';

/**
 * The two readings of CloudWatch's "up to five statistics for the same metric in a single GetMetricData API request"
 * rule, the values of the `billing` label of `inferwatch_bridge_cloudwatch_metrics_requested_total`. Each value
 * counts every call once: sum over one value, never over both.
 */
export const BILLING_READINGS = { perStatistic: 'per_statistic', perMetricFiveStats: 'per_metric_5_stats' } as const;

/** Counts API calls (what CloudWatch bills: GetMetricData per metric requested) and SDK retries. */
export class ApiCallCounter {
  readonly calls = new Map<string, number>();
  readonly retries = new Map<string, number>();
  /** Metrics requested, one per statistic (query). */
  metricsRequested = 0;
  /** Metrics requested, one per metric and every five of its statistics in a call. */
  metricsRequestedFiveStats = 0;

  /** `attempts` is the SDK's count for the call; every attempt past the first was a retry (throttling, 5xx). */
  record(service: 'cloudwatch' | 'sagemaker', api: string, attempts = 1): void {
    const key = `${service}:${api}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    if (attempts > 1) this.retries.set(service, (this.retries.get(service) ?? 0) + attempts - 1);
  }

  recordMetricsRequested(billed: { readonly perStatistic: number; readonly perMetricFiveStats: number }): void {
    this.metricsRequested += billed.perStatistic;
    this.metricsRequestedFiveStats += billed.perMetricFiveStats;
  }

  count(service: string, api: string): number {
    return this.calls.get(`${service}:${api}`) ?? 0;
  }
}

export interface SelfMetricInput {
  readonly timestamp: number;
  readonly baseLabels: Readonly<Record<string, string>>;
  readonly collectSeconds: number;
  readonly lastWriteSeconds: number | undefined;
  readonly lagSeconds: number;
  readonly seriesActive: number;
  readonly queries: number;
  /** Increments for this cycle, by metric name and extra labels. */
  readonly increments: ReadonlyArray<{ name: string; labels?: Record<string, string>; by: number }>;
}

/**
 * The bridge's own metrics, written with the data. Counters are cumulative in the state, so
 * `increase(inferwatch_bridge_cloudwatch_metrics_requested_total{billing="per_statistic"}[30d])` is what GetMetricData
 * was billed for under the per-statistic reading (`billing="per_metric_5_stats"`: under the five-statistics one).
 */
export function buildSelfMetrics(input: SelfMetricInput, counters: Record<string, number>): { series: TimeSeries[]; counters: Record<string, number> } {
  const next = addToCounters(counters, input.baseLabels, input.increments);
  const series: TimeSeries[] = [];
  const sample = (value: number) => [{ timestamp: input.timestamp, value }];
  // Every known counter is written each cycle, so none goes stale between increments.
  for (const [key, value] of Object.entries(next)) {
    series.push({ labels: parseKey(key), samples: sample(value), kind: 'counter' });
  }
  const gauge = (name: string, value: number, labels: Record<string, string> = {}) =>
    series.push({ labels: buildLabels(name, { ...labels, ...input.baseLabels }), samples: sample(value), kind: 'gauge' });
  gauge('inferwatch_bridge_cycle_duration_seconds', input.collectSeconds, { phase: 'collect' });
  if (input.lastWriteSeconds !== undefined) gauge('inferwatch_bridge_cycle_duration_seconds', input.lastWriteSeconds, { phase: 'write' });
  gauge('inferwatch_bridge_lag_seconds', input.lagSeconds);
  gauge('inferwatch_bridge_series_active', input.seriesActive);
  gauge('inferwatch_bridge_queries', input.queries);
  return { series, counters: next };
}

/** Adds increments to the state's self counters without writing anything (results known only after the write). */
export function addToCounters(counters: Record<string, number>, baseLabels: Readonly<Record<string, string>>, increments: SelfMetricInput['increments']): Record<string, number> {
  const next = { ...counters };
  // A zero increment still creates the counter: counters exist at 0 from the start, so rate() and increase() see the first event.
  for (const { name, labels, by } of increments) {
    const key = seriesKey(buildLabels(name, { ...labels, ...baseLabels }));
    next[key] = (next[key] ?? 0) + by;
  }
  return next;
}

function parseKey(key: string): TimeSeries['labels'] {
  const labels: Array<{ name: string; value: string }> = [];
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")/g;
  for (const match of key.matchAll(pattern)) labels.push({ name: match[1] as string, value: JSON.parse(match[2] as string) as string });
  return labels;
}

/** HELP and TYPE of the bridge's own metrics (a test checks every name buildSelfMetrics writes is here). */
export const SELF_METRIC_FAMILIES: ReadonlyArray<{ family: string; type: 'counter' | 'gauge'; help: string }> = [
  { family: 'inferwatch_bridge_cloudwatch_metrics_requested_total', type: 'counter', help: 'Metrics requested from CloudWatch GetMetricData (what CloudWatch bills per 1,000), by billing reading: per_statistic counts each statistic, per_metric_5_stats each metric with up to five statistics in a call. Sum over one billing value, never both.' },
  { family: 'inferwatch_bridge_cloudwatch_requests_total', type: 'counter', help: 'CloudWatch API calls by api.' },
  { family: 'inferwatch_bridge_sagemaker_requests_total', type: 'counter', help: 'SageMaker API calls by api.' },
  { family: 'inferwatch_bridge_retries_total', type: 'counter', help: 'SDK retries (throttling, 5xx) by target service.' },
  { family: 'inferwatch_bridge_revisions_total', type: 'counter', help: 'CloudWatch datapoints that changed after they were forwarded, by kind.' },
  {
    family: 'inferwatch_bridge_revision_lateness_seconds_total',
    type: 'counter',
    help: 'Seconds from each revised (counter) or late (late) period to the end of the window that saw it, summed; over revisions_total, the mean lateness.',
  },
  { family: 'inferwatch_bridge_samples_dropped_total', type: 'counter', help: 'Datapoints not forwarded, by reason (non_finite: NaN/Inf from CloudWatch; forbidden: no permission).' },
  { family: 'inferwatch_bridge_samples_written_total', type: 'counter', help: 'Samples the remote-write receiver accepted.' },
  { family: 'inferwatch_bridge_samples_rejected_total', type: 'counter', help: 'Samples the remote-write receiver rejected with HTTP 400, by reason.' },
  { family: 'inferwatch_bridge_samples_already_stored_total', type: 'counter', help: 'Samples a retried request found already stored (an earlier attempt arrived, its response was lost); counted as written too.' },
  { family: 'inferwatch_bridge_samples_skipped_total', type: 'counter', help: 'Datapoints older than the receiver accepts (remoteWrite.maxSampleAge), not written.' },
  { family: 'inferwatch_bridge_journal_replays_total', type: 'counter', help: 'Cycles that replayed a journaled write left by a stopped cycle.' },
  { family: 'inferwatch_bridge_cycle_duration_seconds', type: 'gauge', help: 'Seconds the last cycle spent, by phase (collect, write).' },
  { family: 'inferwatch_bridge_lag_seconds', type: 'gauge', help: 'Seconds between the end of the newest forwarded period and the end of the cycle.' },
  { family: 'inferwatch_bridge_series_active', type: 'gauge', help: 'Series the last cycle wrote.' },
  { family: 'inferwatch_bridge_queries', type: 'gauge', help: 'GetMetricData queries (metric, dimensions, statistic) in the last cycle.' },
];
