import { Catalog, type MetricMapping } from '../../../../lambda/bridge/catalog/catalog';
import { DEFAULT_NAMESPACES } from '../../../../contract/bridge-config';
import { ASYNC_FAILURE_COUNTERS, ASYNC_LATENCY_SUMMARIES, COMPONENT_ENDPOINT_GAUGES, COMPONENT_UTILISATION, MME_LOADING_SUMMARIES } from '../../../support/harness/shape-metrics';

const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
const SM = 'AWS/SageMaker';
const ENDPOINTS = '/aws/sagemaker/Endpoints';
const COMPONENTS = '/aws/sagemaker/InferenceComponents';

/** [statistic, series name, kind, scale, quantile] of each series a metric becomes. */
function shapeOf(m: MetricMapping): Array<[string, string, string, number, string | undefined]> {
  return m.series.map((s) => [s.stat, s.name, s.kind, s.scale, s.constLabels.quantile]);
}

const gauge = (namespace: string, metric: string) => shapeOf(catalog.resolve(namespace, metric));

describe('catalog: inference components', () => {
  test('the component namespace is read by default', () => {
    expect(DEFAULT_NAMESPACES).toContain(COMPONENTS);
  });

  test('per-copy invocations are a counter whose HELP says it is normalised; concurrency per copy is a Maximum gauge', () => {
    expect(gauge(SM, 'InvocationsPerCopy')).toEqual([['Sum', 'aws_sagemaker_invocations_per_copy_total', 'counter', 1, undefined]]);
    expect(catalog.familyOf('aws_sagemaker_invocations_per_copy_total')?.help).toMatch(/^Per-copy normalised invocations .*not a count of requests/);
    expect(gauge(SM, 'ConcurrentRequestsPerCopy')).toEqual([['Maximum', 'aws_sagemaker_concurrent_requests_per_copy', 'gauge', 1, undefined]]);
  });

  test('normalised utilisation and reservations are ratios', () => {
    for (const [metric, name] of COMPONENT_UTILISATION) {
      expect(gauge(COMPONENTS, metric)).toEqual([['Average', name, 'gauge', 0.01, undefined]]);
    }
    for (const [metric, name] of COMPONENT_ENDPOINT_GAUGES) {
      expect(gauge(ENDPOINTS, metric)).toEqual([['Average', name, 'gauge', 0.01, undefined]]);
    }
  });

  test('component, enhanced-metric and variant dimensions become labels', () => {
    for (const namespace of [SM, ENDPOINTS, COMPONENTS]) {
      const m = catalog.resolve(namespace, 'Invocations');
      expect(['InferenceComponentName', 'InstanceId', 'ContainerId', 'AcceleratorId', 'EndpointName', 'VariantName'].map((d) => m.labelFor(d))).toEqual([
        'inference_component_name',
        'instance_id',
        'container_id',
        'accelerator_id',
        'endpoint_name',
        'variant_name',
      ]);
    }
  });
});

describe('catalog: asynchronous endpoints', () => {
  test('backlog gauges', () => {
    expect(gauge(SM, 'ApproximateBacklogSize')).toEqual([['Average', 'aws_sagemaker_async_backlog_size', 'gauge', 1, undefined]]);
    expect(gauge(SM, 'ApproximateBacklogSizePerInstance')).toEqual([['Average', 'aws_sagemaker_async_backlog_size_per_instance', 'gauge', 1, undefined]]);
    expect(gauge(SM, 'ApproximateAgeOfOldestRequest')).toEqual([['Maximum', 'aws_sagemaker_async_oldest_request_age_seconds', 'gauge', 1, undefined]]);
    expect(gauge(SM, 'HasBacklogWithoutCapacity')).toEqual([['Maximum', 'aws_sagemaker_async_backlog_without_capacity', 'gauge', 1, undefined]]);
  });

  test('failures are counters', () => {
    for (const [metric, name] of ASYNC_FAILURE_COUNTERS) {
      expect(gauge(SM, metric)).toEqual([['Sum', name, 'counter', 1, undefined]]);
    }
  });

  test('InvocationsProcesssed (as AWS spells it) and InvocationsProcessed are one counter', () => {
    const want = [['Sum', 'aws_sagemaker_async_invocations_processed_total', 'counter', 1, undefined]];
    expect(gauge(SM, 'InvocationsProcesssed')).toEqual(want);
    expect(gauge(SM, 'InvocationsProcessed')).toEqual(want);
  });

  test('latencies are summaries in seconds: microseconds, except TotalProcessingTime in milliseconds', () => {
    const summaries = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'summary');
    for (const [metric, name, scale] of ASYNC_LATENCY_SUMMARIES) {
      expect(shapeOf(summaries.resolve(SM, metric))).toEqual([
        ['Sum', `${name}_sum`, 'counter', scale, undefined],
        ['SampleCount', `${name}_count`, 'counter', 1, undefined],
        ['p50', name, 'gauge', scale, '0.5'],
        ['p90', name, 'gauge', scale, '0.9'],
        ['p99', name, 'gauge', scale, '0.99'],
      ]);
      expect(summaries.familyOf(name)?.type).toBe('summary');
      // Histograms by default: CloudWatch offers TC for them as it offers percentiles.
      expect(catalog.familyOf(`${name}_bucket`)?.type).toBe('histogram');
    }
    expect(summaries.familyOf('aws_sagemaker_async_total_processing_seconds')?.help).toContain('CloudWatch unit Milliseconds, multiplied by 0.001');
  });
});

describe('catalog: serverless endpoints', () => {
  test('ModelSetupTime (no Sum statistic in CloudWatch) is a gauge in seconds', () => {
    expect(gauge(SM, 'ModelSetupTime')).toEqual([['Average', 'aws_sagemaker_model_setup_seconds', 'gauge', 1e-6, undefined]]);
    expect(catalog.familyOf('aws_sagemaker_model_setup_seconds')?.help).toMatch(/cold start.*CloudWatch unit Microseconds, multiplied by 0.000001/);
  });

  test('concurrency gauges and provisioned-concurrency counters', () => {
    expect(gauge(SM, 'ServerlessConcurrentExecutionsUtilization')).toEqual([['Average', 'aws_sagemaker_serverless_concurrent_executions_utilization_ratio', 'gauge', 1, undefined]]);
    expect(gauge(SM, 'ServerlessProvisionedConcurrencyExecutions')).toEqual([['Maximum', 'aws_sagemaker_serverless_provisioned_concurrency_executions', 'gauge', 1, undefined]]);
    expect(gauge(SM, 'ServerlessProvisionedConcurrencyUtilization')).toEqual([['Average', 'aws_sagemaker_serverless_provisioned_concurrency_utilization_ratio', 'gauge', 1, undefined]]);
    expect(gauge(SM, 'ServerlessProvisionedConcurrencyInvocations')).toEqual([['Sum', 'aws_sagemaker_serverless_provisioned_concurrency_invocations_total', 'counter', 1, undefined]]);
    expect(gauge(SM, 'ServerlessProvisionedConcurrencySpilloverInvocations')).toEqual([
      ['Sum', 'aws_sagemaker_serverless_provisioned_concurrency_spillover_invocations_total', 'counter', 1, undefined],
    ]);
  });
});

describe('catalog: multi-model endpoints', () => {
  test('loading times are summaries in seconds with no quantiles (CloudWatch offers no percentiles for them)', () => {
    for (const [metric, name] of MME_LOADING_SUMMARIES) {
      expect(gauge(SM, metric)).toEqual([
        ['Sum', `${name}_sum`, 'counter', 1e-6, undefined],
        ['SampleCount', `${name}_count`, 'counter', 1, undefined],
      ]);
    }
  });

  test('the cache-hit Average is a ratio; loaded models a gauge', () => {
    expect(gauge(SM, 'ModelCacheHit')).toEqual([['Average', 'aws_sagemaker_model_cache_hit_ratio', 'gauge', 1, undefined]]);
    expect(gauge(ENDPOINTS, 'LoadedModelCount')).toEqual([['Maximum', 'aws_sagemaker_endpoint_loaded_models', 'gauge', 1, undefined]]);
  });
});

describe('catalog: real-time concurrency and normalised counts', () => {
  test('ConcurrentRequestsPerModel is a Maximum gauge', () => {
    expect(gauge(SM, 'ConcurrentRequestsPerModel')).toEqual([['Maximum', 'aws_sagemaker_concurrent_requests_per_model', 'gauge', 1, undefined]]);
  });

  test('InvocationsPerInstance says in its name and HELP that it is a per-instance normalised count', () => {
    expect(gauge(SM, 'InvocationsPerInstance')[0]?.[1]).toBe('aws_sagemaker_invocations_per_instance_total');
    expect(catalog.familyOf('aws_sagemaker_invocations_per_instance_total')?.help).toMatch(/^Per-instance normalised invocations, not a count of requests/);
  });

  test('metrics of other shapes stay out of the real-time list the cost estimate reads', () => {
    const realTime = new Map(catalog.listedMetrics(true));
    expect(realTime.get(SM)).toEqual(expect.arrayContaining(['Invocations', 'ConcurrentRequestsPerModel']));
    for (const metric of ['InvocationsPerCopy', 'ApproximateBacklogSize', 'ModelSetupTime', 'ModelCacheHit']) expect(realTime.get(SM)).not.toContain(metric);
    expect(realTime.get(ENDPOINTS)).not.toContain('CPUReservation');
    expect(new Map(catalog.listedMetrics()).get(SM)).toContain('ApproximateBacklogSize');
  });
});
