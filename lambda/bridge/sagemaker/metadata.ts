import { DescribeEndpointCommand, DescribeEndpointConfigCommand, ListEndpointsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { BridgeLogger } from '../logger';
import { sanitizeLabelValue } from '../naming';
import type { ApiCallCounter } from '../self-metrics';
import { buildLabels, type TimeSeries } from '../series';

const DESCRIBE_CONCURRENCY = 8;

/** Endpoint configs never change once created, so warm invocations keep them. */
export class EndpointConfigCache {
  readonly variants = new Map<string, Map<string, { instanceType?: string; modelName?: string }>>();
}

async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * Metadata series from the SageMaker API, at `timestamp`:
 * `aws_sagemaker_endpoint_info{endpoint_status, instance_type, ...} 1`, `aws_sagemaker_variant_instances{state}`,
 * `aws_sagemaker_variant_weight{state}`.
 */
export async function endpointMetadata(
  sagemaker: SageMakerClient,
  cache: EndpointConfigCache,
  timestamp: number,
  baseLabels: Readonly<Record<string, string>>,
  maxLabelValueLength: number,
  calls: ApiCallCounter,
  logger: BridgeLogger,
  inShard: (endpointName: string) => boolean = () => true,
): Promise<TimeSeries[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sagemaker.send(new ListEndpointsCommand({ MaxResults: 100, NextToken: nextToken }));
    calls.record('sagemaker', 'ListEndpoints', page.$metadata?.attempts);
    for (const endpoint of page.Endpoints ?? []) if (endpoint.EndpointName && inShard(endpoint.EndpointName)) names.push(endpoint.EndpointName);
    nextToken = page.NextToken;
  } while (nextToken);

  const value = (v: string | undefined) => sanitizeLabelValue(v ?? '', maxLabelValueLength);
  const perEndpoint = await mapWithConcurrency(names, DESCRIBE_CONCURRENCY, async (endpointName): Promise<TimeSeries[]> => {
    let endpoint;
    try {
      endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
      calls.record('sagemaker', 'DescribeEndpoint', endpoint.$metadata?.attempts);
    } catch (error) {
      // Deleted between List and Describe: it simply has no metadata this cycle.
      logger.warn('DescribeEndpoint failed; no metadata for this endpoint this cycle', { endpointName, error: (error as Error).message });
      return [];
    }
    const configName = endpoint.EndpointConfigName;
    let configVariants = configName ? cache.variants.get(configName) : undefined;
    if (configName && !configVariants) {
      try {
        const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
        calls.record('sagemaker', 'DescribeEndpointConfig', config.$metadata?.attempts);
        configVariants = new Map((config.ProductionVariants ?? []).map((v) => [v.VariantName ?? '', { instanceType: v.InstanceType, modelName: v.ModelName }]));
        cache.variants.set(configName, configVariants);
      } catch (error) {
        logger.warn('DescribeEndpointConfig failed; instance types unknown this cycle', { endpointName, configName, error: (error as Error).message });
      }
    }
    const common = { ...baseLabels, endpoint_name: value(endpointName) };
    const series: TimeSeries[] = [];
    const push = (name: string, labels: Record<string, string>, v: number | undefined) => {
      if (v === undefined || !Number.isFinite(v)) return;
      series.push({ labels: buildLabels(name, { ...labels, ...common }), samples: [{ timestamp, value: v }], kind: 'gauge' });
    };
    const variants = endpoint.ProductionVariants ?? [];
    if (variants.length === 0) {
      push('aws_sagemaker_endpoint_info', { endpoint_status: value(endpoint.EndpointStatus), endpoint_config_name: value(configName) }, 1);
    }
    for (const variant of variants) {
      const fromConfig = configVariants?.get(variant.VariantName ?? '');
      const variantLabels = { variant_name: value(variant.VariantName) };
      push(
        'aws_sagemaker_endpoint_info',
        {
          ...variantLabels,
          endpoint_status: value(endpoint.EndpointStatus),
          endpoint_config_name: value(configName),
          instance_type: value(fromConfig?.instanceType ?? (variant.CurrentServerlessConfig ? 'serverless' : undefined)),
          model_name: value(fromConfig?.modelName),
        },
        1,
      );
      push('aws_sagemaker_variant_instances', { ...variantLabels, state: 'current' }, variant.CurrentInstanceCount);
      push('aws_sagemaker_variant_instances', { ...variantLabels, state: 'desired' }, variant.DesiredInstanceCount);
      push('aws_sagemaker_variant_weight', { ...variantLabels, state: 'current' }, variant.CurrentWeight);
      push('aws_sagemaker_variant_weight', { ...variantLabels, state: 'desired' }, variant.DesiredWeight);
    }
    return series;
  });
  return perEndpoint.flat();
}
