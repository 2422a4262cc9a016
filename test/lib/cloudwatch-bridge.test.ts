import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { S3Client } from '@aws-sdk/client-s3';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3StateStore } from '../../lambda/bridge/state/s3-state-store';
import { emptyState, encodeState } from '../../lambda/bridge/state/state';
import { CloudWatchBridge, type CloudWatchBridgeProps } from '../../lib/cloudwatch-bridge';
import { resolveIntrinsics } from '../support/harness/cfn-intrinsics';
import { S3StandIn, type PolicyStatement } from '../support/stand-ins/s3-stand-in';

const WORKSPACE_ARN = 'arn:aws:aps:eu-west-1:111111111111:workspace/ws-1234';

function synth(props: Partial<CloudWatchBridgeProps> = {}) {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const bridge = new CloudWatchBridge(stack, 'Bridge', { workspaceId: 'ws-1234', workspaceArn: WORKSPACE_ARN, logRetention: logs.RetentionDays.TWO_WEEKS, ...props });
  return { template: Template.fromStack(stack), bridge, stack };
}

/** Every statement of the bridge role's policy, actions sorted. */
function statements(template: Template): Array<{ Sid?: string; Action: string[]; Resource: unknown }> {
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^BridgeRole') }] } }));
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement).map((s: { Sid?: string; Action: string | string[]; Resource: unknown }) => ({ ...s, Action: [s.Action].flat().sort() }));
}

describe('CloudWatchBridge', () => {
  test('a NodejsFunction on the newest Node runtime, arm64, traced, source maps, logging to a log group with retention', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 240,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^BridgeLogs') } },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BridgeDeadLetters'), 'Arn'] } },
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps --max-old-space-size=307', INFERWATCH_CONFIG: Match.anyValue(), INFERWATCH_CONFIG_ASSET: 'bridge-config.json' } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
  });

  test('the environment carries the workspace id (no URL: the bridge asks DescribeWorkspace), SigV4 and the state bucket; the user settings ship in the asset', () => {
    const { template } = synth({ bridgeConfig: { period: 300, revisionWindow: '20m', neuronNamespace: 'Neuron' } });
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    const joined = JSON.stringify(fn?.Properties.Environment.Variables.INFERWATCH_CONFIG);
    expect(joined).not.toContain('period');
    expect(joined).toContain('\\"remoteWrite\\":{\\"workspaceId\\":\\"ws-1234\\",\\"auth\\":{\\"type\\":\\"sigv4\\"}}');
    expect(joined).not.toContain('remote_write');
    const other = synth({ workspaceRegion: 'us-west-2' }).template;
    expect(JSON.stringify(Object.values(other.findResources('AWS::Lambda::Function'))[0]?.Properties.Environment.Variables.INFERWATCH_CONFIG)).toContain(
      '\\"auth\\":{\\"type\\":\\"sigv4\\",\\"region\\":\\"us-west-2\\"}',
    );
    expect(joined).toMatch(/\\"state\\":\{\\"type\\":\\"s3\\",\\"bucket\\":\\"",\{"Ref":"BridgeState/);
  });

  test('IAM: describe and remote write on the one workspace, CloudWatch read, SageMaker describe scoped, state object only', () => {
    const { template } = synth();
    const bySid = Object.fromEntries(statements(template).filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(bySid.RemoteWrite).toMatchObject({ Action: ['aps:DescribeWorkspace', 'aps:QueryMetrics', 'aps:RemoteWrite'], Resource: WORKSPACE_ARN });
    expect(bySid.ReadCloudWatchMetrics).toMatchObject({ Action: ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics'], Resource: '*' });
    expect(bySid.ListSageMakerEndpoints).toMatchObject({ Action: ['sagemaker:ListEndpoints', 'sagemaker:ListInferenceComponents'], Resource: '*' });
    expect(bySid.DescribeInferenceComponents).toMatchObject({
      Action: ['sagemaker:DescribeInferenceComponent'],
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':inference-component/*']] },
    });
    // Tags are read only when endpointTags are configured.
    expect(statements(template).flatMap((s) => s.Action)).not.toContain('tag:GetResources');
    expect(bySid.DescribeSageMakerEndpoints).toMatchObject({
      Action: ['sagemaker:DescribeEndpoint', 'sagemaker:DescribeEndpointConfig'],
      Resource: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint/*']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint-config/*']] },
      ],
    });
    expect(bySid.BridgeState).toMatchObject({ Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'], Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^BridgeState/), 'Arn'] }, '/inferwatch/*']] } });
    expect(bySid.BridgeStateExists).toMatchObject({ Action: ['s3:ListBucket'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BridgeState/), 'Arn'] } });
    // No AWS-managed policy on the role.
    template.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }, ManagedPolicyArns: Match.absent() });
  });

  test('endpointTags: tag:GetResources on * (it takes no resource-level permissions), acknowledged with its reason, cdk-nag clean', () => {
    const app = new App();
    const stack = new Stack(app, 'Tags', { env: { account: '111111111111', region: 'eu-west-1' } });
    new CloudWatchBridge(stack, 'Bridge', { workspaceId: 'ws-1234', workspaceArn: WORKSPACE_ARN, bridgeConfig: { endpointTags: ['team', 'cost-center'] } });
    // Before the first synth (Template.fromStack synthesizes, and the app keeps that assembly).
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^BridgeRole') }],
      PolicyDocument: { Statement: Match.arrayWith([{ Sid: 'ReadEndpointTags', Effect: 'Allow', Action: 'tag:GetResources', Resource: '*' }]) },
    });
    const policy = stack.node.findChild('Bridge').node.findChild('Role').node.findChild('DefaultPolicy');
    const reasons = JSON.stringify(policy.node.metadata);
    expect(reasons).toContain('tag:GetResources');
    expect(() => new CloudWatchBridge(new Stack(new App()), 'Bad', { workspaceId: 'ws-1234', workspaceArn: WORKSPACE_ARN, bridgeConfig: { endpointTags: ['team', 'team!'] } })).toThrow(/config key "endpointTags\.1"/);
  });

  test('from an empty bucket, with exactly the S3 permissions of the synthesized role, the state store starts, saves, reloads, journals and clears its journal', async () => {
    const { template, stack, bridge } = synth();
    const bucketId = stack.getLogicalId(bridge.stateBucket.node.defaultChild as s3.CfnBucket);
    const deployment = { refs: { 'AWS::Partition': 'aws', [bucketId]: 'state-bucket' }, attributes: { [`${bucketId}.Arn`]: 'arn:aws:s3:::state-bucket' } };
    const policy = statements(template)
      .filter((s) => s.Action.some((a) => a.startsWith('s3:')))
      .map((s) => resolveIntrinsics(s, deployment) as PolicyStatement);
    const storeAt = (endpoint: string) =>
      new S3StateStore(new S3Client({ region: 'eu-west-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }), 'state-bucket', 'inferwatch/bridge-state.json');
    const withPolicy = async (statements: readonly PolicyStatement[], use: (store: S3StateStore, standIn: S3StandIn) => Promise<void>) => {
      const standIn = await new S3StandIn('state-bucket', statements).start();
      try {
        await use(storeAt(standIn.endpoint), standIn);
      } finally {
        await standIn.stop();
      }
    };
    const state = encodeState({ ...emptyState(), selfCounters: { runs: 1 } });
    const record = new Uint8Array(Buffer.from('journal record'));

    await withPolicy(policy, async (store, standIn) => {
      expect(await store.load()).toEqual({ bytes: undefined, version: undefined });
      const version = await store.save(state, undefined);
      const loaded = await store.load();
      expect(Buffer.from(loaded.bytes as Uint8Array)).toEqual(state);
      expect(loaded.version).toBe(version);
      await store.appendJournal('j1', 0, record);
      expect(Buffer.from((await store.readJournal('j1', 0)) as Uint8Array)).toEqual(Buffer.from(record));
      // Past the last record S3 must say 404, which needs ListBucket as much as the first load does.
      expect(await store.readJournal('j1', 1)).toBeUndefined();
      await store.clearJournal('j1', 1);
      expect([...standIn.objects.keys()]).toEqual(['inferwatch/bridge-state.json']);
    });
    // Without ListBucket the store never gets past its first load: S3 says 403, not 404.
    await withPolicy(
      policy.filter((s) => ![s.Action].flat().includes('s3:ListBucket')),
      async (store) => expect(store.load()).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
    );
    // Without DeleteObject every committed cycle would leave its journal records behind.
    await withPolicy(
      policy.map((s) => ({ ...s, Action: [s.Action].flat().filter((a) => a !== 's3:DeleteObject') })),
      async (store, standIn) => {
        await store.appendJournal('j1', 0, record);
        await store.clearJournal('j1', 1);
        expect([...standIn.objects.keys()]).toEqual(['inferwatch/bridge-state.json.journal/j1/0']);
      },
    );
  });

  test('cross-account: assume the writer role instead of writing with its own role', () => {
    const { template } = synth({ workspaceArn: undefined, writerRoleArn: 'arn:aws:iam::999999999999:role/inferwatch-remote-writer' });
    const all = statements(template);
    expect(all.find((s) => s.Sid === 'AssumeWriterRole')).toMatchObject({ Action: ['sts:AssumeRole'], Resource: 'arn:aws:iam::999999999999:role/inferwatch-remote-writer' });
    expect(all.some((s) => s.Action.includes('aps:RemoteWrite'))).toBe(false);
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    expect(JSON.stringify(fn?.Properties.Environment.Variables.INFERWATCH_CONFIG)).toContain('\\"roleArn\\":\\"arn:aws:iam::999999999999:role/inferwatch-remote-writer\\"');
  });

  test('one EventBridge Scheduler schedule per shard at the configured rate, each with its shard as input, failures to the DLQ', () => {
    const { template } = synth({ scheduleMinutes: 10, shards: 3, timeout: Duration.minutes(8) });
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(3);
    expect(schedules.map((s) => s.Properties.ScheduleExpression)).toEqual(['rate(10 minutes)', 'rate(10 minutes)', 'rate(10 minutes)']);
    expect(schedules.map((s) => JSON.parse(s.Properties.Target.Input))).toEqual([
      { shard: 0, shards: 3 },
      { shard: 1, shards: 3 },
      { shard: 2, shards: 3 },
    ]);
    for (const s of schedules) {
      expect(s.Properties.Target).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 0 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^BridgeDeadLetters/), 'Arn'] } } });
    }
  });

  test('encryption: state bucket (SSE, SSL only, versioned, no public access) and dead-letter queue', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  test('with a customer key: state bucket, dead-letter queue and log group use it, and the key lets CloudWatch Logs in', () => {
    const stack = new Stack(new App(), 'Keyed', { env: { account: '111111111111', region: 'eu-west-1' } });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new CloudWatchBridge(stack, 'Bridge', { workspaceId: 'ws-1234', workspaceArn: WORKSPACE_ARN, encryptionKey: key });
    const template = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] };
    template.hasResourceProperties('AWS::S3::Bucket', { BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true }] } });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: keyArn });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: keyArn });
    template.hasResourceProperties('AWS::KMS::Key', { KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowCloudWatchLogs', Principal: { Service: 'logs.eu-west-1.amazonaws.com' } })]) } });
  });

  test('state bucket lifecycle: old versions expire after a week, then the delete markers journal deletes leave behind, and stale multipart uploads', () => {
    const { template } = synth();
    // One rule: ExpiredObjectDeleteMarker only may not share a rule with an Expiration in days or a date (S3 LifecycleExpiration).
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'ExpireOldVersionsAndDeleteMarkers',
            Status: 'Enabled',
            NoncurrentVersionExpiration: { NoncurrentDays: 7 },
            ExpiredObjectDeleteMarker: true,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            ExpirationInDays: Match.absent(),
            ExpirationDate: Match.absent(),
          },
        ],
      },
    });
  });

  test('reserved concurrency: none by default; when set, at least one execution per shard', () => {
    synth().template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
    synth({ shards: 3, reservedConcurrency: 3 }).template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 3 });
    expect(() => synth({ shards: 3, reservedConcurrency: 2 })).toThrow('reservedConcurrency must be a whole number of at least shards (3)');
    expect(() => synth({ reservedConcurrency: 1.5 })).toThrow('reservedConcurrency must be a whole number');
  });

  test('one lag alarm per shard, each selecting its shard: a stopped shard cannot hide behind the others', () => {
    const { template } = synth({ scheduleMinutes: 10, shards: 3, timeout: Duration.minutes(8) });
    const lag = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'BridgeLagSeconds' } }));
    const dimensions = lag.map((a) => Object.fromEntries((a.Properties.Dimensions as Array<{ Name: string; Value: string }>).map((d) => [d.Name, d.Value])));
    expect(dimensions).toEqual([0, 1, 2].map((shard) => ({ service: 'inferwatch-bridge', Shard: String(shard) })));
    for (const alarm of lag) expect(alarm.Properties).toMatchObject({ Statistic: 'Maximum', Period: 1200, TreatMissingData: 'breaching' });
  });

  test('alarms on errors, throttles, lag (missing data breaches, over two schedule intervals) and dead letters', () => {
    const { template } = synth({ scheduleMinutes: 5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Throttles', Namespace: 'AWS/Lambda' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'BridgeLagSeconds',
      Namespace: 'inferwatch',
      Dimensions: Match.arrayWith([{ Name: 'Shard', Value: '0' }, { Name: 'service', Value: 'inferwatch-bridge' }]),
      Statistic: 'Maximum',
      Period: 600,
      EvaluationPeriods: 1,
      Threshold: 3 * 300 + 120,
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible' });
  });

  test('the lag alarm stays quiet for a healthy bridge whose runs are not aligned to the clock, and fires once it stops', () => {
    for (const scheduleMinutes of [1, 5, 15]) {
      const timeoutSeconds = Math.min(240, scheduleMinutes * 60 - 10);
      const { template } = synth({ scheduleMinutes, timeout: Duration.seconds(timeoutSeconds) });
      const lag = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'BridgeLagSeconds' } }))[0]?.Properties as {
        Period: number;
        EvaluationPeriods: number;
        DatapointsToAlarm?: number;
      };
      const interval = scheduleMinutes * 60;
      // CloudWatch aggregates into periods aligned to the clock; a run reports when it ends, anywhere up to its timeout after it starts.
      let random = 12345;
      const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let trial = 0; trial < 200; trial++) {
        const offset = next() * interval;
        const reports = Array.from({ length: 40 }, (_, k) => offset + k * interval + next() * timeoutSeconds);
        const stoppedAt = reports[reports.length - 1] as number;
        const breaching = (start: number) => !reports.some((t) => t >= start && t < start + lag.Period);
        const firstPeriod = Math.ceil((offset + interval) / lag.Period) * lag.Period;
        // While the bridge runs, no window the alarm evaluates may be all-missing (which counts as breaching).
        for (let start = firstPeriod; start + lag.EvaluationPeriods * lag.Period <= stoppedAt - interval; start += lag.Period) {
          const windows = Array.from({ length: lag.EvaluationPeriods }, (_, i) => breaching(start + i * lag.Period));
          expect({ scheduleMinutes, trial, start, fires: windows.filter(Boolean).length >= (lag.DatapointsToAlarm ?? lag.EvaluationPeriods) }).toEqual({ scheduleMinutes, trial, start, fires: false });
        }
        // Once it stops, the alarm fires within a few intervals.
        const afterStop = Math.ceil(stoppedAt / lag.Period) * lag.Period;
        expect(Array.from({ length: lag.EvaluationPeriods }, (_, i) => breaching(afterStop + i * lag.Period)).every(Boolean)).toBe(true);
        expect(afterStop + lag.EvaluationPeriods * lag.Period - stoppedAt).toBeLessThanOrEqual(4 * interval);
      }
    }
  });

  test('an event older than one schedule interval is dropped, not run hours late (Lambda async config and the schedule target)', () => {
    const { template } = synth({ scheduleMinutes: 10, timeout: Duration.minutes(8) });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 600 });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { Target: { RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 600 } } });
    synth({ scheduleMinutes: 1, timeout: Duration.seconds(50) }).template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 60 });
  });

  test('conflicting or impossible props throw', () => {
    expect(() => synth({ writerRoleArn: 'arn:aws:iam::999999999999:role/x' })).toThrow('exactly one of workspaceArn (same account) or writerRoleArn (cross-account)');
    expect(() => synth({ scheduleMinutes: 2 })).toThrow('timeout (240s) must be below the schedule interval (120s)');
    expect(() => synth({ shards: 0 })).toThrow('shards must be a whole number from 1');
    expect(() => synth({ scheduleMinutes: 721 })).toThrow('scheduleMinutes must be at most 720');
    expect(() => synth({ bridgeConfig: { period: 45 } })).toThrow('config key "period"');
    expect(() => synth({ bridgeConfig: { remoteWrite: { url: 'http://x' } } })).toThrow('config key "bridge.config.remoteWrite" is set by the CloudWatchBridge construct');
  });
});
