import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeInferenceComponentCommand,
  ListEndpointsCommand,
  ListInferenceComponentsCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mapConcurrently, type RateLimiter } from '../concurrency';
import type { FamilyInfo } from '../catalog/catalog';
import type { BridgeLogger } from '../logger';
import { sanitizeLabelValue } from '../../../contract/naming';
import type { ApiCallCounter } from '../self-metrics';
import { buildLabels, type TimeSeries } from '../series';
import { STALE_NAN } from '../state/series-state';
import type { CachedComponent, SageMakerCache } from './cache';
import { refreshTags, tagLabels } from './tags';

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
  /** Endpoint tags as labels (`endpointTags`): absent, no tags are read. */
  readonly tags?: { readonly client: ResourceGroupsTaggingAPIClient; readonly keys: readonly string[]; readonly refreshMs: number };
}

/**
 * A component unchanged for this long is described again, ms (or after `refreshMs` when that is shorter). Copy
 * counts follow autoscaling; this bounds how stale they get when the scaling left LastModifiedTime and the status
 * as they were.
 */
export const COMPONENT_REFRESH_MS = 15 * 60_000;

/** Every page of a SageMaker List call (100 a page, the most it allows), each item to `each`. */
async function listPages<T>(
  options: Pick<MetadataOptions, 'limiter' | 'calls'>,
  api: 'ListEndpoints' | 'ListInferenceComponents',
  fetch: (nextToken: string | undefined) => Promise<{ items: T[] | undefined; page: { NextToken?: string; $metadata?: { attempts?: number } } }>,
  each: (item: T) => void,
): Promise<void> {
  let nextToken: string | undefined;
  do {
    await options.limiter.take();
    const { items, page } = await fetch(nextToken);
    options.calls.record('sagemaker', api, page.$metadata?.attempts);
    for (const item of items ?? []) each(item);
    nextToken = page.NextToken;
  } while (nextToken);
}

export function emptySageMakerCache(): SageMakerCache {
  return { endpoints: {}, configs: {} };
}

/**
 * Brings the SageMaker answers in `cache` up to date.
 *
 * ListEndpoints runs every cycle (one call per 100 endpoints). DescribeEndpoint runs only for endpoints that are
 * new, whose LastModifiedTime or status changed, or that were not described for `refreshMs`; endpoint configs
 * are immutable and described once. Then the inference components (refreshComponents) with what is left of
 * `maxDescribes`, and, with `tags`, the tags of both (refreshTags). `cache` lives in the bridge state, so a cold
 * start costs no more calls.
 */
export async function refreshEndpointMetadata(sagemaker: SageMakerClient, cache: SageMakerCache, options: MetadataOptions): Promise<SageMakerCache> {
  const { calls, logger } = options;
  const listed = new Map<string, { modified: number; status: string; arn: string }>();
  await listPages(
    options,
    'ListEndpoints',
    async (token) => {
      const page = await sagemaker.send(new ListEndpointsCommand({ MaxResults: 100, NextToken: token }));
      return { items: page.Endpoints, page };
    },
    (endpoint) => {
      if (endpoint.EndpointName && options.inShard(endpoint.EndpointName)) {
        listed.set(endpoint.EndpointName, { modified: endpoint.LastModifiedTime?.getTime() ?? 0, status: endpoint.EndpointStatus ?? '', arn: endpoint.EndpointArn ?? '' });
      }
    },
  );

  // What ended since the last cycle: its metadata series get a staleness marker, and so, next cycle, do its CloudWatch series.
  // A copy: configs no endpoint uses any more are dropped from the cache below, but the markers need their labels.
  const ended: SageMakerCache = { endpoints: {}, configs: { ...cache.configs }, components: {}, tags: { ...cache.tags } };
  cache.ended = Object.fromEntries(Object.entries(cache.ended ?? {}).filter(([, at]) => options.now - at < ENDED_MEMORY_MS));
  for (const [name, endpoint] of Object.entries(cache.endpoints)) {
    const summary = listed.get(name);
    // States written before tags were read lack the ARN; ListEndpoints has it.
    if (summary && endpoint.arn === undefined) cache.endpoints[name] = { ...endpoint, arn: summary.arn };
    if (summary) continue;
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
  let describes = 0;
  const configsInFlight = new Map<string, Promise<void>>();
  // Immutable, so described once; right after the endpoint that first names it, so a cut-short cycle still has both.
  const describeConfig = (configName: string): Promise<void> => {
    let pending = configsInFlight.get(configName);
    if (!pending) {
      pending = (async () => {
        try {
          await options.limiter.take();
          describes += 1;
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
      describes += 1;
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
        arn: endpoint.EndpointArn ?? summary.arn,
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
  await refreshComponents(sagemaker, cache, ended, { ...options, timeUp, maxDescribes: Math.max(1, options.maxDescribes - describes) });
  if (options.tags) {
    const arns = [...Object.values(cache.endpoints), ...Object.values(cache.components ?? {})].map((r) => r.arn ?? '').filter((arn) => arn !== '');
    await refreshTags(options.tags.client, cache, arns, { ...options, ...options.tags, timeUp });
  } else {
    delete cache.tags;
  }
  return ended;
}

/**
 * Brings the inference components in `cache.components` up to date: ListInferenceComponents every cycle (one call
 * per 100 components, none hosted costs one call), DescribeInferenceComponent for those that are new, whose
 * LastModifiedTime or status changed, whose last answer had fewer or more copies than desired (scaling: described
 * every cycle until it settles), or that were not described for COMPONENT_REFRESH_MS. Components gone from the
 * list go to `ended` for their staleness markers. A failed list keeps the cached components as they were.
 */
/**
 * The key of a deleted inference component in the cache's `ended` map (beside endpoint and endpoint/variant keys):
 * a colon cannot occur in a SageMaker endpoint name, so it never meets an endpoint's key.
 */
export function componentEndedKey(name: string): string {
  return `component:${name}`;
}

async function refreshComponents(sagemaker: SageMakerClient, cache: SageMakerCache, ended: SageMakerCache, options: MetadataOptions & { timeUp: () => boolean }): Promise<void> {
  const { calls, logger } = options;
  const listed = new Map<string, { endpoint: string; variant: string; arn: string; modified: number; status: string }>();
  try {
    await listPages(
      options,
      'ListInferenceComponents',
      async (token) => {
        const page = await sagemaker.send(new ListInferenceComponentsCommand({ MaxResults: 100, NextToken: token }));
        return { items: page.InferenceComponents, page };
      },
      (c) => {
        if (!c.InferenceComponentName || !c.EndpointName || !options.inShard(c.EndpointName)) return;
        listed.set(c.InferenceComponentName, {
          endpoint: c.EndpointName,
          variant: c.VariantName ?? '',
          arn: c.InferenceComponentArn ?? '',
          modified: c.LastModifiedTime?.getTime() ?? 0,
          status: c.InferenceComponentStatus ?? '',
        });
      },
    );
  } catch (error) {
    logger.warn('ListInferenceComponents failed; inference component copies are not refreshed this cycle', { error: (error as Error).message });
    return;
  }
  const components: Record<string, CachedComponent> = (cache.components ??= {});
  for (const [name, component] of Object.entries(components)) {
    if (listed.has(name)) continue;
    (ended.components as Record<string, CachedComponent>)[name] = component;
    (cache.ended ??= {})[componentEndedKey(name)] = options.now;
    delete components[name];
  }
  const refreshMs = Math.min(options.refreshMs, COMPONENT_REFRESH_MS);
  const due = [...listed]
    .map(([name, summary]) => {
      const cached = components[name];
      const changed = !cached || cached.modified !== summary.modified || cached.status !== summary.status;
      const scaling = cached !== undefined && cached.current !== cached.desired;
      return { name, summary, changed, scaling, described: cached?.described ?? -Infinity, due: changed || scaling || options.now - (cached?.described ?? 0) >= refreshMs };
    })
    .filter((c) => c.due)
    .sort((a, b) => Number(b.changed) - Number(a.changed) || Number(b.scaling) - Number(a.scaling) || a.described - b.described);
  const describeNow = due.slice(0, options.maxDescribes);
  if (describeNow.length < due.length) {
    logger.info('SageMaker metadata: more inference components to describe than this cycle allows; the rest follow in the next cycles', { described: describeNow.length, waiting: due.length - describeNow.length });
  }
  await mapConcurrently(describeNow, options.concurrency, async ({ name, summary }) => {
    if (options.timeUp()) return;
    try {
      await options.limiter.take();
      const component = await sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: name }));
      calls.record('sagemaker', 'DescribeInferenceComponent', component.$metadata?.attempts);
      components[name] = {
        endpoint: component.EndpointName ?? summary.endpoint,
        variant: component.VariantName ?? summary.variant,
        arn: component.InferenceComponentArn ?? summary.arn,
        modified: component.LastModifiedTime?.getTime() ?? summary.modified,
        described: options.now,
        status: component.InferenceComponentStatus ?? summary.status,
        desired: component.RuntimeConfig?.DesiredCopyCount ?? null,
        current: component.RuntimeConfig?.CurrentCopyCount ?? null,
      };
    } catch (error) {
      // Deleted between List and Describe, or refused: its copies are not refreshed this cycle.
      logger.warn('DescribeInferenceComponent failed; its copy counts are not refreshed this cycle', { inferenceComponentName: name, error: (error as Error).message });
    }
  });
}

export interface MetadataSeriesOptions {
  /** Sample timestamp, epoch ms. */
  readonly timestamp: number;
  /** Write staleness markers instead of values: the series ended. */
  readonly stale?: boolean;
  readonly baseLabels: Readonly<Record<string, string>>;
  readonly maxLabelValueLength: number;
  /** `endpointTags`: these tags become `tag_*` labels on the `_info` series. @default none */
  readonly tagKeys?: readonly string[];
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
  {
    family: 'aws_sagemaker_inference_component_info',
    type: 'gauge',
    help: 'SageMaker inference component (ListInferenceComponents, DescribeInferenceComponent): always 1; its endpoint, variant, status and configured tags are labels.',
  },
  {
    family: 'aws_sagemaker_inference_component_desired_copies',
    type: 'gauge',
    help: 'SageMaker inference component: copies of the model it asks for (DescribeInferenceComponent RuntimeConfig.DesiredCopyCount; autoscaling moves it). Re-read at least every 15 minutes, every cycle while current and desired differ.',
  },
  {
    family: 'aws_sagemaker_inference_component_current_copies',
    type: 'gauge',
    help: 'SageMaker inference component: copies of the model deployed now (DescribeInferenceComponent RuntimeConfig.CurrentCopyCount). Re-read at least every 15 minutes, every cycle while current and desired differ.',
  },
] as const satisfies ReadonlyArray<FamilyInfo>;

/**
 * Metadata series from the cached SageMaker answers, one family after the other (as the text exposition needs):
 * `aws_sagemaker_endpoint_info{endpoint_status, instance_type, ...} 1`, `aws_sagemaker_variant_instances{state}`,
 * `aws_sagemaker_variant_weight{state}`, then the inference components' `_info` and copy counts; the `_info`
 * series carry the `tagKeys` a resource has as `tag_*` labels. Generated one at a time, so a large fleet's are
 * never all held at once.
 */
export function* metadataSeries(cache: SageMakerCache, options: MetadataSeriesOptions): Generator<TimeSeries> {
  const value = (v: string | undefined) => sanitizeLabelValue(v ?? '', options.maxLabelValueLength);
  const series = (name: string, labels: Record<string, string>, v: number | null | undefined): TimeSeries[] =>
    v === undefined || v === null || !Number.isFinite(v)
      ? []
      : [{ labels: buildLabels(name, { ...options.baseLabels, ...labels }), samples: [{ timestamp: options.timestamp, value: options.stale ? STALE_NAN : v }], kind: 'gauge' }];
  const tagKeys = options.tagKeys ?? [];
  for (const { family } of METADATA_FAMILIES) {
    if (family.startsWith('aws_sagemaker_inference_component_')) {
      for (const [name, component] of Object.entries(cache.components ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const common = { inference_component_name: value(name), endpoint_name: value(component.endpoint) };
        if (family === 'aws_sagemaker_inference_component_info') {
          const facts = { variant_name: value(component.variant), inference_component_status: value(component.status) };
          yield* series(family, { ...common, ...facts, ...tagLabels(cache, component.arn, tagKeys, value) }, 1);
        } else {
          yield* series(family, common, family === 'aws_sagemaker_inference_component_desired_copies' ? component.desired : component.current);
        }
      }
      continue;
    }
    for (const [endpointName, endpoint] of Object.entries(cache.endpoints)) {
      const common = { endpoint_name: value(endpointName) };
      const tags = family === 'aws_sagemaker_endpoint_info' ? tagLabels(cache, endpoint.arn, tagKeys, value) : {};
      const status = { ...common, endpoint_status: value(endpoint.status), endpoint_config_name: value(endpoint.config), ...tags };
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
