import { DescribeEndpointCommand, DescribeEndpointConfigCommand, ListEndpointsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mapConcurrently, type RateLimiter } from '../concurrency';
import type { BridgeLogger } from '../logger';
import { sanitizeLabelValue } from '../naming';
import type { ApiCallCounter } from '../self-metrics';
import { buildLabels, type TimeSeries } from '../series';
import type { CachedEndpoint, SageMakerCache } from '../state/state';

export interface MetadataOptions {
  /** Sample timestamp, epoch ms. */
  readonly timestamp: number;
  readonly now: number;
  readonly baseLabels: Readonly<Record<string, string>>;
  readonly maxLabelValueLength: number;
  /** An endpoint unchanged for this long is described again anyway, ms. */
  readonly refreshMs: number;
  readonly concurrency: number;
  readonly limiter: RateLimiter;
  readonly calls: ApiCallCounter;
  readonly logger: BridgeLogger;
  readonly inShard: (endpointName: string) => boolean;
}

export function emptySageMakerCache(): SageMakerCache {
  return { endpoints: {}, configs: {} };
}

/**
 * Metadata series from the SageMaker API: `aws_sagemaker_endpoint_info{endpoint_status, instance_type, ...} 1`,
 * `aws_sagemaker_variant_instances{state}`, `aws_sagemaker_variant_weight{state}`.
 *
 * ListEndpoints runs every cycle (one call per 100 endpoints). DescribeEndpoint runs only for endpoints that are
 * new, whose LastModifiedTime or status changed, or that were not described for `refreshMs`; endpoint configs
 * are immutable and described once. `cache` lives in the bridge state, so a cold start costs no more calls.
 */
export async function endpointMetadata(sagemaker: SageMakerClient, cache: SageMakerCache, options: MetadataOptions): Promise<TimeSeries[]> {
  const { calls, logger } = options;
  const listed = new Map<string, { modified: number; status: string }>();
  let nextToken: string | undefined;
  do {
    await options.limiter.take();
    const page = await sagemaker.send(new ListEndpointsCommand({ MaxResults: 100, NextToken: nextToken }));
    calls.record('sagemaker', 'ListEndpoints', page.$metadata?.attempts);
    for (const endpoint of page.Endpoints ?? []) {
      if (endpoint.EndpointName && options.inShard(endpoint.EndpointName)) {
        listed.set(endpoint.EndpointName, { modified: endpoint.LastModifiedTime?.getTime() ?? 0, status: endpoint.EndpointStatus ?? '' });
      }
    }
    nextToken = page.NextToken;
  } while (nextToken);

  for (const name of Object.keys(cache.endpoints)) if (!listed.has(name)) delete cache.endpoints[name];
  const stale = [...listed].filter(([name, summary]) => {
    const cached = cache.endpoints[name];
    return !cached || cached.modified !== summary.modified || cached.status !== summary.status || options.now - cached.described >= options.refreshMs;
  });
  await mapConcurrently(stale, options.concurrency, async ([endpointName, summary]) => {
    try {
      await options.limiter.take();
      const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
      calls.record('sagemaker', 'DescribeEndpoint', endpoint.$metadata?.attempts);
      cache.endpoints[endpointName] = {
        modified: endpoint.LastModifiedTime?.getTime() ?? summary.modified,
        described: options.now,
        status: endpoint.EndpointStatus ?? summary.status,
        config: endpoint.EndpointConfigName ?? '',
        variants: (endpoint.ProductionVariants ?? []).map((v) => [
          v.VariantName ?? '',
          v.CurrentInstanceCount ?? null,
          v.DesiredInstanceCount ?? null,
          v.CurrentWeight ?? null,
          v.DesiredWeight ?? null,
          v.CurrentServerlessConfig ? 1 : 0,
        ]),
      };
    } catch (error) {
      // Deleted between List and Describe, or refused: no fresh metadata for it this cycle.
      logger.warn('DescribeEndpoint failed; its metadata is not refreshed this cycle', { endpointName, error: (error as Error).message });
    }
  });

  const used = new Set(Object.values(cache.endpoints).map((e) => e.config));
  for (const name of Object.keys(cache.configs)) if (!used.has(name)) delete cache.configs[name];
  const missingConfigs = [...used].filter((name) => name !== '' && cache.configs[name] === undefined);
  await mapConcurrently(missingConfigs, options.concurrency, async (configName) => {
    try {
      await options.limiter.take();
      const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
      calls.record('sagemaker', 'DescribeEndpointConfig', config.$metadata?.attempts);
      cache.configs[configName] = Object.fromEntries((config.ProductionVariants ?? []).map((v) => [v.VariantName ?? '', [v.InstanceType ?? '', v.ModelName ?? '']]));
    } catch (error) {
      logger.warn('DescribeEndpointConfig failed; instance types unknown this cycle', { configName, error: (error as Error).message });
    }
  });

  const series: TimeSeries[] = [];
  for (const [name, endpoint] of Object.entries(cache.endpoints)) series.push(...endpointSeries(name, endpoint, cache, options));
  return series;
}

function endpointSeries(endpointName: string, endpoint: CachedEndpoint, cache: SageMakerCache, options: MetadataOptions): TimeSeries[] {
  const value = (v: string | undefined) => sanitizeLabelValue(v ?? '', options.maxLabelValueLength);
  const common = { ...options.baseLabels, endpoint_name: value(endpointName) };
  const series: TimeSeries[] = [];
  const push = (name: string, labels: Record<string, string>, v: number | null | undefined) => {
    if (v === undefined || v === null || !Number.isFinite(v)) return;
    series.push({ labels: buildLabels(name, { ...labels, ...common }), samples: [{ timestamp: options.timestamp, value: v }], kind: 'gauge' });
  };
  const status = { endpoint_status: value(endpoint.status), endpoint_config_name: value(endpoint.config) };
  if (endpoint.variants.length === 0) push('aws_sagemaker_endpoint_info', status, 1);
  const configVariants = cache.configs[endpoint.config];
  for (const [variantName, currentInstances, desiredInstances, currentWeight, desiredWeight, serverless] of endpoint.variants) {
    const [instanceType, modelName] = configVariants?.[variantName] ?? ['', ''];
    const variant = { variant_name: value(variantName) };
    push('aws_sagemaker_endpoint_info', { ...variant, ...status, instance_type: value(instanceType || (serverless ? 'serverless' : '')), model_name: value(modelName) }, 1);
    push('aws_sagemaker_variant_instances', { ...variant, state: 'current' }, currentInstances);
    push('aws_sagemaker_variant_instances', { ...variant, state: 'desired' }, desiredInstances);
    push('aws_sagemaker_variant_weight', { ...variant, state: 'current' }, currentWeight);
    push('aws_sagemaker_variant_weight', { ...variant, state: 'desired' }, desiredWeight);
  }
  return series;
}

/** HELP and TYPE of the endpoint metadata series. */
export const METADATA_FAMILIES: ReadonlyArray<{ family: string; type: 'gauge'; help: string }> = [
  { family: 'aws_sagemaker_endpoint_info', type: 'gauge', help: 'SageMaker endpoint and variant (DescribeEndpoint, DescribeEndpointConfig): always 1, the facts are labels.' },
  { family: 'aws_sagemaker_variant_instances', type: 'gauge', help: 'SageMaker production variant instance count, by state (current, desired).' },
  { family: 'aws_sagemaker_variant_weight', type: 'gauge', help: 'SageMaker production variant traffic weight, by state (current, desired).' },
];
