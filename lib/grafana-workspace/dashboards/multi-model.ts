import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { base, ENDPOINT, latest, meanLatency, PER_VARIANT, query, sumRate, timeseries } from './shared';

const VARIANT = `${ENDPOINT}, ${PER_VARIANT}`;
const BY_VARIANT = ['endpoint_name', 'variant_name'];

/** Multi-model endpoints: how often a request finds its model loaded, and what loading one costs. */
export function multiModelDashboard(): Dashboard {
  const mean = (family: string, legend: string) => query(meanLatency(family, VARIANT, BY_VARIANT), `${legend} {{endpoint_name}} / {{variant_name}}`);
  return base('inferwatch-multi-model', 'inferwatch / Multi-model endpoints', 'aws_sagemaker_model_cache_hit_ratio', 'listed')
    .withRow(new RowBuilder('Cache'))
    .withPanel(
      timeseries(
        'Cache hit ratio',
        'percentunit',
        [query(latest('min', 'aws_sagemaker_model_cache_hit_ratio', VARIANT, BY_VARIANT), '{{endpoint_name}} / {{variant_name}}')],
        'Requests whose model was already loaded. Falling: more models than the instances hold, or traffic spread wider.',
      ),
    )
    .withPanel(timeseries('Models loaded', 'short', [query(latest('max', 'aws_sagemaker_endpoint_loaded_models', VARIANT, BY_VARIANT), '{{endpoint_name}} / {{variant_name}}')]))
    .withPanel(timeseries('Model loads per second', 'short', [query(sumRate('aws_sagemaker_model_loading_seconds_count', VARIANT, BY_VARIANT), '{{endpoint_name}} / {{variant_name}}')]))
    .withRow(new RowBuilder('Loading'))
    .withPanel(
      timeseries(
        'Mean time per model load',
        's',
        [
          mean('aws_sagemaker_model_loading_wait_seconds', 'waiting'),
          mean('aws_sagemaker_model_downloading_seconds', 'downloading'),
          mean('aws_sagemaker_model_loading_seconds', 'loading'),
          mean('aws_sagemaker_model_unloading_seconds', 'unloading'),
        ],
        'Waiting: a request held until its model is downloaded and loaded. CloudWatch has no percentiles for these.',
      ),
    )
    .build();
}
