import { GetResourcesCommand, ResourceGroupsTaggingAPIClient, type GetResourcesCommandInput } from '@aws-sdk/client-resource-groups-tagging-api';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { RateLimiter } from '../../../../lambda/bridge/concurrency';
import { checkBridgeConfig, resolveConfig } from '../../../../contract/bridge-config';
import { ConfigError } from '../../../../contract/errors';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { emptySageMakerCache, metadataSeries, refreshEndpointMetadata, type MetadataOptions } from '../../../../lambda/bridge/sagemaker/metadata';
import { tagLabelName } from '../../../../contract/naming';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';
import { STALE_NAN } from '../../../../lambda/bridge/state/series-state';
import { decodeState, emptyState, encodeState } from '../../../../lambda/bridge/state/state';
import type { SageMakerCache } from '../../../../lambda/bridge/sagemaker/cache';
import { AwsStandIn } from '../../../support/stand-ins/aws-stand-in';
import { type FleetEndpoint } from '../../../support/stand-ins/fleet';
import { componentArn, endpointArn } from '../../../support/stand-ins/components-tags-stand-in';

const T0 = 1_800_000_000_000;
const KEYS = ['team', 'cost-center'];
const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
const warnings: string[] = [];
const logger: BridgeLogger = { debug: () => {}, info: () => {}, warn: (message) => warnings.push(message), error: () => {} };

/** 250 endpoints with upper-case letters in their names (SageMaker's ARNs, and so the tagging API's, are lower case). */
function fleet(): FleetEndpoint[] {
  return [
    ...Array.from({ length: 249 }, (_, i) => ({
      name: `Fraud-Scorer-${i}`,
      variants: [{ name: 'AllTraffic', instanceType: 'ml.m5.large', instances: 1, weight: 1 }],
      ...(i % 2 === 0 ? { tags: { team: i % 4 === 0 ? 'risk' : 'payments', 'cost-center': `cc-${i}`, owner: 'not-asked-for' } } : {}),
    })),
    {
      name: 'LLM-Hub',
      shape: 'inference-components',
      components: ['Chat-Bot', 'embedder'],
      tags: { team: 'genai' },
      componentTags: { 'Chat-Bot': { team: 'assistants', 'cost-center': 'cc-7' } },
      variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.12xlarge', instances: 2, weight: 1 }],
    },
  ];
}

let standIn: AwsStandIn;
let sagemaker: SageMakerClient;
let tagging: ResourceGroupsTaggingAPIClient;

beforeAll(async () => {
  standIn = await new AwsStandIn({ endpoints: fleet(), neuronHosts: [], neuronNamespace: 'n' }).start();
  sagemaker = new SageMakerClient({ region: 'us-east-2', endpoint: standIn.url, credentials, maxAttempts: 1 });
  tagging = new ResourceGroupsTaggingAPIClient({ region: 'us-east-2', endpoint: standIn.url, credentials, maxAttempts: 1 });
});
afterAll(async () => {
  sagemaker.destroy();
  tagging.destroy();
  await standIn.stop();
});
beforeEach(() => {
  standIn.resetCounts();
  standIn.calls.length = 0;
  warnings.length = 0;
});

function options(now: number, calls = new ApiCallCounter()): MetadataOptions {
  return {
    now,
    refreshMs: 6 * 3600_000,
    concurrency: 8,
    limiter: new RateLimiter(1e9),
    maxDescribes: 10_000,
    calls,
    logger,
    inShard: () => true,
    tags: { client: tagging, keys: KEYS, refreshMs: 3600_000 },
  };
}

/** name -> the tag_* labels of its _info series (endpoints: the first variant's). */
function tagLabelsOf(cache: SageMakerCache, stale = false): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const s of metadataSeries(cache, { timestamp: 1, baseLabels: {}, maxLabelValueLength: 1024, tagKeys: KEYS, stale })) {
    const family = s.labels[0]?.value ?? '';
    if (!family.endsWith('_info')) continue;
    const labels = Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
    const name = labels.inference_component_name ?? labels.endpoint_name ?? '';
    if (stale && !Object.is(s.samples[0]?.value, STALE_NAN)) throw new Error(`${name}: not a staleness marker`);
    out.set(name, Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith('tag_'))));
  }
  return out;
}

const getResources = () => standIn.callsTo('GetResources').map((c) => c.body.ResourceARNList as string[]);

describe('endpoint tags as labels', () => {
  let cache: SageMakerCache;

  test('250 endpoints and 2 components: 3 GetResources calls of at most 100 ARNs, joined case-insensitively on the ARN', async () => {
    cache = emptySageMakerCache();
    const calls = new ApiCallCounter();
    await refreshEndpointMetadata(sagemaker, cache, options(T0, calls));
    expect(getResources().map((arns) => arns.length)).toEqual([100, 100, 52]);
    expect(calls.count('sagemaker', 'GetResources')).toBe(3);
    // Each call names resources only: no filter, no paging (the API refuses them beside ResourceARNList).
    expect(standIn.callsTo('GetResources').every((c) => Object.keys(c.body).join() === 'ResourceARNList')).toBe(true);

    const labels = tagLabelsOf(cache);
    expect(labels.get('Fraud-Scorer-0')).toEqual({ tag_team: 'risk', tag_cost_center: 'cc-0' });
    expect(labels.get('Fraud-Scorer-2')).toEqual({ tag_team: 'payments', tag_cost_center: 'cc-2' });
    // Untagged: no tag label at all; a tag that is not configured: no label either.
    expect(labels.get('Fraud-Scorer-1')).toEqual({});
    expect(labels.get('LLM-Hub')).toEqual({ tag_team: 'genai' });
    expect(labels.get('Chat-Bot')).toEqual({ tag_team: 'assistants', tag_cost_center: 'cc-7' });
    expect(labels.get('embedder')).toEqual({});
    // Every variant row of a tagged endpoint carries them.
    const hubRows = [...metadataSeries(cache, { timestamp: 1, baseLabels: {}, maxLabelValueLength: 1024, tagKeys: KEYS })].filter(
      (s) => s.labels[0]?.value === 'aws_sagemaker_endpoint_info' && s.labels.some((l) => l.value === 'LLM-Hub'),
    );
    expect(hubRows.length).toBeGreaterThan(0);
    expect(hubRows.every((s) => s.labels.some((l) => l.name === 'tag_team' && l.value === 'genai'))).toBe(true);
  });

  test('cached in the state: the next cycle makes no GetResources call; a new resource costs one call for itself', async () => {
    const restored = decodeState(encodeState({ ...emptyState(), sagemaker: cache }), 'mem').sagemaker as SageMakerCache;
    await refreshEndpointMetadata(sagemaker, restored, options(T0 + 60_000));
    expect(getResources()).toEqual([]);
    expect(tagLabelsOf(restored).get('Fraud-Scorer-0')).toEqual({ tag_team: 'risk', tag_cost_center: 'cc-0' });

    // An old state without tags (or an endpoint not yet read): only the unknown ARNs are asked for.
    delete restored.tags?.[endpointArn('Fraud-Scorer-4')];
    await refreshEndpointMetadata(sagemaker, restored, options(T0 + 120_000));
    expect(getResources()).toEqual([[endpointArn('Fraud-Scorer-4')]]);
    cache = restored;
  });

  test('tags are read again after endpointTagsRefresh: a retag shows then', async () => {
    standIn.componentsAndTags.tagResource(componentArn('embedder'), { team: 'search' });
    await refreshEndpointMetadata(sagemaker, cache, options(T0 + 3600_000 - 1));
    expect(getResources()).toEqual([]);
    expect(tagLabelsOf(cache).get('embedder')).toEqual({});
    await refreshEndpointMetadata(sagemaker, cache, options(T0 + 3600_000 + 120_000));
    expect(getResources().map((arns) => arns.length)).toEqual([100, 100, 52]);
    expect(tagLabelsOf(cache).get('embedder')).toEqual({ tag_team: 'search' });
  });

  test('a throttled GetResources keeps the last tags and asks again next cycle', async () => {
    const stale = T0 + 3 * 3600_000;
    standIn.componentsAndTags.throttleTaggingNext(3);
    await refreshEndpointMetadata(sagemaker, cache, options(stale));
    expect(warnings).toContain('tag:GetResources failed; the endpoint tags keep their last values and are asked for again next cycle');
    expect(tagLabelsOf(cache).get('Fraud-Scorer-0')).toEqual({ tag_team: 'risk', tag_cost_center: 'cc-0' });
    standIn.calls.length = 0;
    await refreshEndpointMetadata(sagemaker, cache, options(stale + 60_000));
    expect(getResources().map((arns) => arns.length)).toEqual([100, 100, 52]);
  });

  test('a deleted endpoint ends its _info series with its tag labels, so the marker hits the series written', async () => {
    standIn.deleteEndpoint('Fraud-Scorer-0', T0 + 4 * 3600_000);
    const ended = await refreshEndpointMetadata(sagemaker, cache, options(T0 + 4 * 3600_000 + 60_000));
    expect(tagLabelsOf(ended, true).get('Fraud-Scorer-0')).toEqual({ tag_team: 'risk', tag_cost_center: 'cc-0' });
    expect(cache.tags?.[endpointArn('Fraud-Scorer-0')]).toBeUndefined();
  });

  test('without endpointTags no tags are read, and none are kept in the state', async () => {
    await refreshEndpointMetadata(sagemaker, cache, { ...options(T0 + 5 * 3600_000), tags: undefined });
    expect(getResources()).toEqual([]);
    expect(cache.tags).toBeUndefined();
  });
});

describe('the GetResources stand-in is as strict as the API reference', () => {
  test('ResourceARNList: 1 to 100 ARNs, no filters or paging beside it, unknown ARNs left out without an error', async () => {
    const arn = endpointArn('Fraud-Scorer-2');
    const refused = (input: GetResourcesCommandInput) => expect(tagging.send(new GetResourcesCommand(input))).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await refused({ ResourceARNList: Array.from({ length: 101 }, (_, i) => endpointArn(`e${i}`)) });
    await refused({ ResourceARNList: [] });
    await refused({ ResourceARNList: [arn], TagFilters: [{ Key: 'team' }] });
    await refused({ ResourceARNList: [arn], ResourceTypeFilters: ['sagemaker:endpoint'] });
    await refused({ ResourceARNList: [arn], ResourcesPerPage: 10 });
    await refused({ ResourceARNList: ['not-an-arn'] });
    const answer = await tagging.send(new GetResourcesCommand({ ResourceARNList: [arn, endpointArn('nope'), endpointArn('Fraud-Scorer-1')] }));
    expect(answer.ResourceTagMappingList?.map((m) => m.ResourceARN)).toEqual([arn]);
    // The ARN as SageMaker spells it: the name in lower case.
    expect(arn).toBe('arn:aws:sagemaker:us-east-2:123456789012:endpoint/fraud-scorer-2');
    standIn.componentsAndTags.throttleTaggingNext(1);
    await expect(tagging.send(new GetResourcesCommand({ ResourceARNList: [arn] }))).rejects.toMatchObject({ name: 'ThrottledException' });
  });

  test('without ResourceARNList: tag and type filters, pages of ResourcesPerPage', async () => {
    const first = await tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: 'team', Values: ['genai', 'assistants'] }], ResourceTypeFilters: ['sagemaker'], ResourcesPerPage: 1 }));
    expect(first.ResourceTagMappingList).toHaveLength(1);
    const second = await tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: 'team', Values: ['genai', 'assistants'] }], ResourceTypeFilters: ['sagemaker'], ResourcesPerPage: 1, PaginationToken: first.PaginationToken }));
    expect([...(first.ResourceTagMappingList ?? []), ...(second.ResourceTagMappingList ?? [])].map((m) => m.ResourceARN).sort()).toEqual([endpointArn('LLM-Hub'), componentArn('Chat-Bot')]);
    expect(second.PaginationToken).toBe('');
    const components = await tagging.send(new GetResourcesCommand({ ResourceTypeFilters: ['sagemaker:inference-component'] }));
    const componentArns = components.ResourceTagMappingList?.map((m) => m.ResourceARN ?? '') ?? [];
    expect(componentArns).toContain(componentArn('Chat-Bot'));
    expect(componentArns.every((arn) => arn.includes(':inference-component/'))).toBe(true);
    await expect(tagging.send(new GetResourcesCommand({ ResourcesPerPage: 101 }))).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });
});

describe('the endpointTags key', () => {
  test('label names: tag_ and the key with other characters as _', () => {
    expect(['team', 'cost-center', 'Team', 'aws:cloudformation:stack-name', '2fa'].map(tagLabelName)).toEqual(['tag_team', 'tag_cost_center', 'tag_Team', 'tag_aws_cloudformation_stack_name', 'tag__2fa']);
    expect(resolveConfig({ endpointTags: ['team', 'cost-center'] }, {})).toMatchObject({ endpointTags: ['team', 'cost-center'], endpointTagsRefresh: 3600 });
    expect(resolveConfig({}, {})).toMatchObject({ endpointTags: [] });
  });

  test('refused at synth time, naming the key: two keys with one label, a key AWS would not accept, too many keys, tags without metadata', () => {
    const prefix = 'workloads[0].bridge.config.';
    expect(() => checkBridgeConfig({ endpointTags: ['cost-center', 'cost_center'] }, prefix)).toThrow(
      new ConfigError('config key "workloads[0].bridge.config.endpointTags.1": "cost_center" and "cost-center" both become the label tag_cost_center: keep one of them'),
    );
    expect(() => checkBridgeConfig({ endpointTags: ['team!'] }, prefix)).toThrow(/config key "workloads\[0\]\.bridge\.config\.endpointTags\.0": must be an AWS tag key/);
    expect(() => checkBridgeConfig({ endpointTags: [''] }, prefix)).toThrow(/endpointTags\.0/);
    expect(() => checkBridgeConfig({ endpointTags: Array.from({ length: 21 }, (_, i) => `k${i}`) }, prefix)).toThrow(/endpointTags.*at most 20 tag keys/);
    expect(() => checkBridgeConfig({ endpointTagsRefresh: 0 }, prefix)).toThrow(/endpointTagsRefresh/);
    expect(() => checkBridgeConfig({ endpointTags: ['team'], sagemakerMetadata: false }, prefix)).toThrow(/config key "workloads\[0\]\.bridge\.config\.endpointTags": needs "sagemakerMetadata": true/);
  });
});
