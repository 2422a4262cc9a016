import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { GET_METRIC_DATA_USD_PER_1000_METRICS as USD_PER_1000_METRICS } from '../../../contract/constants';
import { base, latest, query, SCOPE, timeseries } from './shared';

const BY_TARGET = ['account_id', 'region'];

/**
 * The bridge's own counters are written at the time of each run, not with the CloudWatch periods: windows need no
 * offset, and span several runs (one sample per run).
 */
function perHour(metric: string, labels: readonly string[]): string {
  return `sum by (${labels.join(', ')}) (increase(${metric}{${SCOPE}}[1h]))`;
}

/** The bridge itself: is it keeping up, and what it costs (metrics requested, samples written, series active). */
export function bridgeDashboard(): Dashboard {
  return base('inferwatch-bridge', 'inferwatch / bridge', 'inferwatch_bridge_lag_seconds', 'none')
    .withRow(new RowBuilder('Health'))
    .withPanel(
      timeseries(
        'Lag behind real time',
        's',
        [query(latest('max', 'inferwatch_bridge_lag_seconds', SCOPE, BY_TARGET), '{{account_id}} {{region}}')],
        'From the end of the newest forwarded period to the end of the run: the schedule plus the settle delay when all is well.',
      ),
    )
    .withPanel(timeseries('Cycle duration', 's', [query(latest('max', 'inferwatch_bridge_cycle_duration_seconds', SCOPE, [...BY_TARGET, 'phase']), '{{phase}} {{account_id}} {{region}}')]))
    .withPanel(
      timeseries(
        'Samples not written, per hour',
        'short',
        [
          query(perHour('inferwatch_bridge_samples_rejected_total', ['reason']), 'rejected: {{reason}}'),
          query(perHour('inferwatch_bridge_samples_dropped_total', ['reason']), 'dropped: {{reason}}'),
          query(perHour('inferwatch_bridge_samples_skipped_total', ['reason']), 'skipped: {{reason}}'),
        ],
        'Rejected by the receiver (HTTP 400); dropped before sending (NaN from CloudWatch, no permission); skipped as older than the receiver takes.',
      ),
    )
    .withPanel(
      timeseries('Retries and replays per hour', 'short', [
        query(perHour('inferwatch_bridge_retries_total', ['target']), 'retries {{target}}'),
        query(perHour('inferwatch_bridge_journal_replays_total', BY_TARGET), 'journal replays {{account_id}} {{region}}'),
      ]),
    )
    .withPanel(timeseries('CloudWatch revisions per hour', 'short', [query(perHour('inferwatch_bridge_revisions_total', ['kind']), '{{kind}}')]))
    .withRow(new RowBuilder('The bill'))
    .withPanel(
      timeseries(
        'Metrics requested per hour',
        'short',
        [query(perHour('inferwatch_bridge_cloudwatch_metrics_requested_total', [...BY_TARGET, 'billing']), '{{account_id}} {{region}} {{billing}}')],
        'What GetMetricData bills, under both readings of its pricing rule (one line each, never added): per_statistic counts every query of a call, per_metric_5_stats every metric with up to five statistics in a call. `inferwatch cost --actual` says which one your bill follows.',
      ),
    )
    .withPanel(
      timeseries(
        'GetMetricData cost per day (USD)',
        'currencyUSD',
        [
          query(`sum by (account_id, region, billing) (increase(inferwatch_bridge_cloudwatch_metrics_requested_total{${SCOPE}}[1d])) / 1000 * ${USD_PER_1000_METRICS}`, 'last 24 h {{account_id}} {{region}} {{billing}}'),
          query(`sum by (account_id, region, billing) (rate(inferwatch_bridge_cloudwatch_metrics_requested_total{${SCOPE}}[1h])) * 86400 / 1000 * ${USD_PER_1000_METRICS}`, 'at the last hour\'s pace {{account_id}} {{region}} {{billing}}'),
        ],
        `Metrics requested at $${USD_PER_1000_METRICS} per 1,000 (us-east-1 list price), one line per billing reading: the bill is one of them, never their sum.`,
      ),
    )
    .withPanel(
      timeseries(
        'Samples written per hour',
        'short',
        [query(perHour('inferwatch_bridge_samples_written_total', BY_TARGET), '{{account_id}} {{region}}')],
        'What the workspace ingests and bills per sample.',
      ),
    )
    .withPanel(
      timeseries(
        'Active series and queries',
        'short',
        [
          query(latest('max', 'inferwatch_bridge_series_active', SCOPE, BY_TARGET), 'series written {{account_id}} {{region}}'),
          query(latest('max', 'inferwatch_bridge_queries', SCOPE, BY_TARGET), 'GetMetricData queries {{account_id}} {{region}}'),
        ],
        "Series count against the workspace's active-series limit; queries per run times runs per month is the metrics billed.",
      ),
    )
    .withPanel(
      timeseries('API calls per hour', 'short', [
        query(perHour('inferwatch_bridge_cloudwatch_requests_total', ['api']), 'CloudWatch {{api}}'),
        query(perHour('inferwatch_bridge_sagemaker_requests_total', ['api']), 'SageMaker {{api}}'),
      ]),
    )
    .build();
}
