import { DescribeEndpointCommand, DescribeEndpointConfigCommand, ListEndpointsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { EndpointConfigCache, endpointMetadata } from '../../../../lambda/bridge/sagemaker/metadata';
import { ApiCallCounter } from '../../../../lambda/bridge/self-metrics';

const sm = mockClient(SageMakerClient);
const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const flat = (series: Awaited<ReturnType<typeof endpointMetadata>>) =>
  series.map((s) => `${s.labels.map((l) => (l.name === '__name__' ? l.value : `${l.name}=${l.value}`)).join(' ')} => ${s.samples[0]?.value}@${s.samples[0]?.timestamp}`);

beforeEach(() => sm.reset());

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

    const cache = new EndpointConfigCache();
    const calls = new ApiCallCounter();
    const series = await endpointMetadata(new SageMakerClient({ region: 'us-east-1' }), cache, 1000, { region: 'us-east-1' }, 1024, calls, quiet);
    expect(flat(series)).toEqual([
      'aws_sagemaker_endpoint_info endpoint_config_name=a-config endpoint_name=a endpoint_status=Updating instance_type=ml.inf1.xlarge model_name=m region=us-east-1 variant_name=blue => 1@1000',
      'aws_sagemaker_variant_instances endpoint_name=a region=us-east-1 state=current variant_name=blue => 2@1000',
      'aws_sagemaker_variant_instances endpoint_name=a region=us-east-1 state=desired variant_name=blue => 4@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=current variant_name=blue => 1@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=desired variant_name=blue => 1@1000',
      'aws_sagemaker_endpoint_info endpoint_config_name=a-config endpoint_name=a endpoint_status=Updating instance_type=serverless model_name=m2 region=us-east-1 variant_name=sls => 1@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=current variant_name=sls => 0@1000',
      'aws_sagemaker_variant_weight endpoint_name=a region=us-east-1 state=desired variant_name=sls => 0@1000',
    ]);
    expect(calls.count('sagemaker', 'ListEndpoints')).toBe(2);
    sm.on(ListEndpointsCommand).resolves({ Endpoints: [{ EndpointName: 'a', EndpointArn: 'arn', CreationTime: new Date(), LastModifiedTime: new Date(), EndpointStatus: 'InService' }] });
    await endpointMetadata(new SageMakerClient({ region: 'us-east-1' }), cache, 2000, {}, 1024, calls, quiet);
    expect(sm.commandCalls(DescribeEndpointConfigCommand)).toHaveLength(1);
  });
});
