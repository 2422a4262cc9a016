import { DescribeInferenceComponentCommand, ListInferenceComponentsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { RateLimiter } from '../../../../lambda/bridge/concurrency';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { COMPONENT_REFRESH_MS, emptySageMakerCache, METADATA_FAMILIES, metadataSeries, refreshEndpointMetadata, type MetadataOptions } from '../../../../lambda/bridge/sagemaker/metadata';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';
import { STALE_NAN } from '../../../../lambda/bridge/state/series-state';
import { decodeState, encodeState, emptyState } from '../../../../lambda/bridge/state/state';
import type { SageMakerCache } from '../../../../lambda/bridge/sagemaker/cache';
import { AwsStandIn } from '../../../support/stand-ins/aws-stand-in';
import { type FleetEndpoint } from '../../../support/stand-ins/fleet';

const HUB: FleetEndpoint = {
  name: 'llm-hub',
  shape: 'inference-components',
  components: ['llm-chat', 'llm-embed'],
  variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.12xlarge', instances: 2, weight: 1 }],
};
const T0 = 1_800_000_000_000;

let standIn: AwsStandIn;
let client: SageMakerClient;
const warnings: string[] = [];
const logger: BridgeLogger = { debug: () => {}, info: () => {}, warn: (message) => warnings.push(message), error: () => {} };

beforeEach(async () => {
  standIn = await new AwsStandIn({ endpoints: [HUB, { name: 'plain', variants: [{ name: 'AllTraffic', instanceType: 'ml.m5.large', instances: 1, weight: 1 }] }], neuronHosts: [], neuronNamespace: 'n' }).start();
  client = new SageMakerClient({ region: 'us-east-2', endpoint: standIn.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  warnings.length = 0;
});
afterEach(async () => {
  client.destroy();
  await standIn.stop();
});

function options(now: number, calls = new ApiCallCounter()): MetadataOptions {
  return { now, refreshMs: 6 * 3600_000, concurrency: 4, limiter: new RateLimiter(1e9), maxDescribes: 1000, calls, logger, inShard: () => true };
}

/** `family{labels} value` of the component families, for readable expectations. */
function componentLines(cache: SageMakerCache, stale = false): string[] {
  return [...metadataSeries(cache, { timestamp: 1, baseLabels: { region: 'us-east-2' }, maxLabelValueLength: 1024, stale })]
    .filter((s) => s.labels[0]?.value.startsWith('aws_sagemaker_inference_component_'))
    .map((s) => `${s.labels[0]?.value}{${s.labels.slice(1).map((l) => `${l.name}=${l.value}`).join(',')}} ${Object.is(s.samples[0]?.value, STALE_NAN) ? 'stale' : s.samples[0]?.value}`);
}

const counts = () => [standIn.counts.get('ListInferenceComponents') ?? 0, standIn.counts.get('DescribeInferenceComponent') ?? 0];

describe('inference component copy counts', () => {
  test('desired and current copies per component from DescribeInferenceComponent, with an _info series; every family has HELP', async () => {
    const cache = emptySageMakerCache();
    const calls = new ApiCallCounter();
    await refreshEndpointMetadata(client, cache, options(T0, calls));
    expect(componentLines(cache)).toEqual([
      'aws_sagemaker_inference_component_info{endpoint_name=llm-hub,inference_component_name=llm-chat,inference_component_status=InService,region=us-east-2,variant_name=AllTraffic} 1',
      'aws_sagemaker_inference_component_info{endpoint_name=llm-hub,inference_component_name=llm-embed,inference_component_status=InService,region=us-east-2,variant_name=AllTraffic} 1',
      'aws_sagemaker_inference_component_desired_copies{endpoint_name=llm-hub,inference_component_name=llm-chat,region=us-east-2} 2',
      'aws_sagemaker_inference_component_desired_copies{endpoint_name=llm-hub,inference_component_name=llm-embed,region=us-east-2} 2',
      'aws_sagemaker_inference_component_current_copies{endpoint_name=llm-hub,inference_component_name=llm-chat,region=us-east-2} 2',
      'aws_sagemaker_inference_component_current_copies{endpoint_name=llm-hub,inference_component_name=llm-embed,region=us-east-2} 2',
    ]);
    expect([calls.count('sagemaker', 'ListInferenceComponents'), calls.count('sagemaker', 'DescribeInferenceComponent')]).toEqual([1, 2]);
    // The listing asks for full pages (100, the most SageMaker allows) and no filter.
    expect(standIn.callsTo('ListInferenceComponents')[0]?.body).toEqual({ MaxResults: 100 });
    const families = new Set(METADATA_FAMILIES.map((f) => f.family));
    for (const family of ['aws_sagemaker_inference_component_info', 'aws_sagemaker_inference_component_desired_copies', 'aws_sagemaker_inference_component_current_copies']) expect(families).toContain(family);
  });

  test('cached between cycles; re-described when LastModifiedTime moves, every cycle while current differs from desired, else after COMPONENT_REFRESH_MS', async () => {
    const cache = emptySageMakerCache();
    await refreshEndpointMetadata(client, cache, options(T0));
    expect(counts()).toEqual([1, 2]);

    // A warm or cold start with the cache from the state: the listing only.
    await refreshEndpointMetadata(client, decodeState(encodeState({ ...emptyState(), sagemaker: cache }), 'mem').sagemaker as SageMakerCache, options(T0 + 60_000));
    expect(counts()).toEqual([2, 2]);

    // Autoscaling asks for 4 copies (LastModifiedTime moves); 2 are placed so far.
    standIn.componentsAndTags.setCopies('llm-chat', { desired: 4, current: 2 }, (T0 + 90_000) / 1000);
    await refreshEndpointMetadata(client, cache, options(T0 + 120_000));
    expect(counts()).toEqual([3, 3]);
    expect(componentLines(cache).filter((l) => l.includes('llm-chat') && l.includes('copies'))).toEqual([
      'aws_sagemaker_inference_component_desired_copies{endpoint_name=llm-hub,inference_component_name=llm-chat,region=us-east-2} 4',
      'aws_sagemaker_inference_component_current_copies{endpoint_name=llm-hub,inference_component_name=llm-chat,region=us-east-2} 2',
    ]);
    // Copies placed without LastModifiedTime moving: a scaling component is described every cycle until it settles.
    standIn.componentsAndTags.setCopies('llm-chat', { desired: 4, current: 3 });
    await refreshEndpointMetadata(client, cache, options(T0 + 180_000));
    expect(counts()).toEqual([4, 4]);
    standIn.componentsAndTags.setCopies('llm-chat', { desired: 4, current: 4 });
    await refreshEndpointMetadata(client, cache, options(T0 + 240_000));
    expect(counts()).toEqual([5, 5]);
    expect(cache.components?.['llm-chat']).toMatchObject({ desired: 4, current: 4 });
    await refreshEndpointMetadata(client, cache, options(T0 + 300_000));
    expect(counts()).toEqual([6, 5]);

    // A silent change on a settled component shows after at most COMPONENT_REFRESH_MS.
    standIn.componentsAndTags.setCopies('llm-embed', { desired: 1, current: 1 });
    await refreshEndpointMetadata(client, cache, options(T0 + COMPONENT_REFRESH_MS - 1));
    expect(cache.components?.['llm-embed']).toMatchObject({ desired: 2, current: 2 });
    await refreshEndpointMetadata(client, cache, options(T0 + COMPONENT_REFRESH_MS));
    expect(cache.components?.['llm-embed']).toMatchObject({ desired: 1, current: 1 });
  });

  test('the describe budget is shared with the endpoints: what is left waits for the next cycle', async () => {
    const cache = emptySageMakerCache();
    // 2 endpoints + 2 configs use 4 of 5: one component this cycle, the other next.
    await refreshEndpointMetadata(client, cache, { ...options(T0), maxDescribes: 5 });
    expect(Object.keys(cache.components ?? {})).toHaveLength(1);
    await refreshEndpointMetadata(client, cache, { ...options(T0 + 60_000), maxDescribes: 5 });
    expect(Object.keys(cache.components ?? {}).sort()).toEqual(['llm-chat', 'llm-embed']);
  });

  test('a deleted component goes with a staleness marker on each of its series', async () => {
    const cache = emptySageMakerCache();
    await refreshEndpointMetadata(client, cache, options(T0));
    standIn.deleteEndpoint('llm-hub', T0 + 30_000);
    const ended = await refreshEndpointMetadata(client, cache, options(T0 + 60_000));
    expect(cache.components).toEqual({});
    const markers = componentLines(ended, true);
    expect(markers).toHaveLength(6);
    expect(markers.every((l) => l.endsWith(' stale'))).toBe(true);

  });

  test('a failed ListInferenceComponents keeps the cached components (no staleness markers for a refusal)', async () => {
    const cache = emptySageMakerCache();
    await refreshEndpointMetadata(client, cache, options(T0));
    const send = client.send.bind(client);
    const spy = jest.spyOn(client, 'send').mockImplementation(((command: unknown) =>
      command instanceof ListInferenceComponentsCommand ? Promise.reject(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' })) : send(command as never)) as typeof client.send);
    const ended = await refreshEndpointMetadata(client, cache, options(T0 + 60_000));
    spy.mockRestore();
    expect(Object.keys(cache.components ?? {})).toHaveLength(2);
    expect(ended.components).toEqual({});
    expect(warnings).toContain('ListInferenceComponents failed; inference component copies are not refreshed this cycle');
  });

  test('the stand-in is as strict as SageMaker: unknown or malformed names and MaxResults out of range are ValidationExceptions', async () => {
    await expect(client.send(new DescribeInferenceComponentCommand({ InferenceComponentName: 'nope' }))).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Could not find inference component') });
    await expect(client.send(new DescribeInferenceComponentCommand({ InferenceComponentName: 'bad_name' }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(new DescribeInferenceComponentCommand({ InferenceComponentName: 'x'.repeat(64) }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(new ListInferenceComponentsCommand({ MaxResults: 101 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(new ListInferenceComponentsCommand({ EndpointNameEquals: 'bad_name' }))).rejects.toMatchObject({ name: 'ValidationException' });
    // Default page of 10, filters and paging.
    const filtered = await client.send(new ListInferenceComponentsCommand({ EndpointNameEquals: 'plain' }));
    expect(filtered.InferenceComponents).toEqual([]);
    const first = await client.send(new ListInferenceComponentsCommand({ MaxResults: 1, SortBy: 'Name', SortOrder: 'Ascending' }));
    expect(first.InferenceComponents?.map((c) => c.InferenceComponentName)).toEqual(['llm-chat']);
    const second = await client.send(new ListInferenceComponentsCommand({ MaxResults: 1, SortBy: 'Name', SortOrder: 'Ascending', NextToken: first.NextToken }));
    expect([second.InferenceComponents?.map((c) => c.InferenceComponentName), second.NextToken]).toEqual([['llm-embed'], undefined]);
  });

  test('a DescribeInferenceComponent refused (deleted between list and describe) is a warning, not a failed cycle', async () => {
    const cache = emptySageMakerCache();
    // The listing still names a component that describe no longer knows.
    const listing = { InferenceComponents: [{ InferenceComponentName: 'ghost', EndpointName: 'llm-hub', InferenceComponentArn: 'arn:aws:sagemaker:us-east-2:123456789012:inference-component/ghost', CreationTime: new Date(), LastModifiedTime: new Date(), InferenceComponentStatus: 'InService' }] };
    const send = client.send.bind(client);
    const spy = jest.spyOn(client, 'send').mockImplementation(((command: unknown) => (command instanceof ListInferenceComponentsCommand ? Promise.resolve({ ...listing, $metadata: {} }) : send(command as never))) as typeof client.send);
    await refreshEndpointMetadata(client, cache, options(T0));
    spy.mockRestore();
    expect(cache.components).toEqual({});
    expect(warnings).toContain('DescribeInferenceComponent failed; its copy counts are not refreshed this cycle');
  });

  test('a state written before components were read (no components, no ARNs) decodes and fills in', async () => {
    const old: SageMakerCache = {
      endpoints: { 'llm-hub': { modified: 1_700_000_000_000, described: T0, status: 'InService', config: 'llm-hub-config', variants: [['AllTraffic', 2, 2, 1, 1, 0]] } },
      configs: { 'llm-hub-config': { AllTraffic: ['ml.g5.12xlarge', ''] } },
    };
    const decoded = decodeState(encodeState({ ...emptyState(), sagemaker: old }), 'mem').sagemaker as SageMakerCache;
    expect(decoded).toEqual(old);
    await refreshEndpointMetadata(client, decoded, options(T0 + 60_000));
    expect(decoded.endpoints['llm-hub']?.arn).toBe('arn:aws:sagemaker:us-east-2:123456789012:endpoint/llm-hub');
    expect(Object.keys(decoded.components ?? {}).sort()).toEqual(['llm-chat', 'llm-embed']);
  });
});
