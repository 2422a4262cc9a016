import { DescribeEndpointCommand, DescribeEndpointConfigCommand, ListEndpointsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { RateLimiter } from '../../../../lambda/bridge/concurrency';
import { emptySageMakerCache, metadataSeries, refreshEndpointMetadata, type MetadataOptions } from '../../../../lambda/bridge/sagemaker/metadata';
import type { SageMakerCache } from '../../../../lambda/bridge/sagemaker/cache';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';

const sm = mockClient(SageMakerClient);
const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const flat = (series: ReturnType<typeof seriesOf>) =>
  series.map((s) => `${s.labels.map((l) => (l.name === '__name__' ? l.value : `${l.name}=${l.value}`)).join(' ')} => ${s.samples[0]?.value}@${s.samples[0]?.timestamp}`);

beforeEach(() => sm.reset());

function seriesOf(cache: SageMakerCache, timestamp: number, baseLabels: Record<string, string> = {}) {
  return [...metadataSeries(cache, { timestamp, baseLabels, maxLabelValueLength: 1024 })];
}
async function endpointMetadata(client: SageMakerClient, cache: SageMakerCache, opts: MetadataOptions & { timestamp?: number; baseLabels?: Record<string, string> }) {
  await refreshEndpointMetadata(client, cache, opts);
  return seriesOf(cache, opts.timestamp ?? 0, opts.baseLabels);
}

const options = (_timestamp: number, now: number, calls: ApiCallCounter): MetadataOptions => ({
  now,
  refreshMs: 6 * 3600_000,
  concurrency: 4,
  limiter: new RateLimiter(1e9),
  maxDescribes: 1000,
  calls,
  logger: quiet,
  inShard: () => true,
});
const modified = new Date(1_700_000_000_000);

describe('endpointMetadata', () => {
  test('info, instance counts and weights per variant; endpoint configs cached', async () => {
    sm.on(ListEndpointsCommand)
      .resolvesOnce({ Endpoints: [{ EndpointName: 'a', EndpointArn: 'arn', CreationTime: new Date(), LastModifiedTime: new Date(), EndpointStatus: 'InService' }], NextToken: 'n' })
      .resolves({ Endpoints: [{ EndpointName: 'gone', EndpointArn: 'arn2', CreationTime: new Date(), LastModifiedTime: new Date(), EndpointStatus: 'Deleting' }] });
    sm.on(DescribeEndpointCommand, { EndpointName: 'a' }).resolves({
      EndpointName: 'a',
      EndpointConfigName: 'a-config',
      EndpointStatus: 'Updating',
      ProductionVariants: [
        { VariantName: 'blue', CurrentInstanceCount: 2, DesiredInstanceCount: 4, CurrentWeight: 1, DesiredWeight: 1 },
        { VariantName: 'sls', CurrentServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 }, CurrentWeight: 0, DesiredWeight: 0 },
      ],
    });
    sm.on(DescribeEndpointCommand, { EndpointName: 'gone' }).rejects(new Error('Could not find endpoint'));
    sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [{ VariantName: 'blue', InstanceType: 'ml.inf1.xlarge', ModelName: 'm' }, { VariantName: 'sls', ModelName: 'm2' }] });

    const cache = emptySageMakerCache();
    const calls = new ApiCallCounter();
    const series = await endpointMetadata(new SageMakerClient({ region: 'us-east-1' }), cache, { ...options(1000, 1000, calls), timestamp: 1000, baseLabels: { region: 'us-east-1' } });
    // One family after the other, as the text exposition needs them.
    expect(flat(series)).toEqual([
      'aws_sagemaker_endpoint_info endpoint_config_name=a-config endpoint_name=a endpoint_status=Updating instance_type=ml.inf1.xlarge model_name=m region=us-east-1 variant_name=blue => 1@1000',
      'aws_sagemaker_endpoint_info endpoint_config_name=a-config endpoint_name=a endpoint_status=Updating instance_type=serverless model_name=m2 region=us-east-1 variant_name=sls => 1@1000',
      'aws_sagemaker_variant_instances endpoint_name=a region=us-east-1 state=current variant_name=blue => 2@1000',
      'aws_sagemaker_variant_instances endpoint_name=a region=us-east-1 state=desired variant_name=blue => 4@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=current variant_name=blue => 1@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=desired variant_name=blue => 1@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=current variant_name=sls => 0@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=desired variant_name=sls => 0@1000',
    ]);
    expect(calls.count('sagemaker', 'ListEndpoints')).toBe(2);
    sm.on(ListEndpointsCommand).resolves({ Endpoints: [{ EndpointName: 'a', EndpointArn: 'arn', CreationTime: new Date(), LastModifiedTime: new Date(), EndpointStatus: 'InService' }] });
    await endpointMetadata(new SageMakerClient({ region: 'us-east-1' }), cache, options(2000, 2000, calls));
    expect(sm.commandCalls(DescribeEndpointConfigCommand)).toHaveLength(1);
  });

  test('SageMaker calls grow with change, not with the fleet: unchanged endpoints are not described again', async () => {
    const names = Array.from({ length: 250 }, (_, i) => `e${i}`);
    let changed = '';
    sm.on(ListEndpointsCommand).callsFake((input: { NextToken?: string }) => {
      const from = Number(input.NextToken ?? 0);
      const page = names.slice(from, from + 100).map((name) => ({
        EndpointName: name,
        EndpointArn: `arn:${name}`,
        CreationTime: modified,
        LastModifiedTime: name === changed ? new Date(modified.getTime() + 60_000) : modified,
        EndpointStatus: 'InService',
      }));
      return { Endpoints: page, ...(from + 100 < names.length ? { NextToken: String(from + 100) } : {}) };
    });
    sm.on(DescribeEndpointCommand).callsFake((input: { EndpointName: string }) => ({
      EndpointName: input.EndpointName,
      EndpointConfigName: 'shared-config',
      EndpointStatus: 'InService',
      LastModifiedTime: input.EndpointName === changed ? new Date(modified.getTime() + 60_000) : modified,
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: input.EndpointName === changed ? 3 : 1, DesiredInstanceCount: 1, CurrentWeight: 1, DesiredWeight: 1 }],
    }));
    sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', ModelName: 'm' }] });
    const client = new SageMakerClient({ region: 'us-east-1' });
    // A describe budget smaller than the fleet: the first cycles describe what they may, the next ones carry on.
    const budgeted = emptySageMakerCache();
    const firstCalls = new ApiCallCounter();
    await endpointMetadata(client, budgeted, { ...options(1000, 1000, firstCalls), maxDescribes: 200 });
    expect([Object.keys(budgeted.endpoints).length, firstCalls.count('sagemaker', 'DescribeEndpoint')]).toEqual([100, 100]);
    await endpointMetadata(client, budgeted, { ...options(1000, 1000, firstCalls), maxDescribes: 200 });
    expect(Object.keys(budgeted.endpoints).length).toBe(200);

    const cache = emptySageMakerCache();
    const calls = new ApiCallCounter();
    await endpointMetadata(client, cache, options(1000, 1000, calls));
    expect([calls.count('sagemaker', 'ListEndpoints'), calls.count('sagemaker', 'DescribeEndpoint'), calls.count('sagemaker', 'DescribeEndpointConfig')]).toEqual([3, 250, 1]);

    // A warm or cold start with the cache from the state: only the listing.
    const steady = new ApiCallCounter();
    await endpointMetadata(client, structuredClone(cache), options(2000, 2000, steady));
    expect([steady.count('sagemaker', 'DescribeEndpoint'), steady.count('sagemaker', 'DescribeEndpointConfig')]).toEqual([0, 0]);

    // One endpoint scaled out (its LastModifiedTime moved): one DescribeEndpoint, and the new count is written.
    changed = 'e7';
    const scaled = new ApiCallCounter();
    const series = await endpointMetadata(client, cache, options(3000, 3000, scaled));
    expect(scaled.count('sagemaker', 'DescribeEndpoint')).toBe(1);
    const current = series.find((s) => s.labels.some((l) => l.value === 'e7') && s.labels.some((l) => l.value === 'current') && s.labels[0]?.value === 'aws_sagemaker_variant_instances');
    expect(current?.samples[0]?.value).toBe(3);

    // After the refresh interval, unchanged endpoints are described again.
    const refresh = new ApiCallCounter();
    await endpointMetadata(client, cache, options(4000, 3000 + 6 * 3600_000, refresh));
    expect(refresh.count('sagemaker', 'DescribeEndpoint')).toBe(250);
  });
});
