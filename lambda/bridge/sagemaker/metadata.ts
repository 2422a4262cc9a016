import { DescribeEndpointCommand, DescribeEndpointConfigCommand, ListEndpointsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mapConcurrently, type RateLimiter } from '../concurrency';
import type { FamilyInfo } from '../catalog/catalog';
import type { BridgeLogger } from '../logger';
import { sanitizeLabelValue } from '../naming';
import type { ApiCallCounter } from '../self-metrics';
import { buildLabels, type TimeSeries } from '../series';
import { STALE_NAN } from '../state/series-state';
import type { SageMakerCache } from '../state/state';

export interface MetadataOptions {
  readonly now: number;
  /** An endpoint unchanged for this long is described again anyway, ms. */
  readonly refreshMs: number;
  readonly concurrency: number;
  readonly limiter: RateLimiter;
  /** Describe calls this cycle may make; the rest wait for the next cycles (new and changed endpoints first). */
  readonly maxDescribes: number;
  /** True once the cycle has nothing else to wait for: describing stops there, and the rest waits for the next cycle. */
  readonly timeUp?: () => boolean;
  readonly calls: ApiCallCounter;
  readonly logger: BridgeLogger;
  readonly inShard: (endpointName: string) => boolean;
}

export function emptySageMakerCache(): SageMakerCache {
  return { endpoints: {}, configs: {} };
}

/**
 * Brings the SageMaker answers in `cache` up to date.
 *
 * ListEndpoints runs every cycle (one call per 100 endpoints). DescribeEndpoint runs only for endpoints that are
 * new, whose LastModifiedTime or status changed, or that were not described for `refreshMs`; endpoint configs
 * are immutable and described once. `cache` lives in the bridge state, so a cold start costs no more calls.
 */
export async function refreshEndpointMetadata(sagemaker: SageMakerClient, cache: SageMakerCache, options: MetadataOptions): Promise<SageMakerCache> {
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

  // What ended since the last cycle: its metadata series get a staleness marker, and so, next cycle, do its CloudWatch series.
  // A copy: configs no endpoint uses any more are dropped from the cache below, but the markers need their labels.
  const ended: SageMakerCache = { endpoints: {}, configs: { ...cache.configs } };
  cache.ended = Object.fromEntries(Object.entries(cache.ended ?? {}).filter(([, at]) => options.now - at < ENDED_MEMORY_MS));
  for (const [name, endpoint] of Object.entries(cache.endpoints)) {
    if (listed.has(name)) continue;
    ended.endpoints[name] = endpoint;
    cache.ended[name] = options.now;
    delete cache.endpoints[name];
  }
  // New or changed endpoints first, then the longest unrefreshed; each may need its config described too.
  const stale = [...listed]
    .map(([name, summary]) => {
      const cached = cache.endpoints[name];
      const changed = !cached || cached.modified !== summary.modified || cached.status !== summary.status;
      return { name, summary, changed, described: cached?.described ?? -Infinity, due: changed || options.now - (cached?.described ?? 0) >= options.refreshMs };
    })
    .filter((e) => e.due)
    .sort((a, b) => Number(b.changed) - Number(a.changed) || a.described - b.described);
  const describeNow = stale.slice(0, Math.max(1, Math.floor(options.maxDescribes / 2)));
  if (describeNow.length < stale.length) {
    logger.info('SageMaker metadata: more endpoints to describe than this cycle allows; the rest follow in the next cycles', { described: describeNow.length, waiting: stale.length - describeNow.length });
  }
  const timeUp = options.timeUp ?? (() => false);
  const configsInFlight = new Map<string, Promise<void>>();
  // Immutable, so described once; right after the endpoint that first names it, so a cut-short cycle still has both.
  const describeConfig = (configName: string): Promise<void> => {
    let pending = configsInFlight.get(configName);
    if (!pending) {
      pending = (async () => {
        try {
          await options.limiter.take();
          const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
          calls.record('sagemaker', 'DescribeEndpointConfig', config.$metadata?.attempts);
          cache.configs[configName] = Object.fromEntries((config.ProductionVariants ?? []).map((v) => [v.VariantName ?? '', [v.InstanceType ?? '', v.ModelName ?? '']]));
        } catch (error) {
          logger.warn('DescribeEndpointConfig failed; instance types unknown this cycle', { configName, error: (error as Error).message });
        }
      })();
      configsInFlight.set(configName, pending);
    }
    return pending;
  };
  await mapConcurrently(describeNow, options.concurrency, async ({ name: endpointName, summary }) => {
    if (timeUp()) return;
    try {
      await options.limiter.take();
      const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
      calls.record('sagemaker', 'DescribeEndpoint', endpoint.$metadata?.attempts);
      const before = cache.endpoints[endpointName];
      const variantsNow = new Set((endpoint.ProductionVariants ?? []).map((v) => v.VariantName ?? ''));
      const gone = before?.variants.filter(([variant]) => !variantsNow.has(variant)) ?? [];
      if (before && gone.length > 0) {
        ended.endpoints[endpointName] = { ...before, variants: gone };
        for (const [variant] of gone) (cache.ended as Record<string, number>)[`${endpointName}/${variant}`] = options.now;
      }
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
      return;
    }
    const configName = cache.endpoints[endpointName]?.config;
    if (configName && cache.configs[configName] === undefined) await describeConfig(configName);
  });

  const used = new Set(Object.values(cache.endpoints).map((e) => e.config));
  for (const name of Object.keys(cache.configs)) if (!used.has(name)) delete cache.configs[name];
  // Configs of endpoints described in an earlier cycle whose config answer failed then.
  await mapConcurrently(
    [...used].filter((name) => name !== '' && cache.configs[name] === undefined),
    options.concurrency,
    async (configName) => {
      if (!timeUp()) await describeConfig(configName);
    },
  );
  return ended;
}

export interface MetadataSeriesOptions {
  /** Sample timestamp, epoch ms. */
  readonly timestamp: number;
  /** Write staleness markers instead of values: the series ended. */
  readonly stale?: boolean;
  readonly baseLabels: Readonly<Record<string, string>>;
  readonly maxLabelValueLength: number;
}

/** How long the bridge remembers a deleted endpoint or variant: ListMetrics lists a metric 3 hours after its last datapoint. */
const ENDED_MEMORY_MS = 3 * 3600 * 1000;

/**
 * HELP and TYPE of the endpoint metadata series, in the order metadataSeries writes them: the generator walks this
 * list, so a family it writes cannot lack its HELP.
 */
export const METADATA_FAMILIES = [
  { family: 'aws_sagemaker_endpoint_info', type: 'gauge', help: 'SageMaker endpoint and variant (DescribeEndpoint, DescribeEndpointConfig): always 1, the facts are labels.' },
  { family: 'aws_sagemaker_variant_instances', type: 'gauge', help: 'SageMaker production variant instance count, by state (current, desired).' },
  { family: 'aws_sagemaker_variant_weight', type: 'gauge', help: 'SageMaker production variant traffic weight, by state (current, desired).' },
] as const satisfies ReadonlyArray<FamilyInfo>;

/**
 * Metadata series from the cached SageMaker answers, one family after the other (as the text exposition needs):
 * `aws_sagemaker_endpoint_info{endpoint_status, instance_type, ...} 1`, `aws_sagemaker_variant_instances{state}`,
 * `aws_sagemaker_variant_weight{state}`. Generated one at a time, so a large fleet's are never all held at once.
 */
export function* metadataSeries(cache: SageMakerCache, options: MetadataSeriesOptions): Generator<TimeSeries> {
  const value = (v: string | undefined) => sanitizeLabelValue(v ?? '', options.maxLabelValueLength);
  const series = (name: string, labels: Record<string, string>, v: number | null | undefined): TimeSeries[] =>
    v === undefined || v === null || !Number.isFinite(v)
      ? []
      : [{ labels: buildLabels(name, { ...options.baseLabels, ...labels }), samples: [{ timestamp: options.timestamp, value: options.stale ? STALE_NAN : v }], kind: 'gauge' }];
  for (const { family } of METADATA_FAMILIES) {
    for (const [endpointName, endpoint] of Object.entries(cache.endpoints)) {
      const common = { endpoint_name: value(endpointName) };
      const status = { ...common, endpoint_status: value(endpoint.status), endpoint_config_name: value(endpoint.config) };
      if (family === 'aws_sagemaker_endpoint_info' && endpoint.variants.length === 0) yield* series(family, status, 1);
      const configVariants = cache.configs[endpoint.config];
      for (const [variantName, currentInstances, desiredInstances, currentWeight, desiredWeight, serverless] of endpoint.variants) {
        const variant = { ...common, variant_name: value(variantName) };
        if (family === 'aws_sagemaker_endpoint_info') {
          const [instanceType, modelName] = configVariants?.[variantName] ?? ['', ''];
          yield* series(family, { ...variant, ...status, instance_type: value(instanceType || (serverless ? 'serverless' : '')), model_name: value(modelName) }, 1);
        } else {
          const [current, desired] = family === 'aws_sagemaker_variant_instances' ? [currentInstances, desiredInstances] : [currentWeight, desiredWeight];
          yield* series(family, { ...variant, state: 'current' }, current);
          yield* series(family, { ...variant, state: 'desired' }, desired);
        }
      }
    }
  }
}
