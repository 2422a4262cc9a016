import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { bridgeIncrease, bridgeLatest, latencyQuantile, latest, PER_VARIANT, query, rateRatio, SCOPE, stat, sumRate, timeseries, base } from './shared';

const FLEET = `${SCOPE}, ${PER_VARIANT}`;
/** An endpoint's name is unique only within its account and region: two accounts' "prod" are two endpoints. */
const WHERE = ['account_id', 'region'];
const ENDPOINT_LEGEND = '{{endpoint_name}}{{inference_component_name}} ({{account_id}} {{region}})';

/** Every endpoint, component and host of every account and region on one page: where to look first. */
export function fleetOverviewDashboard(): Dashboard {
  const errorRatio = (metric: string, legend: string) => query(rateRatio(metric, 'aws_sagemaker_invocations_total', FLEET, []), legend);
  return base('inferwatch-fleet', 'inferwatch / Fleet overview', 'aws_sagemaker_endpoint_info', 'none')
    .withRow(new RowBuilder('Traffic, errors, latency'))
    .withPanel(
      timeseries(
        'Requests per second',
        'reqps',
        [
          // A series carries either endpoint_name (a variant) or inference_component_name (a component), never both.
          query(sumRate('aws_sagemaker_invocations_total', FLEET, [...WHERE, 'endpoint_name', 'inference_component_name']), ENDPOINT_LEGEND),
          query(sumRate('aws_sagemaker_async_invocations_processed_total', FLEET, [...WHERE, 'endpoint_name']), '{{endpoint_name}} ({{account_id}} {{region}}, async, processed)'),
        ],
        'By endpoint, or by inference component where the endpoint hosts components (CloudWatch keys those by component alone).',
      ),
    )
    .withPanel(
      timeseries('Error ratio by class', 'percentunit', [
        errorRatio('aws_sagemaker_invocation_5xx_errors_total', '5XX'),
        errorRatio('aws_sagemaker_invocation_model_errors_total', 'model'),
        errorRatio('aws_sagemaker_invocation_4xx_errors_total', '4XX'),
      ]),
    )
    .withPanel(
      timeseries(
        'p99 model latency: fleet and per account',
        's',
        [
          query(latencyQuantile('aws_sagemaker_model_latency_seconds', 0.99, FLEET, []), 'fleet'),
          query(latencyQuantile('aws_sagemaker_model_latency_seconds', 0.99, FLEET, ['account_id']), 'account {{account_id}}'),
        ],
        'From the latency histograms where the bridge writes them: a true p99 of every request. With summaries only, the largest p99 of any variant.',
      ),
    )
    .withPanel(
      timeseries('p99 model latency per endpoint', 's', [
        query(latencyQuantile('aws_sagemaker_model_latency_seconds', 0.99, FLEET, [...WHERE, 'endpoint_name', 'inference_component_name']), ENDPOINT_LEGEND),
      ]),
    )
    .withPanel(stat('Requests in range', 'short', query(`sum (${bridgeIncrease(`aws_sagemaker_invocations_total{${FLEET}}`, '$__range')})`, 'requests')))
    .withRow(new RowBuilder('Capacity and health'))
    .withPanel(
      timeseries(
        'Endpoints by status',
        'short',
        [query(`count by (endpoint_status) (count by (account_id, region, endpoint_name, endpoint_status) (${bridgeLatest(`aws_sagemaker_endpoint_info{${SCOPE}}`)}))`, '{{endpoint_status}}')],
        'Anything but InService needs a look: Creating, Updating, RollingBack, Failed, OutOfService.',
      ),
    )
    .withPanel(timeseries('Instances: current and desired', 'short', [query(latest('sum', 'aws_sagemaker_variant_instances', SCOPE, ['state']), '{{state}}')]))
    .withPanel(timeseries('Busiest NeuronCore per host', 'percentunit', [query(latest('max', 'neuroncore_utilization_ratio', SCOPE, ['instance_id']), '{{instance_id}}')]))
    .withPanel(timeseries('Asynchronous backlog', 'short', [query(latest('sum', 'aws_sagemaker_async_backlog_size', SCOPE, [...WHERE, 'endpoint_name']), '{{endpoint_name}} ({{account_id}} {{region}})')]))
    .withPanel(timeseries('Bridge lag behind real time', 's', [query(latest('max', 'inferwatch_bridge_lag_seconds', SCOPE, ['account_id', 'region']), '{{account_id}} {{region}}')]))
    .build();
}
