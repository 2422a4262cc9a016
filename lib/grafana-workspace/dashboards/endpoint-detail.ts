import { RowBuilder, type Dashboard, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { base, bridgeIncrease, ENDPOINT, latencyQuantile, latest, meanLatency, PER_VARIANT, query, rateRatio, stat, sumRate, timeseries } from './shared';

/** Per-variant series of endpoints: not the per-instance ones, not the components (they have no endpoint_name). */
const VARIANT = `${ENDPOINT}, endpoint_name!="", ${PER_VARIANT}`;
const BY_VARIANT = ['endpoint_name', 'variant_name'];

/**
 * Streamed responses (InvokeEndpointWithResponseStream), and the traffic of each availability zone: CloudWatch's
 * per-zone set, which a question about zones selects on its own (`availability_zone!=""`).
 */
function withStreamsAndZones(dashboard: DashboardBuilder): DashboardBuilder {
  return dashboard
    .withRow(new RowBuilder('Streamed responses and zones'))
    .withPanel(
      timeseries(
        'Time to first chunk',
        's',
        [0.5, 0.99].map((q) => query(latencyQuantile('aws_sagemaker_first_chunk_latency_seconds', q, VARIANT, BY_VARIANT), `p${Math.round(q * 100)} {{endpoint_name}} / {{variant_name}}`)),
        'FirstChunkLatency: from the request to the first chunk of a streamed response. Only endpoints that stream publish it.',
      ),
    )
    .withPanel(
      timeseries('Mean time to first chunk: model and SageMaker', 's', [
        query(meanLatency('aws_sagemaker_first_chunk_model_latency_seconds', VARIANT, ['endpoint_name']), 'model {{endpoint_name}}'),
        query(meanLatency('aws_sagemaker_first_chunk_overhead_latency_seconds', VARIANT, ['endpoint_name']), 'overhead {{endpoint_name}}'),
      ]),
    )
    .withPanel(
      timeseries(
        'Mid-stream errors',
        'percentunit',
        [query(rateRatio('aws_sagemaker_mid_stream_errors_total', 'aws_sagemaker_first_chunk_latency_seconds_count', VARIANT, ['endpoint_name']), '{{endpoint_name}}')],
        'Share of started streams (each had a first chunk) that failed after the response began: no 4XX or 5XX counts them.',
      ),
    )
    .withPanel(
      timeseries(
        'Invocations per second by availability zone',
        'reqps',
        [query(sumRate('aws_sagemaker_invocations_total', `${ENDPOINT}, endpoint_name!="", availability_zone!=""`, ['endpoint_name', 'availability_zone', 'instance_type']), '{{endpoint_name}} {{availability_zone}} ({{instance_type}})')],
        'CloudWatch publishes invocations per zone and instance type beside the per-variant series: an uneven spread shows here.',
      ),
    );
}

/** One endpoint (or several) variant by variant: traffic, errors, latency, capacity. Bridge data: rates end 10 minutes back. */
export function endpointDetailDashboard(): Dashboard {
  const errorRatio = (metric: string, legend: string) => query(rateRatio(metric, 'aws_sagemaker_invocations_total', VARIANT, ['endpoint_name']), legend);
  const trafficAndLatency = base('inferwatch-sagemaker', 'inferwatch / Endpoint detail', 'aws_sagemaker_endpoint_info', 'any')
    .withRow(new RowBuilder('Traffic and errors'))
    .withPanel(timeseries('Invocations per second', 'reqps', [query(sumRate('aws_sagemaker_invocations_total', VARIANT, BY_VARIANT), '{{endpoint_name}} / {{variant_name}}')]))
    .withPanel(
      timeseries('Error ratio', 'percentunit', [
        errorRatio('aws_sagemaker_invocation_4xx_errors_total', '4XX {{endpoint_name}}'),
        errorRatio('aws_sagemaker_invocation_5xx_errors_total', '5XX {{endpoint_name}}'),
        errorRatio('aws_sagemaker_invocation_model_errors_total', 'model {{endpoint_name}}'),
      ]),
    )
    .withPanel(stat('Invocations in range', 'short', query(`sum by (endpoint_name) (${bridgeIncrease(`aws_sagemaker_invocations_total{${VARIANT}}`, '$__range')})`, '{{endpoint_name}}')))
    .withPanel(
      timeseries(
        'Concurrent requests per model',
        'short',
        [query(latest('max', 'aws_sagemaker_concurrent_requests_per_model', VARIANT, BY_VARIANT), '{{endpoint_name}} / {{variant_name}}')],
        'The most in flight at once in the period; CloudWatch publishes it every 10 seconds.',
      ),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeseries(
        'Model latency percentiles',
        's',
        [0.5, 0.9, 0.99].map((q) => query(latencyQuantile('aws_sagemaker_model_latency_seconds', q, VARIANT, BY_VARIANT), `p${Math.round(q * 100)} {{endpoint_name}} / {{variant_name}}`)),
      ),
    )
    .withPanel(
      timeseries('p99 model latency per endpoint', 's', [query(latencyQuantile('aws_sagemaker_model_latency_seconds', 0.99, VARIANT, ['endpoint_name']), '{{endpoint_name}}')], 'Every variant of the endpoint together where the bridge writes histograms.'),
    )
    .withPanel(
      timeseries('Mean model and overhead latency', 's', [
        query(meanLatency('aws_sagemaker_model_latency_seconds', VARIANT, ['endpoint_name']), 'model {{endpoint_name}}'),
        query(meanLatency('aws_sagemaker_overhead_latency_seconds', VARIANT, ['endpoint_name']), 'overhead {{endpoint_name}}'),
      ]),
    );
  return withStreamsAndZones(trafficAndLatency)
    .withRow(new RowBuilder('Capacity'))
    .withPanel(
      timeseries(
        'CPU, memory and disk',
        'percentunit',
        [
          query(latest('max', 'aws_sagemaker_endpoint_cpu_utilization_ratio', VARIANT, BY_VARIANT), 'CPU {{endpoint_name}} / {{variant_name}}'),
          query(latest('max', 'aws_sagemaker_endpoint_memory_utilization_ratio', VARIANT, BY_VARIANT), 'memory {{endpoint_name}} / {{variant_name}}'),
          query(latest('max', 'aws_sagemaker_endpoint_disk_utilization_ratio', VARIANT, BY_VARIANT), 'disk {{endpoint_name}} / {{variant_name}}'),
        ],
        'CPU is summed over cores: 2 means two cores busy.',
      ),
    )
    .withPanel(
      timeseries(
        'Per instance and GPU (enhanced metrics)',
        'percentunit',
        [
          query(latest('max', 'aws_sagemaker_endpoint_cpu_utilization_ratio', `${ENDPOINT}, instance_id!=""`, ['endpoint_name', 'instance_id']), 'CPU {{endpoint_name}} {{instance_id}}'),
          query(latest('max', 'aws_sagemaker_endpoint_gpu_utilization_ratio', `${ENDPOINT}, availability_zone=""`, ['endpoint_name', 'variant_name', 'instance_id', 'accelerator_id']), 'GPU {{endpoint_name}} / {{variant_name}} {{instance_id}} {{accelerator_id}}'),
        ],
        'Per-instance series exist with MetricsConfig.EnableEnhancedMetrics; GPU per accelerator where the instance has GPUs.',
      ),
    )
    .withPanel(timeseries('Instances: current and desired', 'short', [query(latest('max', 'aws_sagemaker_variant_instances', ENDPOINT, [...BY_VARIANT, 'state']), '{{endpoint_name}} / {{variant_name}} {{state}}')]))
    .withPanel(timeseries('Status and instance type', 'short', [query(latest('max', 'aws_sagemaker_endpoint_info', ENDPOINT, [...BY_VARIANT, 'endpoint_status', 'instance_type']), '{{endpoint_name}} / {{variant_name}} {{endpoint_status}} {{instance_type}}')]))
    .build();
}
