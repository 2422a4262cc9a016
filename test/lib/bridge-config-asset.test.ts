import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aws, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { ConfigError } from '../../contract/errors';
import { BridgeConfigAsset } from '../../lib/bridge-config-asset';
import { CloudWatchBridge } from '../../lib/cloudwatch-bridge';
import { resolveIntrinsics } from '../support/harness/cfn-intrinsics';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';
import { RecordingReceiver } from '../support/harness/recording-receiver';

/** Lambda's quota: "Total size of environment variables set: 4 KB", keys and values together. */
const LAMBDA_ENV_LIMIT = 4 * 1024;
/** The longest name S3 allows a bucket: what CloudFormation may substitute for the state bucket's Ref. */
const LONGEST_BUCKET_NAME = 'x'.repeat(63);

/** A custom catalog well past 4 KB: one renamed SageMaker counter (to see it arrive) and many entries of a namespace of its own. */
function largeCatalog() {
  return [
    { namespace: 'AWS/SageMaker', metrics: [{ metric: 'Invocations', type: 'counter', name: 'team_invocations_total', help: 'Invocations, as the team names them.' }] },
    {
      namespace: 'Team/Inference',
      metrics: Array.from({ length: 60 }, (_, i) => ({ metric: `QueueDepthOfModel${i}`, type: 'gauge', name: `team_queue_depth_of_model_${i}`, help: `Requests waiting for model ${i}.` })),
    },
  ];
}

type FunctionResource = { Type: string; Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, unknown> } } };

function synthBridge(bridgeConfig: Record<string, unknown>, outdir = mkdtempSync(join(tmpdir(), 'iw-bridge-config-'))) {
  const app = new App({ outdir });
  const stack = new Stack(app, 'Workload', { env: { account: '111111111111', region: 'eu-west-1' } });
  const bridge = new CloudWatchBridge(stack, 'Bridge', {
    workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    workspaceArn: 'arn:aws:aps:eu-west-1:111111111111:workspace/ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    logRetention: logs.RetentionDays.ONE_MONTH,
    bridgeConfig,
  });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, FunctionResource> };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function') as FunctionResource;
  const bucketId = stack.getLogicalId(bridge.stateBucket.node.defaultChild as s3.CfnBucket);
  // What Lambda would hold once CloudFormation has resolved the references, with the longest bucket name S3 allows.
  const environment = resolveIntrinsics(fn.Properties.Environment.Variables, { refs: { [bucketId]: LONGEST_BUCKET_NAME } }) as Record<string, string>;
  return { outdir, environment, assetDir: join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`) };
}

describe('the bridge config ships in the code asset, not in the 4 KB of environment variables', () => {
  const config = { period: 60, latency: 'summary', catalog: largeCatalog() };

  test('a catalog past 4 KB synthesizes; the function environment stays far below 4 KB; the asset carries the config', () => {
    expect(Buffer.byteLength(JSON.stringify(config))).toBeGreaterThan(LAMBDA_ENV_LIMIT);
    const { outdir, environment, assetDir } = synthBridge(config);
    try {
      const size = Object.entries(environment).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
      expect(size).toBeLessThan(LAMBDA_ENV_LIMIT / 4);
      expect(environment.INFERWATCH_CONFIG_ASSET).toBe('bridge-config.json');
      // The environment keeps only what CloudFormation resolves: the workspace and the state bucket.
      expect(Object.keys(JSON.parse(environment.INFERWATCH_CONFIG as string)).sort()).toEqual(['remoteWrite', 'state']);
      expect(JSON.parse(environment.INFERWATCH_CONFIG as string).state.bucket).toBe(LONGEST_BUCKET_NAME);
      expect(JSON.parse(readFileSync(join(assetDir, 'bridge-config.json'), 'utf8'))).toEqual(config);
      expect(existsSync(join(assetDir, 'index.js'))).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('a changed config is a new asset (CDK caches bundles within a process: the config must be part of what it keys on)', () => {
    // The same output directory twice, as `cdk synth` run again after an edit would have it.
    const first = synthBridge(config);
    const second = synthBridge({ ...config, period: 120 }, first.outdir);
    try {
      expect(first.assetDir).not.toBe(second.assetDir);
      expect(JSON.parse(readFileSync(join(first.assetDir, 'bridge-config.json'), 'utf8')).period).toBe(60);
      expect(JSON.parse(readFileSync(join(second.assetDir, 'bridge-config.json'), 'utf8')).period).toBe(120);
    } finally {
      rmSync(first.outdir, { recursive: true, force: true });
    }
  });

  test('the bundled handler, with the environment from the template, reads the shipped file: the custom catalog names what it writes', async () => {
    const { outdir, environment, assetDir } = synthBridge(config);
    const standIn = await new AwsStandIn(defaultFleet()).start();
    const receiver = await new RecordingReceiver().start();
    const saved = { ...process.env };
    // As deployed, except where the run writes: a local receiver instead of the workspace, and state in a directory.
    Object.assign(process.env, standIn.env(), {
      INFERWATCH_CONFIG_ASSET: environment.INFERWATCH_CONFIG_ASSET,
      INFERWATCH_CONFIG: JSON.stringify({ remoteWrite: { url: receiver.url }, state: { type: 'file', directory: join(outdir, 'state') } }),
    });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is plain CommonJS on disk
      const bundle = require(join(assetDir, 'index.js')) as { handler: (event: unknown, context: unknown) => Promise<{ samples: number }> };
      const result = await bundle.handler({ shard: 0, shards: 1 }, { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:bridge', getRemainingTimeInMillis: () => 60_000 });
      expect(result.samples).toBeGreaterThan(0);
      const names = new Set(receiver.series().map((s) => s.labels[0]?.value));
      expect(names).toContain('team_invocations_total');
      expect(names).not.toContain('aws_sagemaker_invocations_total');
      // `latency: summary` came from the file too: quantiles, no histogram buckets.
      expect(names).toContain('aws_sagemaker_model_latency_seconds');
      expect([...names].some((name) => name?.endsWith('_bucket'))).toBe(false);
    } finally {
      process.env = saved;
      await receiver.stop();
      await standIn.stop();
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('BridgeConfigAsset', () => {
  test('the installed package (a prebuilt bundle, no esbuild): a copy of the bundle with the config beside it, one per config', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'iw-prebuilt-'));
    try {
      const bundle = join(outdir, 'bundle');
      mkdirSync(bundle);
      writeFileSync(join(bundle, 'index.js'), 'exports.handler = async () => ({});\n');
      writeFileSync(join(bundle, 'default-catalog.yaml'), 'namespaces: []\n');
      const stack = new Stack(new App({ outdir }), 'Packaged');
      const prebuilt = { code: lambda.Code.fromAsset(bundle), handler: 'index.handler' };
      const first = new BridgeConfigAsset(stack, { period: 300 }).prebuiltCode(prebuilt);
      const second = new BridgeConfigAsset(stack, { period: 120 }).prebuiltCode(prebuilt);
      const dirs = [first, second].map((code) => (code.code as lambda.AssetCode).path);
      expect(new Set(dirs).size).toBe(2);
      for (const dir of dirs) expect(readdirSync(dir).sort()).toEqual(['bridge-config.json', 'default-catalog.yaml', 'index.js']);
      expect(dirs.map((dir) => JSON.parse(readFileSync(join(dir, 'bridge-config.json'), 'utf8')).period)).toEqual([300, 120]);
      expect(first.handler).toBe('index.handler');
      // The bundle itself is left as it was: it is shared by every bridge the package synthesizes.
      expect(readdirSync(bundle).sort()).toEqual(['default-catalog.yaml', 'index.js']);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('a value known only at deploy time cannot go into a file written at synth: a ConfigError naming the key', () => {
    const stack = new Stack(new App(), 'Tokens');
    expect(() => new BridgeConfigAsset(stack, { region: Aws.REGION })).toThrow(ConfigError);
    expect(() => new BridgeConfigAsset(stack, { region: Aws.REGION })).toThrow('config key "bridge.config" holds a value known only at deploy time');
  });
});
