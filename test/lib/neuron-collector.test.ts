import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { NEURON_DLAMI_PARAMETER, NeuronCollector, type NeuronCollectorProps } from '../../lib/neuron-collector';
import { forHost, renderCollectorConfig, renderExporterUnit } from '../../lib/neuron-collector/render';

const WORKSPACE_ARN = 'arn:aws:aps:eu-west-1:111111111111:workspace/ws-1234';
const URL = 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write';

function synth(props: Partial<NeuronCollectorProps> = {}) {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  new NeuronCollector(stack, 'Neuron', { remoteWriteUrl: URL, workspaceRegion: 'eu-west-1', workspaceArn: WORKSPACE_ARN, ...props });
  return Template.fromStack(stack);
}

type Step = { action: string; name: string; inputs: { documentPath?: string; documentParameters?: Record<string, string>; runCommand?: unknown[] } };

describe('NeuronCollector', () => {
  test('a State Manager association targets the tag and re-applies every 30 minutes', () => {
    const template = synth({ tag: { key: 'team:accelerator', value: 'inferentia' } });
    template.hasResourceProperties('AWS::SSM::Association', {
      Name: { Ref: Match.stringLikeRegexp('^NeuronSetupDocument') },
      Targets: [{ Key: 'tag:team:accelerator', Values: ['inferentia'] }],
      ScheduleExpression: 'rate(30 minutes)',
      ApplyOnlyAtCronInterval: false,
    });
  });

  test('the document installs ADOT from Distributor, then the exporter service, then the collector config', () => {
    const template = synth();
    const document = Object.values(template.findResources('AWS::SSM::Document'))[0]?.Properties;
    expect(document).toMatchObject({ DocumentType: 'Command', Content: { schemaVersion: '2.2' } });
    const steps = document?.Content.mainSteps as Step[];
    expect(steps.map((s) => [s.action, s.name])).toEqual([
      ['aws:runDocument', 'InstallAdotCollector'],
      ['aws:runShellScript', 'NeuronMonitorExporter'],
      ['aws:runShellScript', 'CollectorConfig'],
    ]);
    expect(steps[0]?.inputs).toMatchObject({ documentPath: 'AWS-ConfigureAWSPackage', documentParameters: { action: 'Install', name: 'AWSDistroOTel-Collector' } });
    const exporter = JSON.stringify(steps[1]?.inputs.runCommand);
    expect(exporter).toContain('systemctl enable inferwatch-neuron-monitor');
    expect(exporter).toContain('Fn::Base64');
    const collector = JSON.stringify(steps[2]?.inputs.runCommand);
    expect(collector).toContain('aws-otel-collector-ctl -c /opt/aws/aws-otel-collector/etc/inferwatch.yaml -a start');
    expect(collector).toContain('latest/meta-data/instance-id');
    expect(collector).toContain('sed \\"s/__INSTANCE_ID__/$INSTANCE_ID/g\\"');
  });

  test('IAM: an instance policy that may only remote-write to the workspace, and an SSM-managed instance role', () => {
    const template = synth();
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', { PolicyDocument: { Statement: [{ Sid: 'RemoteWrite', Effect: 'Allow', Action: 'aps:RemoteWrite', Resource: WORKSPACE_ARN }] } });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] }, { Ref: Match.stringLikeRegexp('^NeuronInstancePolicy') }],
    });
    template.resourceCountIs('AWS::IAM::InstanceProfile', 1);
    const cross = synth({ workspaceArn: undefined, writerRoleArn: 'arn:aws:iam::999999999999:role/inferwatch-remote-writer' });
    cross.hasResourceProperties('AWS::IAM::ManagedPolicy', { PolicyDocument: { Statement: [{ Sid: 'AssumeWriterRole', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::999999999999:role/inferwatch-remote-writer' }] } });
  });

  test('demo host: inf1.xlarge on the Neuron DLAMI, IMDSv2, no SSH, encrypted EBS, tagged for enrolment', () => {
    const template = synth({ demoHost: true });
    template.hasResourceProperties('AWS::EC2::Instance', {
      InstanceType: 'inf1.xlarge',
      ImageId: { Ref: Match.stringLikeRegexp('SsmParameterValue') },
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, VolumeSize: 100, VolumeType: 'gp3' } }],
      KeyName: Match.absent(),
      Monitoring: true,
      Tags: Match.arrayWith([{ Key: 'inferwatch:neuron', Value: 'true' }]),
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } } });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupIngress: Match.absent() });
    template.hasParameter('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: NEURON_DLAMI_PARAMETER });
    synth().resourceCountIs('AWS::EC2::Instance', 0);
  });

  test('conflicting or impossible props throw', () => {
    expect(() => synth({ writerRoleArn: 'arn:aws:iam::9:role/x' })).toThrow('exactly one of workspaceArn (same account) or writerRoleArn (cross-account)');
    expect(() => synth({ reapplyEvery: Duration.minutes(10) })).toThrow('at least 30 minutes');
    expect(() => synth({ exporterPort: 70000 })).toThrow('exporterPort 70000 is not a TCP port');
  });
});

describe('the collector config template', () => {
  const values = { scrapeIntervalSeconds: 30, exporterPort: 8008, accountId: '111111111111', region: 'us-east-2', remoteWriteUrl: URL, workspaceRegion: 'eu-west-1' };

  test('prometheus receiver, resourcedetection (ec2), batch, and remote write with sigv4auth, retries and a queue', () => {
    const config = parseYaml(renderCollectorConfig(values));
    expect(config.receivers.prometheus.config.scrape_configs[0]).toMatchObject({ job_name: 'neuron-monitor', static_configs: [{ targets: ['127.0.0.1:8008'], labels: { account_id: '111111111111', instance: '__INSTANCE_ID__' } }] });
    expect(parseYaml(forHost(renderCollectorConfig(values), 'i-1')).receivers.prometheus.config.scrape_configs.map((c: { static_configs: Array<{ labels: { instance: string } }> }) => c.static_configs[0]?.labels.instance)).toEqual(['i-1', 'i-1']);
    expect(config.receivers.prometheus.config.global).toEqual({ scrape_interval: '30s', scrape_timeout: '10s' });
    expect(parseYaml(renderCollectorConfig({ ...values, scrapeIntervalSeconds: 5 })).receivers.prometheus.config.global).toEqual({ scrape_interval: '5s', scrape_timeout: '5s' });
    expect(config.processors).toMatchObject({ resourcedetection: { detectors: ['ec2'] }, batch: {} });
    expect(config.exporters.prometheusremotewrite).toMatchObject({
      endpoint: URL,
      auth: { authenticator: 'sigv4auth' },
      retry_on_failure: { enabled: true },
      remote_write_queue: { enabled: true },
    });
    expect(config.extensions.sigv4auth).toEqual({ region: 'eu-west-1', service: 'aps' });
    expect(config.service.pipelines.metrics).toEqual({ receivers: ['prometheus'], processors: ['resourcedetection', 'batch'], exporters: ['prometheusremotewrite'] });
    expect(config.service.telemetry.metrics.address).toBe('127.0.0.1:8888');
    expect(config.receivers.prometheus.config.scrape_configs[1]).toMatchObject({ job_name: 'adot-collector', static_configs: [{ targets: ['127.0.0.1:8888'] }] });
  });

  test('cross-account: sigv4auth assumes the writer role', () => {
    const config = parseYaml(renderCollectorConfig({ ...values, assumeRoleArn: 'arn:aws:iam::111111111111:role/inferwatch-remote-writer' }));
    expect(config.extensions.sigv4auth).toEqual({ region: 'eu-west-1', service: 'aps', assume_role: { arn: 'arn:aws:iam::111111111111:role/inferwatch-remote-writer', sts_region: 'eu-west-1' } });
  });

  test('its scrape section passes promtool check config', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iw-collector-')), 'prometheus.yml');
    writeFileSync(file, toYaml(parseYaml(renderCollectorConfig(values)).receivers.prometheus.config));
    const check = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.status).toBe(0);
  });

  test('the exporter unit pipes neuron-monitor into the exporter on the port and restarts on failure', () => {
    const unit = renderExporterUnit(9100);
    expect(unit).toContain("ExecStart=/bin/bash -o pipefail -c '/opt/aws/neuron/bin/neuron-monitor | /opt/aws/neuron/bin/neuron-monitor-prometheus.py --port 9100'");
    expect(unit).toContain('Restart=on-failure');
  });
});
