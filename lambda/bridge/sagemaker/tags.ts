import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { RateLimiter } from '../concurrency';
import type { BridgeLogger } from '../logger';
import { tagLabelName } from '../../../contract/naming';
import type { ApiCallCounter } from '../self-metrics';
import type { SageMakerCache } from './cache';

/** GetResources takes at most 100 ARNs in ResourceARNList (and then no pagination parameters). */
export const GET_RESOURCES_MAX_ARNS = 100;

/**
 * The tagging API may answer an ARN in another case than SageMaker lists it (SageMaker lower-cases the names in
 * its ARNs): every lookup goes through this.
 */
export function arnKey(arn: string): string {
  return arn.toLowerCase();
}

export interface TagOptions {
  readonly now: number;
  /** Tags read longer ago than this are read again, ms. */
  readonly refreshMs: number;
  /** The tag keys kept (AWS tag keys are case-sensitive). */
  readonly keys: readonly string[];
  readonly limiter: RateLimiter;
  readonly calls: ApiCallCounter;
  readonly logger: BridgeLogger;
  readonly timeUp: () => boolean;
}

/**
 * Brings the tags of `arns` in `cache.tags` up to date with `tag:GetResources`, one call per 100 resources whose
 * tags are unknown or older than `refreshMs`; the rest cost nothing. A resource GetResources leaves out (never
 * tagged) is remembered without tags. Entries of resources no longer in `arns` are dropped. A failed call keeps
 * the old tags, and the resources are asked for again next cycle.
 */
export async function refreshTags(tagging: ResourceGroupsTaggingAPIClient, cache: SageMakerCache, arns: readonly string[], options: TagOptions): Promise<void> {
  const known = cache.tags ?? {};
  const wanted = new Set(arns.map(arnKey));
  const tags: Record<string, [number, Record<string, string>]> = Object.fromEntries(Object.entries(known).filter(([arn]) => wanted.has(arn)));
  cache.tags = tags;
  const due = [...wanted].filter((arn) => tags[arn] === undefined || options.now - tags[arn][0] >= options.refreshMs);
  // Unknown first (a new endpoint gets its labels at once), then the longest unread.
  due.sort((a, b) => (tags[a]?.[0] ?? -Infinity) - (tags[b]?.[0] ?? -Infinity));
  const keys = new Set(options.keys);
  for (let i = 0; i < due.length; i += GET_RESOURCES_MAX_ARNS) {
    if (options.timeUp()) return;
    const batch = due.slice(i, i + GET_RESOURCES_MAX_ARNS);
    try {
      await options.limiter.take();
      const page = await tagging.send(new GetResourcesCommand({ ResourceARNList: batch }));
      // Counted with the SageMaker calls: these are the SageMaker resources' tags.
      options.calls.record('sagemaker', 'GetResources', page.$metadata?.attempts);
      for (const arn of batch) tags[arn] = [options.now, {}];
      for (const mapping of page.ResourceTagMappingList ?? []) {
        const arn = arnKey(mapping.ResourceARN ?? '');
        if (!wanted.has(arn)) continue;
        tags[arn] = [options.now, Object.fromEntries((mapping.Tags ?? []).filter((t) => t.Key !== undefined && keys.has(t.Key)).map((t) => [t.Key as string, t.Value ?? '']))];
      }
    } catch (error) {
      options.logger.warn('tag:GetResources failed; the endpoint tags keep their last values and are asked for again next cycle', {
        resources: batch.length,
        error: (error as Error).message,
      });
    }
  }
}

/** The `tag_*` labels of one resource: a configured key the resource lacks is no label at all. */
export function tagLabels(cache: SageMakerCache, arn: string | undefined, keys: readonly string[], value: (v: string) => string): Record<string, string> {
  const tags = arn === undefined ? undefined : cache.tags?.[arnKey(arn)]?.[1];
  if (!tags) return {};
  const labels: Record<string, string> = {};
  for (const key of keys) {
    const v = tags[key];
    if (v !== undefined && v !== '') labels[tagLabelName(key)] = value(v);
  }
  return labels;
}
