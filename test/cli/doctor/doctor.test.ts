import {
  AmpClient,
  DescribeAlertManagerDefinitionCommand,
  DescribeLoggingConfigurationCommand,
  DescribeRuleGroupsNamespaceCommand,
  DescribeWorkspaceCommand,
  DescribeWorkspaceConfigurationCommand,
} from '@aws-sdk/client-amp';
import { CloudWatchClient, CloudWatchServiceException, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { ListEndpointsCommand, SageMakerClient, SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { formatChecks, runDoctor } from '../../../cli/doctor/doctor';
import { RateLimiter } from '../../../lambda/bridge/concurrency';
import type { RawQuery } from '../../../lambda/bridge/remote-write/query';
import { PromQlClient } from '../../../lambda/bridge/sources/promql/client';
import { AwsStandIn } from '../../support/stand-ins/aws-stand-in';
import { CloudWatchPromQlStandIn, STAND_IN_ACCESS_KEY } from '../../support/stand-ins/cloudwatch-promql-stand-in';

const ID = 'ws-0a1b2c3d';
const amp = mockClient(AmpClient);
const cloudwatch = mockClient(CloudWatchClient);
const sagemaker = mockClient(SageMakerClient);
const NOW = 1_800_000_000_000;
const deny = <T extends CloudWatchServiceException | SageMakerServiceException>(Type: new (o: never) => T, action: string) =>
  new Type({ name: 'AccessDeniedException', $fault: 'client', message: `User: arn:aws:sts::210987654321:assumed-role/ops/me is not authorized to perform: ${action}`, $metadata: { httpStatusCode: 403 } } as never);

beforeEach(() => {
  amp.reset();
  cloudwatch.reset();
  sagemaker.reset();
  amp.on(DescribeWorkspaceCommand).resolves({ workspace: { workspaceId: ID, arn: 'arn', status: { statusCode: 'ACTIVE' }, prometheusEndpoint: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0a1b2c3d/', createdAt: new Date() } });
  amp.on(DescribeLoggingConfigurationCommand).resolves({ loggingConfiguration: { status: { statusCode: 'ACTIVE' }, workspace: ID, logGroupArn: 'arn:aws:logs:eu-west-1:1:log-group:x', createdAt: new Date(), modifiedAt: new Date() } });
  amp.on(DescribeRuleGroupsNamespaceCommand).resolves({ ruleGroupsNamespace: { arn: 'a', name: 'inferwatch', status: { statusCode: 'UPDATING' }, data: new Uint8Array(), createdAt: new Date(), modifiedAt: new Date() } });
  amp.on(DescribeWorkspaceConfigurationCommand).resolves({ workspaceConfiguration: { status: { statusCode: 'ACTIVE' }, limitsPerLabelSet: [{ labelSet: { account_id: '210987654321' }, limits: { maxSeries: 4000 } }] } });
  amp.on(DescribeAlertManagerDefinitionCommand).resolves({ alertManagerDefinition: { status: { statusCode: 'ACTIVE' }, data: new Uint8Array(), createdAt: new Date(), modifiedAt: new Date() } });
});

describe('runDoctor (aws-sdk-client-mock)', () => {
  test('✗ CloudWatch and SageMaker not readable with the current credentials, ✗ a namespace still updating; every ✗ carries a fix', async () => {
    cloudwatch.on(ListMetricsCommand).rejects(deny(CloudWatchServiceException, 'cloudwatch:ListMetrics'));
    sagemaker.on(ListEndpointsCommand).rejects(deny(SageMakerServiceException, 'sagemaker:ListEndpoints'));
    const queried: string[] = [];
    const query = (): RawQuery => async (selector) => {
      queried.push(selector);
      return selector.startsWith('inferwatch_bridge_lag_seconds') ? [{ metric: { account_id: '210987654321', region: 'eu-west-1' }, samples: [[NOW - 90_000, 150]] }] : [];
    };
    const checks = await runDoctor(
      { workspaceId: ID, workspaceRegion: 'eu-west-1', region: 'eu-west-1' },
      { amp: new AmpClient({ region: 'eu-west-1' }), cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }), sagemaker: new SageMakerClient({ region: 'eu-west-1' }), query, now: () => NOW },
    );
    expect(formatChecks(checks)).toBe(
      [
        `✓ workspace ${ID}: ACTIVE in eu-west-1`,
        '✓ workspace logging: ACTIVE, to arn:aws:logs:eu-west-1:1:log-group:x',
        '✓ workspace configuration: ACTIVE, AMP\'s default retention, series limits account_id=210987654321: 4000',
        '✗ rule groups namespace inferwatch: UPDATING',
        '    fix: wait until it is ACTIVE (AMP is still applying it), then run doctor again',
        '✓ alert manager definition: ACTIVE',
        '✓ bridge account 210987654321 region eu-west-1: last cycle 90 s ago, lag 150 s, 0 samples written, 0 rejected',
        '✗ CloudWatch in eu-west-1: AccessDeniedException (HTTP 403): User: arn:aws:sts::210987654321:assumed-role/ops/me is not authorized to perform: cloudwatch:ListMetrics',
        '    fix: the credentials need cloudwatch:ListMetrics and cloudwatch:GetMetricData (the bridge role has both)',
        '✗ SageMaker in eu-west-1: AccessDeniedException (HTTP 403): User: arn:aws:sts::210987654321:assumed-role/ops/me is not authorized to perform: sagemaker:ListEndpoints',
        '    fix: the credentials need sagemaker:ListEndpoints, DescribeEndpoint, DescribeEndpointConfig, ListInferenceComponents and DescribeInferenceComponent (and tag:GetResources with endpointTags)',
      ].join('\n'),
    );
    expect(queried).toEqual(['inferwatch_bridge_lag_seconds[3600s]', 'inferwatch_bridge_samples_written_total[3600s]', 'inferwatch_bridge_samples_rejected_total[3600s]']);
    expect(amp.commandCalls(DescribeRuleGroupsNamespaceCommand)[0]?.args[0].input).toEqual({ workspaceId: ID, name: 'inferwatch' });
  });
});

describe('the PromQL API check (a signed GetLabels call against the strict stand-in)', () => {
  const standIn = new CloudWatchPromQlStandIn('eu-west-1');
  beforeAll(() => standIn.start());
  afterAll(() => standIn.stop());

  const promqlChecks = async (endpoint: string) => {
    cloudwatch.on(ListMetricsCommand).resolves({ Metrics: [] });
    sagemaker.on(ListEndpointsCommand).resolves({ Endpoints: [] });
    const client = new PromQlClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: STAND_IN_ACCESS_KEY, secretAccessKey: 'stand-in-secret' }, limiter: new RateLimiter(5), maxInFlight: 1, sleep: async () => {} });
    const checks = await runDoctor(
      { workspaceId: ID, workspaceRegion: 'eu-west-1', region: 'eu-west-1' },
      { amp: new AmpClient({ region: 'eu-west-1' }), cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }), sagemaker: new SageMakerClient({ region: 'eu-west-1' }), query: () => async () => [], now: () => Date.now(), promql: { client, endpoint } },
    );
    return formatChecks(checks.filter((c) => c.name.startsWith('CloudWatch PromQL')));
  };

  test('✓ when it answers, saying whether the account has the mapped metrics', async () => {
    standIn.series.push({ labels: { __name__: 'vllm:num_requests_waiting', '@resource.host.id': 'i-1' }, temporality: 'gauge', samples: [[Date.now() - 60_000, 3]] });
    expect(await promqlChecks(standIn.url)).toBe(`✓ CloudWatch PromQL API in eu-west-1: answers at ${standIn.url}: 1 metric names in the last hour, 1 of them SageMaker detailed-observability metrics the bridge maps`);
    expect(standIn.calls.at(-1)).toMatchObject({ path: '/api/v1/label/__name__/values', status: 200 });
  });

  test('✗ with the fix when it refuses (403)', async () => {
    standIn.denyAll = true;
    try {
      expect(await promqlChecks(standIn.url)).toMatch(/^✗ CloudWatch PromQL API in eu-west-1: refused \(HTTP 403 AccessDeniedException\): .*\n {4}fix: the credentials need cloudwatch:GetMetricData and cloudwatch:ListMetrics/);
    } finally {
      standIn.denyAll = false;
    }
  });

  test('✓ when the host offers no PromQL API (a region without it): the source stays inactive, which is no fault', async () => {
    const cloudwatchOnly = new AwsStandIn({ endpoints: [], neuronHosts: [], neuronNamespace: 'neuron_monitor' });
    await cloudwatchOnly.start();
    try {
      const url = cloudwatchOnly.env().AWS_ENDPOINT_URL_CLOUDWATCH as string;
      expect(await promqlChecks(url)).toMatch(/^✓ CloudWatch PromQL API in eu-west-1: not offered at .* \(HTTP 400 .*\): the PromQL source stays inactive$/);
    } finally {
      await cloudwatchOnly.stop();
    }
  });

  test('✗ with the fix when nothing answers', async () => {
    const closed = new CloudWatchPromQlStandIn('eu-west-1');
    await closed.start();
    const url = closed.url;
    await closed.stop();
    expect(await promqlChecks(url)).toMatch(new RegExp(`^✗ CloudWatch PromQL API in eu-west-1: unreachable or refused at ${url.replace(/\./g, '\\.')}: .*\\n {4}fix: check the network and the region`));
  });
});
