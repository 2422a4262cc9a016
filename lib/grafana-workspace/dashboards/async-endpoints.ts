import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { base, ENDPOINT, latencyQuantile, latest, meanLatency, PER_VARIANT, query, sumRate, timeseries } from './shared';

const VARIANT = `${ENDPOINT}, ${PER_VARIANT}`;
const BY_ENDPOINT = ['endpoint_name'];

/** Asynchronous endpoints: the queue (CloudWatch keys it by EndpointName alone), how long requests wait, what fails. */
export function asyncEndpointsDashboard(): Dashboard {
  const failures = (metric: string, legend: string) => query(sumRate(metric, VARIANT, BY_ENDPOINT), `${legend} {{endpoint_name}}`);
  return base('inferwatch-async', 'inferwatch / Asynchronous endpoints', 'aws_sagemaker_async_backlog_size', 'listed')
    .withRow(new RowBuilder('Backlog'))
    .withPanel(
      timeseries('Backlog', 'short', [
        query(latest('max', 'aws_sagemaker_async_backlog_size', ENDPOINT, BY_ENDPOINT), 'queued {{endpoint_name}}'),
        query(latest('max', 'aws_sagemaker_async_backlog_size_per_instance', ENDPOINT, BY_ENDPOINT), 'per instance {{endpoint_name}}'),
      ]),
    )
    .withPanel(timeseries('Age of the oldest request', 's', [query(latest('max', 'aws_sagemaker_async_oldest_request_age_seconds', ENDPOINT, BY_ENDPOINT), '{{endpoint_name}}')]))
    .withPanel(
      timeseries(
        'Backlog with no capacity',
        'short',
        [query(latest('max', 'aws_sagemaker_async_backlog_without_capacity', ENDPOINT, BY_ENDPOINT), '{{endpoint_name}}')],
        '1 while requests wait and no instance runs: an endpoint scaled to zero that has not scaled out yet.',
      ),
    )
    .withPanel(timeseries('Processed per second', 'reqps', [query(sumRate('aws_sagemaker_async_invocations_processed_total', VARIANT, BY_ENDPOINT), '{{endpoint_name}}')]))
    .withRow(new RowBuilder('Time and failures'))
    .withPanel(
      timeseries('p99 time in backlog and total processing time', 's', [
        query(latencyQuantile('aws_sagemaker_async_time_in_backlog_seconds', 0.99, VARIANT, BY_ENDPOINT), 'in backlog {{endpoint_name}}'),
        query(latencyQuantile('aws_sagemaker_async_total_processing_seconds', 0.99, VARIANT, BY_ENDPOINT), 'total {{endpoint_name}}'),
      ]),
    )
    .withPanel(
      timeseries('Mean S3 download and upload time', 's', [
        query(meanLatency('aws_sagemaker_async_request_download_latency_seconds', VARIANT, BY_ENDPOINT), 'request download {{endpoint_name}}'),
        query(meanLatency('aws_sagemaker_async_response_upload_latency_seconds', VARIANT, BY_ENDPOINT), 'response upload {{endpoint_name}}'),
      ]),
    )
    .withPanel(
      timeseries(
        'Failures per second',
        'reqps',
        [
          failures('aws_sagemaker_async_invocation_failures_total', 'invocation'),
          failures('aws_sagemaker_async_request_download_failures_total', 'request download'),
          failures('aws_sagemaker_async_response_upload_failures_total', 'response upload'),
          failures('aws_sagemaker_async_notification_failures_total', 'notification'),
          failures('aws_sagemaker_async_expired_requests_total', 'expired'),
        ],
        'Expired: requests that waited longer than their RequestTTL. Notification: the SNS success or error topic refused the message.',
      ),
    )
    .build();
}
