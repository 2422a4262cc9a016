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
    expect(() => synth({ exporterPort: 70000 })).toThrow('exporterPort: 70000 is not a TCP port');
    expect(() => synth({ torchServe: { port: 8008 } })).toThrow("NeuronCollector: torchServe.port: port 8008 is already neuron-monitor's exporter port");
    expect(() => synth({ extraScrapeTargets: [{ job: 'neuron-monitor', port: 9000 }] })).toThrow('extraScrapeTargets[0].job: job "neuron-monitor" is already scraped');
    expect(() => synth({ extraScrapeTargets: [{ job: 'triton', port: 8002, path: "/m'etrics" }] })).toThrow('extraScrapeTargets[0].path: "/m\'etrics" is not a URL path');
    expect(() => synth({ torchServe: false, extraScrapeTargets: [{ job: 'ts', port: 8082 }] })).not.toThrow();
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

  test('TorchServe is scraped by default as job torchserve, with the host labels neuron-monitor series carry', () => {
    const jobs = parseYaml(renderCollectorConfig({ ...values, torchServe: { port: 8082, path: '/metrics' } })).receivers.prometheus.config.scrape_configs;
    expect(jobs.map((j: { job_name: string }) => j.job_name)).toEqual(['neuron-monitor', 'torchserve', 'adot-collector']);
    expect(jobs[1]).toMatchObject({
      metrics_path: '/metrics',
      static_configs: [{ targets: ['127.0.0.1:8082'], labels: { account_id: '111111111111', region: 'us-east-2', instance: '__INSTANCE_ID__', instance_id: '__INSTANCE_ID__' } }],
    });
    expect(forHost(renderCollectorConfig({ ...values, torchServe: { port: 8082, path: '/metrics' } }), 'i-1')).not.toContain('__INSTANCE_ID__');
    const moved = parseYaml(renderCollectorConfig({ ...values, torchServe: { port: 9082, path: '/ts/metrics' } })).receivers.prometheus.config.scrape_configs[1];
    expect(moved).toMatchObject({ job_name: 'torchserve', metrics_path: '/ts/metrics', static_configs: [{ targets: ['127.0.0.1:9082'] }] });
  });

  test('TorchServe off leaves its job out; extra targets are jobs of their own with the host labels, quoted', () => {
    const rendered = renderCollectorConfig({ ...values, accountId: '012345678901', extraScrapeTargets: [{ job: 'triton', port: 8002 }, { job: 'vllm', port: 8000, path: '/stats' }] });
    const jobs = parseYaml(rendered).receivers.prometheus.config.scrape_configs;
    expect(jobs.map((j: { job_name: string }) => j.job_name)).toEqual(['neuron-monitor', 'triton', 'vllm', 'adot-collector']);
    expect(jobs[1]).toEqual({
      job_name: 'triton',
      metrics_path: '/metrics',
      static_configs: [{ targets: ['127.0.0.1:8002'], labels: { account_id: '012345678901', region: 'us-east-2', instance: '__INSTANCE_ID__', instance_id: '__INSTANCE_ID__' } }],
    });
    expect(jobs[2]).toMatchObject({ metrics_path: '/stats', static_configs: [{ targets: ['127.0.0.1:8000'] }] });
    // The template's comments survive the edit.
    expect(rendered).toContain('# Every host scrapes 127.0.0.1');
  });

  test('the construct renders the rollout settings into the document', () => {
    const rendered = (props: Partial<NeuronCollectorProps>) => {
      const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
      return new NeuronCollector(stack, 'Neuron', { remoteWriteUrl: URL, workspaceRegion: 'eu-west-1', workspaceArn: WORKSPACE_ARN, ...props }).collectorConfig;
    };
    expect(rendered({})).toContain("targets: ['127.0.0.1:8082']");
    expect(rendered({ torchServe: { port: 9082 } })).toContain("targets: ['127.0.0.1:9082']");
    expect(rendered({ torchServe: false })).not.toContain('job_name: torchserve');
    expect(rendered({ extraScrapeTargets: [{ job: 'triton', port: 8002 }] })).toContain("job_name: 'triton'");
  });

  test("a failing scrape's warning is logged a few times an hour, not at every scrape", () => {
    expect(parseYaml(renderCollectorConfig(values)).service.telemetry.logs).toEqual({ sampling: { enabled: true, tick: '1h', initial: 5, thereafter: 0 } });
  });

  test('cross-account: sigv4auth assumes the writer role', () => {
    const config = parseYaml(renderCollectorConfig({ ...values, assumeRoleArn: 'arn:aws:iam::111111111111:role/inferwatch-remote-writer' }));
    expect(config.extensions.sigv4auth).toEqual({ region: 'eu-west-1', service: 'aps', assume_role: { arn: 'arn:aws:iam::111111111111:role/inferwatch-remote-writer', sts_region: 'eu-west-1' } });
  });

  test('its scrape section passes promtool check config', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iw-collector-')), 'prometheus.yml');
    writeFileSync(file, toYaml(parseYaml(renderCollectorConfig({ ...values, torchServe: { port: 8082, path: '/metrics' }, extraScrapeTargets: [{ job: 'triton', port: 8002 }] })).receivers.prometheus.config));
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
