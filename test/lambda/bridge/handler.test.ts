import type { GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { Readable } from 'node:stream';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { emptyState, encodeState } from '../../../lambda/bridge/state/state';
import { RecordingReceiver } from '../../support/harness/recording-receiver';

type CloudWatchModule = typeof import('@aws-sdk/client-cloudwatch');
type S3Module = typeof import('@aws-sdk/client-s3');
type SageMakerModule = typeof import('@aws-sdk/client-sagemaker');
type HandlerModule = typeof import('../../../lambda/bridge/handler');

describe('Lambda handler', () => {
  test('config from INFERWATCH_CONFIG, account from the function ARN, state in S3, samples to the receiver', async () => {
    const receiver = await new RecordingReceiver().start();
    // Lambda provides credentials in the environment; the mocked clients still resolve them.
    process.env.AWS_ACCESS_KEY_ID = 'AKIDLAMBDA';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.INFERWATCH_CONFIG = JSON.stringify({
      region: 'eu-west-1',
      remoteWrite: { url: receiver.url },
      state: { type: 's3', bucket: 'inferwatch-state' },
    });

    /* eslint-disable @typescript-eslint/no-require-imports -- jest.isolateModules loads modules with require */
    // The handler reads its config at module load, so it gets a fresh module registry; the mocks must patch that registry's SDK classes.
    let handler: HandlerModule['handler'] | undefined;
    let s3: ReturnType<typeof mockClient> | undefined;
    let S3: S3Module | undefined;
    jest.isolateModules(() => {
      const CW = require('@aws-sdk/client-cloudwatch') as CloudWatchModule;
      const SM = require('@aws-sdk/client-sagemaker') as SageMakerModule;
      S3 = require('@aws-sdk/client-s3') as S3Module;
      const cw = mockClient(CW.CloudWatchClient);
      cw.on(CW.ListMetricsCommand).resolves({ Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'e' }] }] });
      cw.on(CW.GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
        MetricDataResults: input.MetricDataQueries?.map((q) => ({ Id: q.Id, Timestamps: [new Date((input.EndTime as Date).getTime() - 60_000)], Values: [3], StatusCode: 'Complete' })),
      }));
      mockClient(SM.SageMakerClient).on(SM.ListEndpointsCommand).resolves({ Endpoints: [] });
      s3 = mockClient(S3.S3Client);
      s3.on(S3.GetObjectCommand).rejects(new S3.NoSuchKey({ message: 'none', $metadata: {} }));
      s3.on(S3.PutObjectCommand).resolves({ ETag: '"1"' });
      handler = (require('../../../lambda/bridge/handler') as HandlerModule).handler;
    });
    /* eslint-enable @typescript-eslint/no-require-imports */

    const context = { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:210987654321:function:bridge', getRemainingTimeInMillis: () => 60_000 } as Context;
    let result;
    try {
      result = await handler?.({}, context);
    } finally {
      await receiver.stop();
      delete process.env.INFERWATCH_CONFIG;
    }

    expect(result?.samples).toBeGreaterThan(0);
    const invocations = receiver.series().find((s) => s.labels[0]?.value === 'aws_sagemaker_invocations_total');
    expect(invocations?.labels).toEqual([
      { name: '__name__', value: 'aws_sagemaker_invocations_total' },
      { name: 'account_id', value: '210987654321' },
      { name: 'endpoint_name', value: 'e' },
      { name: 'region', value: 'eu-west-1' },
    ]);
    const puts = s3?.commandCalls((S3 as S3Module).PutObjectCommand).map((c) => c.args[0].input as { Bucket: string; Key: string; IfNoneMatch?: string; IfMatch?: string });
    // The lease object is claimed (If-None-Match on a fresh bucket), each page's requests are journaled beside it (one
    // object a record), the state is committed once (If-None-Match: the first state), then the lease released (If-Match
    // on the claim's ETag).
    const statePuts = puts?.filter((p) => p.Key === 'inferwatch/bridge-state.json');
    expect(statePuts?.map((p) => [p.Bucket, p.IfNoneMatch ?? p.IfMatch])).toEqual([['inferwatch-state', '*']]);
    const leasePuts = puts?.filter((p) => p.Key === 'inferwatch/bridge-state.json.lease');
    expect(leasePuts?.map((p) => [p.Bucket, p.IfNoneMatch ?? p.IfMatch])).toEqual([
      ['inferwatch-state', '*'],
      ['inferwatch-state', '"1"'],
    ]);
    const journalPuts = puts?.filter((p) => !p.Key.startsWith('inferwatch/bridge-state.json') || p.Key.includes('.journal/')) ?? [];
    expect(journalPuts.length).toBeGreaterThan(0);
    for (const put of journalPuts) expect(put.Key).toMatch(/^inferwatch\/bridge-state\.json\.journal\/[\w-]+\/\d+$/);
    expect(s3?.commandCalls((S3 as S3Module).DeleteObjectsCommand)).toHaveLength(1);
  });
});

describe('Lambda handler with remoteWrite.workspaceId', () => {
  test('DescribeWorkspace once per warm container; a workspace not ACTIVE fails the run before any CloudWatch call, and is asked again next run', async () => {
    const receiver = await new RecordingReceiver().start();
    process.env.AWS_ACCESS_KEY_ID = 'AKIDLAMBDA';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.INFERWATCH_CONFIG = JSON.stringify({ region: 'eu-west-1', remoteWrite: { workspaceId: 'ws-0a1b2c3d' }, state: { type: 's3', bucket: 'inferwatch-state' } });

    /* eslint-disable @typescript-eslint/no-require-imports -- jest.isolateModules loads modules with require */
    let handler: HandlerModule['handler'] | undefined;
    let cw: ReturnType<typeof mockClient> | undefined;
    let amp: ReturnType<typeof mockClient> | undefined;
    let AMP: typeof import('@aws-sdk/client-amp') | undefined;
    jest.isolateModules(() => {
      const CW = require('@aws-sdk/client-cloudwatch') as CloudWatchModule;
      const SM = require('@aws-sdk/client-sagemaker') as SageMakerModule;
      const S3 = require('@aws-sdk/client-s3') as S3Module;
      AMP = require('@aws-sdk/client-amp') as typeof import('@aws-sdk/client-amp');
      cw = mockClient(CW.CloudWatchClient);
      cw.on(CW.ListMetricsCommand).resolves({ Metrics: [] });
      mockClient(SM.SageMakerClient).on(SM.ListEndpointsCommand).resolves({ Endpoints: [] });
      const s3 = mockClient(S3.S3Client);
      s3.on(S3.GetObjectCommand).rejects(new S3.NoSuchKey({ message: 'none', $metadata: {} }));
      s3.on(S3.PutObjectCommand).resolves({ ETag: '"1"' });
      amp = mockClient(AMP.AmpClient);
      const workspace = { workspaceId: 'ws-0a1b2c3d', arn: 'arn:aws:aps:eu-west-1:210987654321:workspace/ws-0a1b2c3d', prometheusEndpoint: receiver.url.replace(/api\/v1\/write$/, ''), createdAt: new Date() };
      amp
        .on(AMP.DescribeWorkspaceCommand)
        .resolvesOnce({ workspace: { ...workspace, status: { statusCode: 'CREATING' } } })
        .resolves({ workspace: { ...workspace, status: { statusCode: 'ACTIVE' } } });
      handler = (require('../../../lambda/bridge/handler') as HandlerModule).handler;
    });
    /* eslint-enable @typescript-eslint/no-require-imports */

    const context = { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:210987654321:function:bridge', getRemainingTimeInMillis: () => 60_000 } as Context;
    try {
      await expect(handler?.({}, context)).rejects.toThrow('AMP workspace ws-0a1b2c3d in eu-west-1 is CREATING, not ACTIVE');
      expect(cw?.calls()).toHaveLength(0);
      await handler?.({}, context);
      await handler?.({}, context);
    } finally {
      await receiver.stop();
      delete process.env.INFERWATCH_CONFIG;
    }
    const AmpModule = AMP as typeof import('@aws-sdk/client-amp');
    expect(amp?.commandCalls(AmpModule.DescribeWorkspaceCommand)).toHaveLength(2);
    expect(cw?.calls().length).toBeGreaterThan(0);
    // The resolved endpoint is where the samples went: `<prometheusEndpoint>api/v1/remote_write`.
    expect(receiver.bodies.length).toBeGreaterThan(0);
  });
});

describe('Lambda handler EMF metrics', () => {
  test('carry the shard as a dimension, per invocation, so each shard has a lag metric of its own', async () => {
    const receiver = await new RecordingReceiver().start();
    process.env.AWS_ACCESS_KEY_ID = 'AKIDLAMBDA';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.INFERWATCH_CONFIG = JSON.stringify({ region: 'eu-west-1', remoteWrite: { url: receiver.url }, state: { type: 's3', bucket: 'inferwatch-state' } });

    /* eslint-disable @typescript-eslint/no-require-imports -- jest.isolateModules loads modules with require */
    let handler: HandlerModule['handler'] | undefined;
    jest.isolateModules(() => {
      const CW = require('@aws-sdk/client-cloudwatch') as CloudWatchModule;
      const SM = require('@aws-sdk/client-sagemaker') as SageMakerModule;
      const S3 = require('@aws-sdk/client-s3') as S3Module;
      const cw = mockClient(CW.CloudWatchClient);
      cw.on(CW.ListMetricsCommand).resolves({ Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'e' }] }] });
      cw.on(CW.GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
        MetricDataResults: input.MetricDataQueries?.map((q) => ({ Id: q.Id, Timestamps: [new Date((input.EndTime as Date).getTime() - 60_000)], Values: [3], StatusCode: 'Complete' })),
      }));
      mockClient(SM.SageMakerClient).on(SM.ListEndpointsCommand).resolves({ Endpoints: [] });
      const s3 = mockClient(S3.S3Client);
      s3.on(S3.GetObjectCommand).rejects(new S3.NoSuchKey({ message: 'none', $metadata: {} }));
      s3.on(S3.PutObjectCommand).resolves({ ETag: '"1"' });
      handler = (require('../../../lambda/bridge/handler') as HandlerModule).handler;
    });
    /* eslint-enable @typescript-eslint/no-require-imports */

    const context = { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:210987654321:function:bridge', getRemainingTimeInMillis: () => 60_000 } as Context;
    const written: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await handler?.({ shard: 1, shards: 2 }, context);
      await handler?.({ shard: 0, shards: 2 }, context);
    } finally {
      stdout.mockRestore();
      await receiver.stop();
      delete process.env.INFERWATCH_CONFIG;
    }
    // EMF: one JSON document a line, with an `_aws` key naming its namespace, dimensions and metrics.
    const emf = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { _aws?: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> }; Shard?: string; BridgeLagSeconds?: number })
      .filter((doc) => doc._aws !== undefined);
    expect(emf.map((doc) => doc.Shard)).toEqual(['1', '0']);
    for (const doc of emf) {
      expect(doc._aws?.CloudWatchMetrics).toEqual([expect.objectContaining({ Namespace: 'inferwatch', Dimensions: [['service', 'Shard']] })]);
      expect(doc._aws?.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toContain('BridgeLagSeconds');
      expect(doc.BridgeLagSeconds).toBeGreaterThan(0);
    }
  });
});

describe('Lambda handler and a duplicate delivery', () => {
  /** Runs the handler once against S3 answers set up by `arrange`, capturing its EMF documents. */
  async function runOnce(arrange: (s3: ReturnType<typeof mockClient>, S3: S3Module) => void) {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDLAMBDA';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.INFERWATCH_CONFIG = JSON.stringify({ region: 'eu-west-1', remoteWrite: { url: 'http://127.0.0.1:9/api/v1/write' }, state: { type: 's3', bucket: 'inferwatch-state' } });
    /* eslint-disable @typescript-eslint/no-require-imports -- jest.isolateModules loads modules with require */
    let handler: HandlerModule['handler'] | undefined;
    let cw: ReturnType<typeof mockClient> | undefined;
    let CWm: CloudWatchModule | undefined;
    jest.isolateModules(() => {
      CWm = require('@aws-sdk/client-cloudwatch') as CloudWatchModule;
      const SM = require('@aws-sdk/client-sagemaker') as SageMakerModule;
      const S3 = require('@aws-sdk/client-s3') as S3Module;
      cw = mockClient(CWm.CloudWatchClient);
      cw.on(CWm.ListMetricsCommand).resolves({ Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'e' }] }] });
      cw.on(CWm.GetMetricDataCommand).resolves({ MetricDataResults: [] });
      mockClient(SM.SageMakerClient).on(SM.ListEndpointsCommand).resolves({ Endpoints: [] });
      arrange(mockClient(S3.S3Client), S3);
      handler = (require('../../../lambda/bridge/handler') as HandlerModule).handler;
    });
    /* eslint-enable @typescript-eslint/no-require-imports */
    const context = { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:210987654321:function:bridge', getRemainingTimeInMillis: () => 60_000 } as Context;
    const written: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const result = await handler?.({ shard: 0, shards: 1 }, context);
      const docs = written
        .flatMap((chunk) => chunk.split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      return { result, docs, getMetricDataCalls: cw?.commandCalls((CWm as CloudWatchModule).GetMetricDataCommand).length };
    } finally {
      stdout.mockRestore();
      delete process.env.INFERWATCH_CONFIG;
    }
  }

  test('a live lease held by another run: the run is skipped and counted, not failed (no Errors or DeadLetters alarm)', async () => {
    const held = JSON.stringify({ journal: { id: 'j', base: Date.now() - 600_000, leaseUntil: Date.now() + 120_000, holder: 'another-host/boot/1' } });
    const { docs, result, getMetricDataCalls } = await runOnce((s3, S3) => {
      s3.on(S3.GetObjectCommand, { Key: 'inferwatch/bridge-state.json' }).resolves({ Body: sdkStreamMixin(Readable.from([Buffer.from(encodeState(emptyState()))])), ETag: '"7"' } as never);
      s3.on(S3.GetObjectCommand, { Key: 'inferwatch/bridge-state.json.lease' }).resolves({ Body: sdkStreamMixin(Readable.from([Buffer.from(held)])), ETag: '"3"' } as never);
      s3.on(S3.PutObjectCommand).rejects(new Error('a skipped run writes nothing'));
    });
    expect(result).toEqual({ samples: 0, skipped: true });
    expect(getMetricDataCalls).toBe(0);
    expect(docs.find((doc) => doc.message === 'skipped: another run of this shard is at work')).toMatchObject({ level: 'INFO', shard: 0 });
    expect(docs.find((doc) => doc._aws !== undefined)).toMatchObject({ CyclesSkipped: 1, Shard: '0' });
  });

  test('a claim lost to another run that loaded the same state: skipped and counted, nothing read past the plan', async () => {
    const { docs, result } = await runOnce((s3, S3) => {
      s3.on(S3.GetObjectCommand).rejects(new S3.NoSuchKey({ message: 'none', $metadata: {} }));
      // If-None-Match: * fails when the other run's claim created the object first.
      s3.on(S3.PutObjectCommand).rejects(Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }));
    });
    expect(result).toEqual({ samples: 0, skipped: true });
    expect(docs.find((doc) => doc._aws !== undefined)).toMatchObject({ CyclesSkipped: 1 });
  });
});
