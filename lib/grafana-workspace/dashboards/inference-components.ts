import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { base, ENDPOINT, latencyQuantile, latest, PER_VARIANT, query, SCOPE, sumRate, timeseries, variable } from './shared';

/** CloudWatch keys component metrics by InferenceComponentName alone: no endpoint_name, so they filter by component. */
const COMPONENT = `${SCOPE}, inference_component_name=~"$inference_component_name", ${PER_VARIANT}`;
const BY_COMPONENT = ['inference_component_name'];

/**
 * Endpoints that host inference components: copies (from DescribeInferenceComponent), the load on each copy, and
 * utilisation normalised to what each component reserved.
 */
export function inferenceComponentsDashboard(): Dashboard {
  const perComponent = (metric: string, legend: string) => query(latest('max', metric, COMPONENT, BY_COMPONENT), `${legend} {{inference_component_name}}`);
  const perEndpoint = (metric: string, legend: string) => query(latest('max', metric, `${ENDPOINT}, ${PER_VARIANT}`, ['endpoint_name']), `${legend} {{endpoint_name}}`);
  return base('inferwatch-inference-components', 'inferwatch / Inference components', 'aws_sagemaker_endpoint_cpu_reservation_ratio', 'listed')
    .withVariable(variable('inference_component_name', 'Component', 'aws_sagemaker_invocations_per_copy_total', SCOPE))
    .withRow(new RowBuilder('Copies and load'))
    .withPanel(
      timeseries(
        'Copies: current and desired',
        'short',
        [
          query(latest('max', 'aws_sagemaker_inference_component_current_copies', `${COMPONENT}, endpoint_name=~"$endpoint_name"`, ['endpoint_name', ...BY_COMPONENT]), 'current {{inference_component_name}} on {{endpoint_name}}'),
          query(latest('max', 'aws_sagemaker_inference_component_desired_copies', `${COMPONENT}, endpoint_name=~"$endpoint_name"`, ['endpoint_name', ...BY_COMPONENT]), 'desired {{inference_component_name}} on {{endpoint_name}}'),
        ],
        'RuntimeConfig.CurrentCopyCount and DesiredCopyCount from DescribeInferenceComponent: CloudWatch has no metric for them.',
      ),
    )
    .withPanel(timeseries('Invocations per second', 'reqps', [query(sumRate('aws_sagemaker_invocations_total', `${COMPONENT}, inference_component_name!=""`, BY_COMPONENT), '{{inference_component_name}}')]))
    .withPanel(
      timeseries(
        'Invocations per copy per second',
        'reqps',
        [query(sumRate('aws_sagemaker_invocations_per_copy_total', COMPONENT, BY_COMPONENT), '{{inference_component_name}}')],
        'CloudWatch divides each request by the copies serving: the load one copy carries, the figure to scale copies on.',
      ),
    )
    .withPanel(timeseries('Concurrent requests per copy', 'short', [perComponent('aws_sagemaker_concurrent_requests_per_copy', 'most')]))
    .withPanel(timeseries('p99 model latency per component', 's', [query(latencyQuantile('aws_sagemaker_model_latency_seconds', 0.99, `${COMPONENT}, inference_component_name!=""`, BY_COMPONENT), '{{inference_component_name}}')]))
    .withRow(new RowBuilder('Utilisation'))
    .withPanel(
      timeseries(
        'Normalised utilisation per component',
        'percentunit',
        [
          perComponent('aws_sagemaker_inference_component_cpu_utilization_ratio', 'CPU'),
          perComponent('aws_sagemaker_inference_component_memory_utilization_ratio', 'memory'),
          perComponent('aws_sagemaker_inference_component_gpu_utilization_ratio', 'GPU'),
          perComponent('aws_sagemaker_inference_component_gpu_memory_utilization_ratio', 'GPU memory'),
        ],
        'Over what the component reserved (or its limit when it reserved nothing): 1 is all of it.',
      ),
    )
    .withPanel(
      timeseries('GPU per instance and accelerator (enhanced metrics)', 'percentunit', [
        query(
          latest('max', 'aws_sagemaker_inference_component_gpu_utilization_ratio', `${SCOPE}, inference_component_name=~"$inference_component_name", instance_id!=""`, [...BY_COMPONENT, 'instance_id', 'accelerator_id']),
          '{{inference_component_name}} {{instance_id}} GPU {{accelerator_id}}',
        ),
      ]),
    )
    .withPanel(
      timeseries(
        'Endpoint: reserved',
        'percentunit',
        [perEndpoint('aws_sagemaker_endpoint_cpu_reservation_ratio', 'CPU'), perEndpoint('aws_sagemaker_endpoint_gpu_reservation_ratio', 'GPU'), perEndpoint('aws_sagemaker_endpoint_memory_reservation_ratio', 'memory')],
        "The share of the endpoint's instances that its components reserve: room left for more copies.",
      ),
    )
    .withPanel(
      timeseries('Endpoint: normalised utilisation', 'percentunit', [
        perEndpoint('aws_sagemaker_endpoint_cpu_utilization_normalized_ratio', 'CPU'),
        perEndpoint('aws_sagemaker_endpoint_gpu_utilization_normalized_ratio', 'GPU'),
        perEndpoint('aws_sagemaker_endpoint_gpu_memory_utilization_normalized_ratio', 'GPU memory'),
      ]),
    )
    .build();
}
