import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog, loadDefaultCatalog } from '../../../../lambda/bridge/catalog/catalog';
import { CatalogNamespaceSchema } from '../../../../contract/catalog-schema';

const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
const summaries = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'summary');

describe('Catalog', () => {
  test('SageMaker invocation counters read Sum and end in _total', () => {
    const m = catalog.resolve('AWS/SageMaker', 'Invocation5XXErrors');
    expect(m.series).toEqual([{ stat: 'Sum', name: 'aws_sagemaker_invocation_5xx_errors_total', kind: 'counter', scale: 1, constLabels: {} }]);
    expect(m.labelFor('EndpointName')).toBe('endpoint_name');
    expect(m.labelFor('InferenceComponentName')).toBe('inference_component_name');
  });

  test('latency summary: in seconds, _sum and _count counters, quantile gauges', () => {
    const m = summaries.resolve('AWS/SageMaker', 'ModelLatency');
    expect(m.series.map((s) => [s.stat, s.name, s.kind, s.scale, s.constLabels.quantile])).toEqual([
      ['Sum', 'aws_sagemaker_model_latency_seconds_sum', 'counter', 1e-6, undefined],
      ['SampleCount', 'aws_sagemaker_model_latency_seconds_count', 'counter', 1, undefined],
      ['p50', 'aws_sagemaker_model_latency_seconds', 'gauge', 1e-6, '0.5'],
      ['p90', 'aws_sagemaker_model_latency_seconds', 'gauge', 1e-6, '0.9'],
      ['p99', 'aws_sagemaker_model_latency_seconds', 'gauge', 1e-6, '0.99'],
    ]);
  });

  test('latency histogram (the default): TC(:edge in µs) buckets in le order, +Inf from SampleCount, then _sum and _count', () => {
    const m = catalog.resolve('AWS/SageMaker', 'ModelLatency');
    const buckets = m.series.filter((s) => s.name === 'aws_sagemaker_model_latency_seconds_bucket');
    expect(buckets.every((s) => s.kind === 'counter' && s.scale === 1)).toBe(true);
    expect(buckets.map((s) => `${s.stat} ${s.constLabels.le}`)).toEqual([
      'TC(:5000) 0.005', 'TC(:10000) 0.01', 'TC(:25000) 0.025', 'TC(:50000) 0.05', 'TC(:100000) 0.1', 'TC(:250000) 0.25',
      'TC(:500000) 0.5', 'TC(:1000000) 1', 'TC(:2500000) 2.5', 'TC(:5000000) 5', 'TC(:10000000) 10', 'SampleCount +Inf',
    ]);
    expect(m.series.slice(buckets.length).map((s) => [s.stat, s.name, s.kind, s.scale])).toEqual([
      ['Sum', 'aws_sagemaker_model_latency_seconds_sum', 'counter', 1e-6],
      ['SampleCount', 'aws_sagemaker_model_latency_seconds_count', 'counter', 1],
    ]);
    // TotalProcessingTime is in milliseconds: its edges (100 ms to an hour) in ms.
    const total = catalog.resolve('AWS/SageMaker', 'TotalProcessingTime').series;
    expect(total.filter((s) => s.constLabels.le !== undefined).map((s) => `${s.stat} ${s.constLabels.le}`)).toEqual([
      'TC(:100) 0.1', 'TC(:500) 0.5', 'TC(:1000) 1', 'TC(:5000) 5', 'TC(:10000) 10', 'TC(:30000) 30', 'TC(:60000) 60', 'TC(:300000) 300', 'TC(:900000) 900', 'TC(:3600000) 3600', 'SampleCount +Inf',
    ]);
    // No percentiles offered, so no TC: the multi-model loading times stay _sum and _count.
    expect(catalog.resolve('AWS/SageMaker', 'ModelLoadingTime').series.map((s) => s.stat)).toEqual(['Sum', 'SampleCount']);
  });

  test('latency both: the histogram keeps <name>, the quantiles move to the summary <name minus _seconds>_quantile_seconds', () => {
    const both = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'both');
    const series = both.resolve('AWS/SageMaker', 'OverheadLatency').series;
    expect(series.filter((s) => s.constLabels.quantile !== undefined).map((s) => [s.stat, s.name, s.constLabels.quantile])).toEqual([
      ['p50', 'aws_sagemaker_overhead_latency_quantile_seconds', '0.5'],
      ['p90', 'aws_sagemaker_overhead_latency_quantile_seconds', '0.9'],
      ['p99', 'aws_sagemaker_overhead_latency_quantile_seconds', '0.99'],
    ]);
    expect(series.filter((s) => s.name.endsWith('_bucket'))).toHaveLength(12);
    expect(both.familyOf('aws_sagemaker_overhead_latency_seconds_bucket')).toMatchObject({ family: 'aws_sagemaker_overhead_latency_seconds', type: 'histogram' });
    expect(both.familyOf('aws_sagemaker_overhead_latency_seconds_count')).toMatchObject({ family: 'aws_sagemaker_overhead_latency_seconds', type: 'histogram' });
    expect(both.familyOf('aws_sagemaker_overhead_latency_quantile_seconds')).toMatchObject({ family: 'aws_sagemaker_overhead_latency_quantile_seconds', type: 'summary' });
  });

  test('bucket edges: per catalog entry, ascending, only on histogram summaries', () => {
    const user = CatalogNamespaceSchema.parse({
      namespace: 'AWS/SageMaker',
      metrics: [{ metric: 'ModelLatency', type: 'summary', histogram: true, buckets: [0.002, 0.02, 0.2], name: 'aws_sagemaker_model_latency_seconds', scale: 0.000001 }],
    });
    const custom = Catalog.withDefaults([user], 'inferwatch', 'neuron_monitor');
    expect(custom.resolve('AWS/SageMaker', 'ModelLatency').series.filter((s) => s.name.endsWith('_bucket')).map((s) => `${s.stat} ${s.constLabels.le}`)).toEqual(['TC(:2000) 0.002', 'TC(:20000) 0.02', 'TC(:200000) 0.2', 'SampleCount +Inf']);
    const entry = (extra: object) => ({ namespace: 'X', metrics: [{ metric: 'A', type: 'summary', name: 'a_seconds', ...extra }] });
    expect(() => CatalogNamespaceSchema.parse(entry({ histogram: true, buckets: [0.1, 0.05] }))).toThrow('strictly ascending');
    expect(() => CatalogNamespaceSchema.parse(entry({ buckets: [0.1] }))).toThrow('buckets need');
    expect(() => CatalogNamespaceSchema.parse({ namespace: 'X', metrics: [{ metric: 'A', type: 'gauge', name: 'a', histogram: true }] })).toThrow('only summaries');
  });

  test('utilisation percentages become ratios', () => {
    expect(catalog.resolve('/aws/sagemaker/Endpoints', 'CPUUtilization').series[0]).toMatchObject({ name: 'aws_sagemaker_endpoint_cpu_utilization_ratio', scale: 0.01, stat: 'Average' });
  });

  test('the Neuron namespace follows the configured name and matches names loosely', () => {
    const custom = Catalog.withDefaults([], 'inferwatch', 'MyNeuron');
    expect(custom.resolve('MyNeuron', 'NeuronCore Utilization').series[0]?.name).toBe('neuroncore_utilization_ratio');
    expect(custom.resolve('MyNeuron', 'neuroncore_utilization').labelFor('NeuronCore')).toBe('neuroncore');
    expect(custom.resolve('MyNeuron', 'execution_errors').series[0]?.name).toBe('execution_errors_total');
    expect(custom.resolve('neuron_monitor', 'NeuronCoreUtilization').series[0]?.name).toBe('aws_neuron_monitor_neuron_core_utilization_average');
  });

  test('unknown metrics get aws_<namespace>_<metric>_<stat> gauges; unknown dimensions snake_case', () => {
    const m = catalog.resolve('AWS/SageMaker', 'FutureTime');
    expect(m.series).toEqual([{ stat: 'Average', name: 'aws_sagemaker_future_time_average', kind: 'gauge', scale: 1, constLabels: {} }]);
    expect(m.labelFor('TargetModel')).toBe('target_model');
    expect(catalog.resolve('Custom/Thing', 'QueueDepth').series[0]?.name).toBe('aws_custom_thing_queue_depth_average');
  });

  test('Neuron: pre-2.x Inference* names and the per-core memory gauges take the exporter names; unlisted ones a generic name that says neuron once', () => {
    const custom = Catalog.withDefaults([], 'inferwatch', 'Prod/Neuron Monitor');
    expect(custom.resolve('Prod/Neuron Monitor', 'InferenceErrors').series).toEqual([{ stat: 'Sum', name: 'execution_errors_total', kind: 'counter', scale: 1, constLabels: {} }]);
    expect(custom.resolve('Prod/Neuron Monitor', 'Inference Status').series[0]?.name).toBe('execution_status_total');
    expect(custom.resolve('Prod/Neuron Monitor', 'inference_latency').series[0]).toMatchObject({ name: 'execution_latency_seconds', stat: 'Average' });
    for (const kind of ['Constants', 'ModelCode', 'ModelSharedScratchpad', 'RuntimeMemory', 'Tensors']) {
      expect(custom.resolve('Prod/Neuron Monitor', `NeuronCore Memory Usage ${kind}`).series[0]).toMatchObject({ name: `neuroncore_memory_usage_${kind.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()}`, kind: 'gauge' });
    }
    expect(custom.resolve('Prod/Neuron Monitor', 'MatmulUtilization').series[0]?.name).toBe('aws_neuron_matmul_utilization_average');
    expect(custom.resolve('Prod/Neuron Monitor', 'NeuronDeviceTemperature').series[0]?.name).toBe('aws_neuron_device_temperature_average');
    expect(custom.resolve('Prod/Neuron Monitor', 'Neuron').series[0]?.name).toBe('aws_neuron_neuron_average');
    // Nothing snake_case can keep: a hash of the name, so two such metrics stay two series.
    const odd = [custom.resolve('Prod/Neuron Monitor', '利用率').series[0]?.name, custom.resolve('Prod/Neuron Monitor', '温度').series[0]?.name];
    expect(odd[0]).toMatch(/^aws_neuron_metric_[0-9a-f]{8}_average$/);
    expect(odd[1]).not.toBe(odd[0]);
    expect(custom.resolve('Prod/Neuron Monitor', 'MatmulUtilization').labelFor('RuntimeIndex')).toBe('runtime_index');
  });

  test('takeUnlisted: each metric no entry matches is handed out once, by namespace, with the name it got', () => {
    const fresh = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
    fresh.resolve('neuron_monitor', 'MatmulUtilization');
    fresh.resolve('neuron_monitor', 'NeuronCoreUtilization');
    fresh.resolve('AWS/SageMaker', 'FutureTime');
    fresh.resolve('neuron_monitor', 'DmaQueueDepth');
    fresh.familyOf('anything');
    expect(fresh.takeUnlisted()).toEqual([
      ['neuron_monitor', { DmaQueueDepth: 'aws_neuron_dma_queue_depth_average', MatmulUtilization: 'aws_neuron_matmul_utilization_average' }],
      ['AWS/SageMaker', { FutureTime: 'aws_sagemaker_future_time_average' }],
    ]);
    fresh.resolve('neuron_monitor', 'MatmulUtilization');
    expect(fresh.takeUnlisted()).toEqual([]);
    fresh.resolve('neuron_monitor', 'Other');
    expect(fresh.takeUnlisted()).toEqual([['neuron_monitor', { Other: 'aws_neuron_other_average' }]]);
    const yace = Catalog.withDefaults([], 'yace', 'neuron_monitor');
    yace.resolve('neuron_monitor', 'MatmulUtilization');
    yace.resolve('neuron_monitor', 'NeuronCoreUtilization');
    expect(yace.takeUnlisted()).toEqual([['neuron_monitor', { MatmulUtilization: 'aws_neuron_monitor_matmul_utilization_average' }]]);
  });

  test('user entries extend and override the built-in catalog', () => {
    const user = CatalogNamespaceSchema.parse({
      namespace: 'AWS/SageMaker',
      defaultStatistics: ['Maximum', 'p99'],
      metrics: [{ metric: 'ModelSetupTime', type: 'gauge', statistic: 'Maximum', name: 'aws_sagemaker_model_setup_seconds', scale: 0.001 }],
    });
    const merged = Catalog.withDefaults([user], 'inferwatch', 'neuron_monitor');
    expect(merged.resolve('AWS/SageMaker', 'ModelSetupTime').series[0]).toMatchObject({ name: 'aws_sagemaker_model_setup_seconds', stat: 'Maximum', scale: 0.001 });
    expect(merged.resolve('AWS/SageMaker', 'Invocations').series[0]?.name).toBe('aws_sagemaker_invocations_total');
    expect(merged.resolve('AWS/SageMaker', 'Other').series.map((s) => s.name)).toEqual(['aws_sagemaker_other_maximum', 'aws_sagemaker_other_p99']);
  });

  test('yace profile: YACE names, raw values and dimension_ labels', () => {
    const yace = Catalog.withDefaults([], 'yace', 'neuron_monitor');
    const m = yace.resolve('AWS/SageMaker', 'ModelLatency');
    expect(m.series.map((s) => s.name)).toEqual([
      'aws_sagemaker_model_latency_sum',
      'aws_sagemaker_model_latency_sample_count',
      'aws_sagemaker_model_latency_p50',
      'aws_sagemaker_model_latency_p90',
      'aws_sagemaker_model_latency_p99',
    ]);
    expect(m.series.every((s) => s.kind === 'gauge' && s.scale === 1)).toBe(true);
    expect(m.labelFor('EndpointName')).toBe('dimension_EndpointName');
    expect(yace.resolve('/aws/sagemaker/Endpoints', 'CPUUtilization').series[0]?.name).toBe('aws_sagemaker_endpoints_cpuutilization_average');
  });

  test('catalog entries are validated: counters end in _total, statistics are CloudWatch statistics', () => {
    expect(() => CatalogNamespaceSchema.parse({ namespace: 'X', metrics: [{ metric: 'A', type: 'counter', name: 'a_count' }] })).toThrow('must end in _total');
    expect(() => CatalogNamespaceSchema.parse({ namespace: 'X', metrics: [{ metric: 'A', type: 'gauge', name: 'a', statistic: 'Median' }] })).toThrow('CloudWatch statistic');
    expect(loadDefaultCatalog().length).toBe(4);
  });

  test('familyOf: a summary\'s _sum, _count and quantile series are one summary family; unlisted metrics once resolved', () => {
    const catalog = new Catalog(loadDefaultCatalog(), 'inferwatch', 'neuron_monitor', 'summary');
    for (const name of ['aws_sagemaker_model_latency_seconds_sum', 'aws_sagemaker_model_latency_seconds_count', 'aws_sagemaker_model_latency_seconds']) {
      expect(catalog.familyOf(name)).toEqual({ family: 'aws_sagemaker_model_latency_seconds', type: 'summary', help: expect.stringContaining('CloudWatch AWS/SageMaker ModelLatency') as unknown });
    }
    const histograms = new Catalog(loadDefaultCatalog());
    for (const name of ['aws_sagemaker_model_latency_seconds_bucket', 'aws_sagemaker_model_latency_seconds_sum', 'aws_sagemaker_model_latency_seconds_count']) {
      expect(histograms.familyOf(name)).toEqual({ family: 'aws_sagemaker_model_latency_seconds', type: 'histogram', help: expect.stringContaining('CloudWatch AWS/SageMaker ModelLatency, statistics TC(:le) per bucket, SampleCount, Sum; CloudWatch unit Microseconds') as unknown });
    }
    expect(histograms.familyOf('aws_sagemaker_model_latency_seconds')).toBeUndefined();
    expect(catalog.familyOf('neuroncore_utilization_ratio')?.help).toBe('CloudWatch neuron_monitor NeuronCoreUtilization, statistic Average; CloudWatch unit Percent, multiplied by 0.01');
    expect(catalog.familyOf('aws_sagemaker_future_time_average')).toBeUndefined();
    catalog.resolve('AWS/SageMaker', 'FutureTime');
    expect(catalog.familyOf('aws_sagemaker_future_time_average')).toEqual({
      family: 'aws_sagemaker_future_time_average',
      type: 'gauge',
      help: 'CloudWatch AWS/SageMaker FutureTime, statistic Average (not in the inferwatch catalog: raw value)',
    });
  });
});

describe('docs/metric-schema.md documents the catalog', () => {
  const schema = readFileSync(join(__dirname, '../../../../docs/metric-schema.md'), 'utf8');

  test('every built-in metric appears in the metric schema under its CloudWatch name and its Prometheus name', () => {
    expect(schema.length).toBeGreaterThan(1000);
    const missing = loadDefaultCatalog().flatMap((ns) =>
      ns.metrics.flatMap((metric) => [metric.metric, metric.name].filter((name) => !schema.includes(`\`${name}`)).map((name) => `${ns.namespace} ${metric.metric}: ${name}`)),
    );
    expect(missing).toEqual([]);
  });
});

describe('catalog: streamed responses and the per-zone dimension set', () => {
  test('the FirstChunk timings are latency histograms like ModelLatency: TC(:edge in µs) buckets, _sum in seconds, _count', () => {
    for (const [metric, family] of [
      ['FirstChunkLatency', 'aws_sagemaker_first_chunk_latency_seconds'],
      ['FirstChunkModelLatency', 'aws_sagemaker_first_chunk_model_latency_seconds'],
      ['FirstChunkOverheadLatency', 'aws_sagemaker_first_chunk_overhead_latency_seconds'],
    ] as const) {
      const m = catalog.resolve('AWS/SageMaker', metric);
      expect(m.series.map((s) => [s.stat, s.name, s.scale, s.constLabels.le])).toEqual(catalog.resolve('AWS/SageMaker', 'ModelLatency').series.map((s) => [s.stat, s.name.replace('aws_sagemaker_model_latency_seconds', family), s.scale, s.constLabels.le]));
      expect(catalog.familyOf(`${family}_bucket`)).toEqual({ family, type: 'histogram', help: expect.stringContaining(`CloudWatch AWS/SageMaker ${metric}, statistics TC(:le) per bucket, SampleCount, Sum; CloudWatch unit Microseconds, multiplied by 0.000001`) as unknown });
      expect(summaries.resolve('AWS/SageMaker', metric).series.map((s) => s.stat)).toEqual(['Sum', 'SampleCount', 'p50', 'p90', 'p99']);
    }
  });

  test('MidStreamErrors is a counter of Sum ending in _total', () => {
    expect(catalog.resolve('AWS/SageMaker', 'MidStreamErrors').series).toEqual([{ stat: 'Sum', name: 'aws_sagemaker_mid_stream_errors_total', kind: 'counter', scale: 1, constLabels: {} }]);
    expect(catalog.familyOf('aws_sagemaker_mid_stream_errors_total')?.type).toBe('counter');
  });

  test('only streaming endpoints publish them: the real-time cost estimate leaves them out', () => {
    const realTime = new Map(catalog.listedMetrics(true)).get('AWS/SageMaker') ?? [];
    for (const metric of ['FirstChunkLatency', 'FirstChunkModelLatency', 'FirstChunkOverheadLatency', 'MidStreamErrors']) {
      expect(realTime).not.toContain(metric);
      expect(new Map(catalog.listedMetrics()).get('AWS/SageMaker')).toContain(metric);
    }
  });

  test('the per-zone set becomes availability_zone and instance_type; Region the region label every series has', () => {
    const m = catalog.resolve('AWS/SageMaker', 'Invocations');
    expect(['AvailabilityZone', 'InstanceType', 'Region'].map((d) => m.labelFor(d))).toEqual(['availability_zone', 'instance_type', 'region']);
  });
});
