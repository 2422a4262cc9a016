import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ListEndpointsCommand, ListInferenceComponentsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache } from '../../../../lambda/bridge/cloudwatch/discovery';
import { resolveConfig } from '../../../../contract/bridge-config';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';
import type { SageMakerCache } from '../../../../lambda/bridge/sagemaker/cache';
import { SageMakerMetadataSource } from '../../../../lambda/bridge/sources/sagemaker-metadata';
import { emptyState } from '../../../../lambda/bridge/state/state';

const MIN = 60_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
const sm = mockClient(SageMakerClient);
const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function metadataSource() {
  const config = resolveConfig({}, { AWS_REGION: 'us-east-1' });
  const deps = { cloudwatch: new CloudWatchClient({ region: 'us-east-1' }), sagemaker: new SageMakerClient({ region: 'us-east-1' }), discoveryCache: new DiscoveryCache(), baseLabels: {}, logger: quiet };
  const calls = new ApiCallCounter();
  return { source: new SageMakerMetadataSource(deps.sagemaker, { config, catalog: Catalog.withDefaults([], 'inferwatch', 'neuron_monitor'), deps, calls, startedAt: T }), calls };
}

const cached: SageMakerCache = {
  endpoints: { live: { modified: T - 60 * MIN, described: T - MIN, status: 'InService', config: 'c', arn: 'arn:live', variants: [['v', 1, 1, 1, 1, 0]] }, gone: { modified: T - 60 * MIN, described: T - MIN, status: 'InService', config: 'c', arn: 'arn:gone', variants: [['v', 2, 2, 1, 1, 0]] } },
  configs: { c: { v: ['ml.inf2.xlarge', 'm'] } },
};

beforeEach(() => {
  sm.reset();
  sm.on(ListInferenceComponentsCommand).resolves({ InferenceComponents: [] });
});

describe('SageMakerMetadataSource', () => {
  test('reads nothing by window; lists beside the reads; its snapshot has the endpoints now and markers for the ones gone', async () => {
    sm.on(ListEndpointsCommand).resolves({ Endpoints: [{ EndpointName: 'live', EndpointArn: 'arn:live', CreationTime: new Date(T - 60 * MIN), LastModifiedTime: new Date(T - 60 * MIN), EndpointStatus: 'InService' }] });
    const { source, calls } = metadataSource();
    await source.discover();
    expect(calls.count('sagemaker', 'ListEndpoints')).toBe(0);
    const plan = source.plan({ startedAt: T, readStart: T - 17 * MIN, previous: { ...emptyState(), sagemaker: cached } });
    expect([plan.queries, plan.samplesPerPeriod, [...plan.reads()].length, [...plan.families()].length]).toEqual([0, 0, 0, 0]);
    plan.begin?.(() => true);
    const snapshot = await plan.snapshot?.({ at: T - 3 * MIN, endedAt: T - 7 * MIN });
    expect(calls.count('sagemaker', 'ListEndpoints')).toBe(1);
    const current = [...(snapshot?.current ?? [])];
    const ended = [...(snapshot?.ended ?? [])];
    const endpointOf = (s: (typeof current)[number]) => s.labels.find((l) => l.name === 'endpoint_name')?.value;
    expect(new Set(current.map(endpointOf))).toEqual(new Set(['live']));
    expect(current.every((s) => s.samples[0]?.timestamp === T - 3 * MIN)).toBe(true);
    expect(new Set(ended.map(endpointOf))).toEqual(new Set(['gone']));
    expect(ended.every((s) => s.samples[0]?.timestamp === T - 7 * MIN && Number.isNaN(s.samples[0]?.value))).toBe(true);
    // The commit keeps the refreshed cache, with when `gone` went.
    const state = emptyState();
    plan.commit?.(state);
    expect(Object.keys(state.sagemaker?.endpoints ?? {})).toEqual(['live']);
    expect(state.sagemaker?.ended?.gone).toBe(T);
  });

  test('a failed listing fails the snapshot (the cycle does not commit), and is not an unhandled rejection meanwhile', async () => {
    sm.on(ListEndpointsCommand).rejects(new Error('SageMaker ListEndpoints failed with HTTP 500'));
    const { source } = metadataSource();
    const plan = source.plan({ startedAt: T, readStart: T - 17 * MIN, previous: emptyState() });
    plan.begin?.(() => true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(plan.snapshot?.({ at: T - 3 * MIN, endedAt: T - 3 * MIN })).rejects.toThrow('ListEndpoints failed');
  });
});
