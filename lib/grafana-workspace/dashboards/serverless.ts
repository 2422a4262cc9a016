import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { base, BRIDGE_DATA_OFFSET, ENDPOINT, latest, PER_VARIANT, query, sumRate, timeseries } from './shared';

const VARIANT = `${ENDPOINT}, ${PER_VARIANT}`;
const BY_VARIANT = ['endpoint_name', 'variant_name'];

/** Serverless endpoints: cold starts and how much of the concurrency (maximum or provisioned) is in use. */
export function serverlessDashboard(): Dashboard {
  return base('inferwatch-serverless', 'inferwatch / Serverless endpoints', 'aws_sagemaker_serverless_concurrent_executions_utilization_ratio', 'listed')
    .withRow(new RowBuilder('Cold starts'))
    .withPanel(
      timeseries(
        'Cold-start time',
        's',
        [query(latest('max', 'aws_sagemaker_model_setup_seconds', VARIANT, BY_VARIANT), '{{endpoint_name}} / {{variant_name}}')],
        'ModelSetupTime: the mean time to launch compute in the newest minute that had a cold start.',
      ),
    )
    .withPanel(
      timeseries(
        'Minutes with a cold start, per hour',
        'short',
        [query(`sum by (endpoint_name, variant_name) (count_over_time(aws_sagemaker_model_setup_seconds{${VARIANT}}[1h] offset ${BRIDGE_DATA_OFFSET}))`, '{{endpoint_name}} / {{variant_name}}')],
        'CloudWatch has a ModelSetupTime datapoint only in minutes with a cold start.',
      ),
    )
    .withRow(new RowBuilder('Concurrency'))
    .withPanel(
      timeseries('Concurrency in use', 'percentunit', [
        query(latest('max', 'aws_sagemaker_serverless_concurrent_executions_utilization_ratio', VARIANT, BY_VARIANT), 'of maximum {{endpoint_name}} / {{variant_name}}'),
        query(latest('max', 'aws_sagemaker_serverless_provisioned_concurrency_utilization_ratio', VARIANT, BY_VARIANT), 'of provisioned {{endpoint_name}} / {{variant_name}}'),
      ]),
    )
    .withPanel(timeseries('Provisioned concurrency executions', 'short', [query(latest('max', 'aws_sagemaker_serverless_provisioned_concurrency_executions', VARIANT, BY_VARIANT), '{{endpoint_name}} / {{variant_name}}')]))
    .withPanel(
      timeseries(
        'Invocations per second: provisioned and spillover',
        'reqps',
        [
          query(sumRate('aws_sagemaker_serverless_provisioned_concurrency_invocations_total', VARIANT, BY_VARIANT), 'provisioned {{endpoint_name}} / {{variant_name}}'),
          query(sumRate('aws_sagemaker_serverless_provisioned_concurrency_spillover_invocations_total', VARIANT, BY_VARIANT), 'spillover {{endpoint_name}} / {{variant_name}}'),
        ],
        'Spillover: requests beyond the provisioned concurrency, served on demand and open to cold starts.',
      ),
    )
    .build();
}
