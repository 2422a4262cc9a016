import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { parseInferwatchConfig } from '../../lib/config/inferwatch-config';
import { buildInferwatch } from '../../lib/inferwatch-app';
import { AmpStandIn } from '../support/stand-ins/amp-stand-in';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';
import { RecordingReceiver } from '../support/harness/recording-receiver';
import { addNagChecks } from '../../bin/nag-checks';

const MULTI = {
  monitoring: { account: '111111111111', region: 'eu-west-1', workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789', alertEmails: ['ops@example.com'] },
  workloads: [
    // Summary latency: 27 series a variant instead of the histogram's 45.
    { account: '111111111111', region: 'eu-west-1', bridge: { config: { latency: 'summary' } } },
    { account: '222222222222', region: 'eu-west-1', bridge: { shards: 2 }, fleet: { variants: 200, neuronHosts: 10 } },
    { account: '333333333333', region: 'us-east-1', activeSeriesLimit: 25_000, bridge: { scheduleMinutes: 15, timeoutSeconds: 600, config: { neuronNamespace: 'Neuron' } } },
  ],
};

/** Identity-policy actions whose resource can only be `*`, each for its reason. */
const WILDCARD_RESOURCE_ALLOWED = new Set([
  'cloudwatch:GetMetricData', // no resource-level permissions
  'cloudwatch:ListMetrics', // no resource-level permissions
  'sagemaker:ListEndpoints', // List* take no resource
  'sagemaker:ListInferenceComponents',
  'tag:GetResources', // no resource-level permissions (only with endpointTags)
  'xray:PutTraceSegments', // Lambda active tracing
  'xray:PutTelemetryRecords',
]);

/** What CloudFormation would make of `arn:${AWS::Partition}:...` in the given partition. */
function resolvePartition(value: unknown, partition: string): string {
  if (typeof value === 'string') return value;
  const parts = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts.map((part) => (typeof part === 'string' ? part : (part as { Ref: string }).Ref === 'AWS::Partition' ? partition : JSON.stringify(part))).join('');
}

function identityStatements(template: Template): Array<{ Action: string[]; Resource: unknown[] }> {
  const fromPolicies = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
  const inline = Object.values(template.findResources('AWS::IAM::Role')).flatMap((r) => (r.Properties.Policies ?? []).flatMap((p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement));
  return [...fromPolicies, ...inline].map((s: { Action: string | string[]; Resource: unknown }) => ({ Action: [s.Action].flat(), Resource: [s.Resource].flat() }));
}

describe('the CDK app', () => {
  test('zero config synthesizes a monitoring and a workload stack without credentials, cdk-nag clean', () => {
    const app = addNagChecks(new App());
    const stacks = buildInferwatch(app, parseInferwatchConfig(undefined));
    expect(() => app.synth()).not.toThrow();
    expect([stacks.monitoring.stackName, ...stacks.workloads.map((w) => w.stackName)]).toEqual(['Inferwatch-Monitoring', 'Inferwatch-Workload']);
    Template.fromStack(stacks.workloads[0] as never).resourceCountIs('AWS::Scheduler::Schedule', 1);
    // Without an account in the config, the limit's account_id is the deploying account's, resolved by CloudFormation.
    Template.fromStack(stacks.monitoring).hasResourceProperties('AWS::APS::Workspace', {
      WorkspaceConfiguration: { LimitsPerLabelSets: [{ LabelSet: [{ Name: 'account_id', Value: { Ref: 'AWS::AccountId' } }], Limits: { MaxSeries: 7000 } }] },
    });
  });

  test('cdk-nag findings fail the synth (the checks do run)', () => {
    const app = addNagChecks(new App());
    const stacks = buildInferwatch(app, parseInferwatchConfig(undefined));
    new sns.Topic(stacks.monitoring, 'Unencrypted');
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
  });

  test('multi-account: stacks per account and region, writer role trusted by the other accounts, cdk-nag clean', () => {
    const app = addNagChecks(new App());
    const { monitoring, workloads } = buildInferwatch(app, parseInferwatchConfig(MULTI));
    expect(() => app.synth()).not.toThrow();
    expect(workloads.map((w) => [w.stackName, w.account, w.region])).toEqual([
      ['Inferwatch-Workload', '111111111111', 'eu-west-1'],
      ['Inferwatch-Workload-222222222222-eu-west-1', '222222222222', 'eu-west-1'],
      ['Inferwatch-Workload-333333333333-us-east-1', '333333333333', 'us-east-1'],
    ]);
    const mon = Template.fromStack(monitoring);
    const writer = Object.values(mon.findResources('AWS::IAM::Role', { Properties: { RoleName: 'inferwatch-remote-writer' } }))[0];
    const trusted = (writer?.Properties.AssumeRolePolicyDocument.Statement as Array<{ Action: string; Principal: { AWS: unknown } }>).flatMap((st) => {
      expect(st.Action).toBe('sts:AssumeRole');
      return [st.Principal.AWS].flat().map((p) => JSON.stringify(p).match(/iam::(\d{12}):root/)?.[1]);
    });
    expect(trusted.sort()).toEqual(['222222222222', '333333333333']);
    mon.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^RemoteWriter') }],
      PolicyDocument: {
        Statement: Match.arrayWith([{ Action: ['aps:DescribeWorkspace', 'aps:QueryMetrics', 'aps:RemoteWrite'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PrometheusWorkspace'), 'Arn'] }, Sid: 'RemoteWrite' }]),
      },
    });
    mon.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    // One active-series limit per workload account, derived from its fleet unless given.
    mon.hasResourceProperties('AWS::APS::Workspace', {
      WorkspaceConfiguration: {
        LimitsPerLabelSets: [
          { LabelSet: [{ Name: 'account_id', Value: '111111111111' }], Limits: { MaxSeries: 5000 } },
          // 3 × (200 × 45 + 10 × 40 + 30) = 28,290
          { LabelSet: [{ Name: 'account_id', Value: '222222222222' }], Limits: { MaxSeries: 29000 } },
          { LabelSet: [{ Name: 'account_id', Value: '333333333333' }], Limits: { MaxSeries: 25000 } },
        ],
        RetentionPeriodInDays: Match.absent(),
      },
    });
    const sameAccount = JSON.stringify(Template.fromStack(workloads[0] as never).toJSON());
    expect(sameAccount).toContain(':aps:eu-west-1:111111111111:workspace/ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789');
    const other = Template.fromStack(workloads[1] as never);
    other.resourceCountIs('AWS::Scheduler::Schedule', 2);
    expect(JSON.stringify(other.toJSON())).toContain(':iam::111111111111:role/inferwatch-remote-writer');
    // Workloads get the workspace id and its region, never a URL built by hand.
    expect(JSON.stringify(other.toJSON())).toContain(
      '\\"remoteWrite\\":{\\"workspaceId\\":\\"ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789\\",\\"auth\\":{\\"type\\":\\"sigv4\\",\\"region\\":\\"eu-west-1\\",\\"roleArn\\"',
    );
    Template.fromStack(workloads[2] as never).hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(15 minutes)' });
  });

  test('the writer role trusts only the bridge and collector roles of the other accounts, by aws:PrincipalArn', () => {
    const app = addNagChecks(new App());
    const { monitoring, workloads } = buildInferwatch(app, parseInferwatchConfig(MULTI));
    const writer = Object.values(Template.fromStack(monitoring).findResources('AWS::IAM::Role', { Properties: { RoleName: 'inferwatch-remote-writer' } }))[0];
    const statements = writer?.Properties.AssumeRolePolicyDocument.Statement as Array<{ Condition?: { ArnLike?: Record<string, unknown> } }>;
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      const patterns = [statement.Condition?.ArnLike?.['aws:PrincipalArn']].flat().map((p) => resolvePartition(p, 'aws'));
      expect(patterns.sort()).toEqual(['arn:aws:iam::222222222222:role/inferwatch/*', 'arn:aws:iam::333333333333:role/inferwatch/*']);
      // The roles the workload stacks create sit under that path; an administrator's role in the same account does not.
      const allowed = (arn: string) => patterns.some((p) => new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`).test(arn));
      for (const workload of workloads.slice(1)) {
        const roles = Object.values(Template.fromStack(workload).findResources('AWS::IAM::Role')).filter((r) => JSON.stringify(r).match(/lambda\.amazonaws\.com|ec2\.amazonaws\.com/));
        expect(roles).toHaveLength(2);
        for (const role of roles) expect(allowed(`arn:aws:iam::${workload.account}:role${role.Properties.Path}GeneratedName`)).toBe(true);
      }
      expect(allowed('arn:aws:iam::222222222222:role/Admin')).toBe(false);
      expect(allowed('arn:aws:iam::444444444444:role/inferwatch/x')).toBe(false);
    }
  });

  test('a second install with another stackPrefix gets its own writer role name and role path', () => {
    const app = addNagChecks(new App());
    const { monitoring, workloads } = buildInferwatch(app, parseInferwatchConfig({ ...MULTI, stackPrefix: 'Staging' }));
    Template.fromStack(monitoring).hasResourceProperties('AWS::IAM::Role', { RoleName: 'staging-remote-writer' });
    const other = JSON.stringify(Template.fromStack(workloads[1] as never).toJSON());
    expect(other).toContain(':iam::111111111111:role/staging-remote-writer');
    expect(other).toContain('"Path":"/staging/"');
    expect(() => parseInferwatchConfig({ stackPrefix: 'A'.repeat(41) })).toThrow('config key "stackPrefix": must be at most 40 characters');
  });

  test('no literal arn:aws: or amazonaws.com endpoint: every ARN and URL follows the stack partition (aws-cn, aws-us-gov)', () => {
    const app = addNagChecks(new App());
    const { monitoring, workloads } = buildInferwatch(app, parseInferwatchConfig(MULTI));
    for (const stack of [monitoring, ...workloads]) {
      const text = JSON.stringify(Template.fromStack(stack).toJSON());
      expect(text).not.toMatch(/arn:aws:/);
      expect(text).not.toMatch(/aps-workspaces\.[a-z0-9-]+\.amazonaws\.com/);
    }
  });

  test('stack outputs carry the names the README uses, not CDK path hashes', () => {
    const app = addNagChecks(new App());
    const { monitoring, workloads } = buildInferwatch(app, parseInferwatchConfig(undefined));
    // CDK's own cross-stack references (ExportsOutput...) aside, every output has its plain name.
    const named = (stack: never) => Object.keys(Template.fromStack(stack).findOutputs('*')).filter((name) => !name.startsWith('ExportsOutput')).sort();
    expect(named(monitoring as never)).toEqual(['GrafanaUrl', 'QueryUrl', 'RemoteWriteUrl', 'WorkspaceFingerprint', 'WorkspaceId']);
    expect(named(workloads[0] as never)).toEqual(['EnrolmentTag', 'InstancePolicyArn', 'InstanceProfileName']);
  });

  test('demo hosts (inf1 with its looked-up image, inf2) synthesize cdk-nag clean', () => {
    const config = parseInferwatchConfig({
      monitoring: { account: '111111111111', region: 'eu-west-1' },
      workloads: [{ neuronCollector: { demoHost: true } }, { region: 'us-east-1', neuronCollector: { demoHost: true, demoHostInstanceType: 'inf2.xlarge' } }],
    });
    config.monitoring.workspaceId = 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    // The first synth records the lookups the CLI would make (the inf1 image, the VPCs' zones); the second answers
    // them as cdk.context.json would.
    const probe = addNagChecks(new App());
    buildInferwatch(probe, config);
    // The probe's template carries CDK's placeholder image id, which template validation reports; expected here.
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const missing = probe.synth().manifest.missing ?? [];
    quiet.mockRestore();
    expect(missing.filter((m) => m.provider === 'ami')).toHaveLength(1);
    const answer = (m: (typeof missing)[number]) => (m.provider === 'ami' ? 'ami-0123456789abcdef0' : ['a', 'b'].map((z) => `${(m.props as { region: string }).region}${z}`));
    const app = addNagChecks(new App({ context: Object.fromEntries(missing.map((m) => [m.key, answer(m)])) }));
    const { workloads } = buildInferwatch(app, config);
    expect(() => app.synth()).not.toThrow();
    Template.fromStack(workloads[0] as never).hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'inf1.xlarge', ImageId: 'ami-0123456789abcdef0' });
    Template.fromStack(workloads[1] as never).hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'inf2.xlarge' });
  });

  test('phase 1 of a cross-account rollout: without monitoring.workspaceId the monitoring stack synthesizes; each other workload is an empty stack whose error says what to set', () => {
    const app = addNagChecks(new App());
    const phase1 = { monitoring: { account: '111111111111', region: 'eu-west-1' }, workloads: [{}, { account: '222222222222', region: 'eu-west-1' }, { region: 'us-east-1' }] };
    const { monitoring, workloads, pending } = buildInferwatch(app, parseInferwatchConfig(phase1));
    expect(workloads.map((w) => w.stackName)).toEqual(['Inferwatch-Workload']);
    expect(pending.map((s) => s.stackName)).toEqual(['Inferwatch-Workload-222222222222-eu-west-1', 'Inferwatch-Workload-111111111111-us-east-1']);
    Template.fromStack(monitoring).hasResourceProperties('AWS::IAM::Role', { RoleName: 'inferwatch-remote-writer' });
    for (const stack of pending) {
      expect(Template.fromStack(stack).toJSON().Resources ?? {}).toEqual({});
      const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('config key "monitoring.workspaceId" is not set'));
      expect(errors.map((e) => e.entry.data)).toEqual([expect.stringContaining(`phase 1, deploy Inferwatch-Monitoring alone (npx cdk deploy Inferwatch-Monitoring); phase 2, set monitoring.workspaceId`)]);
    }
    expect(Annotations.fromStack(monitoring).findError('*', Match.anyValue())).toEqual([]);
  });

  test('no IAM statement allows Action "*", and only the read-only listing actions take Resource "*"', () => {
    const app = addNagChecks(new App());
    const { monitoring, workloads } = buildInferwatch(app, parseInferwatchConfig(MULTI));
    const all = [monitoring, ...workloads].flatMap((stack) => identityStatements(Template.fromStack(stack)));
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((s) => s.Action.includes('*'))).toEqual([]);
    const wildcard = all.filter((s) => s.Resource.includes('*'));
    for (const statement of wildcard) expect(statement.Action.filter((a) => !WILDCARD_RESOURCE_ALLOWED.has(a))).toEqual([]);
    expect(wildcard.flatMap((s) => s.Action)).toEqual(expect.arrayContaining(['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics']));
  });

  test('the bundled Lambda runs: catalog shipped beside it, the workspace id resolved by the AMP stand-in, one cycle against the stand-in, samples to a receiver', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'iw-cdk-'));
    const app = addNagChecks(new App({ outdir }));
    const { workloads } = buildInferwatch(app, parseInferwatchConfig(undefined));
    const assembly = app.synth();
    // The workload stack's function names its code by asset hash: <hash>.zip.
    const template = assembly.getStackByName(workloads[0]?.stackName as string).template as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string }; Environment?: { Variables: Record<string, unknown> } } }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const keys = functions.map((r) => r.Properties.Code?.S3Key);
    expect(keys).toHaveLength(1);
    const assetDir = join(outdir, `asset.${String(keys[0]).replace(/\.zip$/, '')}`);
    expect(existsSync(join(assetDir, 'index.js'))).toBe(true);
    expect(existsSync(join(assetDir, 'default-catalog.yaml'))).toBe(true);
    // The bridge settings ship beside the bundle; the function's environment names the file.
    const configAsset = functions[0]?.Properties.Environment?.Variables.INFERWATCH_CONFIG_ASSET;
    expect(configAsset).toBe('bridge-config.json');
    expect(existsSync(join(assetDir, configAsset as string))).toBe(true);

    const standIn = await new AwsStandIn(defaultFleet()).start();
    const receiver = await new RecordingReceiver().start();
    const amp = await new AmpStandIn('us-east-2', new URL(receiver.url).origin).start();
    amp.addWorkspace('ws-0a1b2c3d');
    const saved = { ...process.env };
    Object.assign(process.env, standIn.env(), amp.env(), {
      INFERWATCH_CONFIG_ASSET: configAsset,
      INFERWATCH_CONFIG: JSON.stringify({
        remoteWrite: { workspaceId: 'ws-0a1b2c3d' },
        state: { type: 'file', directory: join(outdir, 'state') },
      }),
    });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is plain CommonJS on disk
      const bundle = require(join(assetDir, 'index.js')) as { handler: (event: unknown, context: unknown) => Promise<{ samples: number }> };
      const result = await bundle.handler({ shard: 0, shards: 1 }, { invokedFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:bridge', getRemainingTimeInMillis: () => 60_000 });
      expect(result.samples).toBeGreaterThan(100);
      const names = new Set(receiver.series().map((s) => s.labels[0]?.value));
      expect([...names]).toEqual(expect.arrayContaining(['aws_sagemaker_invocations_total', 'neuroncore_utilization_ratio', 'aws_sagemaker_endpoint_info']));
      expect(amp.callsTo('DescribeWorkspace')).toHaveLength(1);
      expect(amp.callsTo('RemoteWrite').every((c) => c.signed)).toBe(true);
    } finally {
      process.env = saved;
      await amp.stop();
      await receiver.stop();
      await standIn.stop();
    }
  });
});
