import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { NeuronCollector, type NeuronCollectorProps } from '../../lib/neuron-collector';
import { INF1_DLAMI_LOOKUP, NEURON_BASE_DLAMI_PARAMETER } from '../../lib/neuron-collector/demo-host-image';
import { parseInferwatchConfig } from '../../lib/config/inferwatch-config';
import { ADOT_UPSTREAM_COLLECTOR, ADOT_VERSION } from '../../lib/neuron-collector/adot';
import { forHost, prometheusScrapeConfig, renderCollectorConfig, renderExporterUnit, TORCHSERVE_DEFAULTS } from '../../lib/neuron-collector/render';
import { resolveIntrinsics } from '../support/harness/cfn-intrinsics';

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
    expect(steps[0]?.inputs).toMatchObject({ documentPath: 'AWS-ConfigureAWSPackage', documentParameters: { action: 'Install', name: 'AWSDistroOTel-Collector', version: ADOT_VERSION } });
    // The version CI builds the collector for: never empty, which would install whatever ADOT is newest.
    expect(ADOT_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
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

  test('demo host: IMDSv2, no SSH, encrypted EBS, tagged for enrolment, in a VPC with flow logs', () => {
    const template = synth({ demoHost: true, demoHostInstanceType: 'inf2.xlarge' });
    template.hasResourceProperties('AWS::EC2::Instance', {
      InstanceType: 'inf2.xlarge',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, VolumeSize: 100, VolumeType: 'gp3' } }],
      KeyName: Match.absent(),
      Monitoring: true,
      Tags: Match.arrayWith([{ Key: 'inferwatch:neuron', Value: 'true' }]),
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } } });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupIngress: Match.absent() });
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    synth().resourceCountIs('AWS::EC2::Instance', 0);
  });

  test('demo host image: Inf1 gets the last DLAMI whose Neuron driver supports it (SDK 2.26.0, looked up); Inf2 and Trn1 the current Base DLAMI', () => {
    // Neuron DLAMIs from 2.26.1 on dropped Inf1, and the multi-framework ubuntu-22.04 "latest" parameter is one of them.
    const app = new App();
    const stack = new Stack(app, 'Inf1', { env: { account: '111111111111', region: 'eu-west-1' } });
    new NeuronCollector(stack, 'Neuron', { remoteWriteUrl: URL, workspaceRegion: 'eu-west-1', workspaceArn: WORKSPACE_ARN, demoHost: true });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::Instance', { InstanceType: 'inf1.xlarge' });
    const lookups = app.synth().manifest.missing?.filter((m) => m.provider === 'ami') ?? [];
    expect(lookups).toHaveLength(1);
    expect(lookups[0]?.props).toMatchObject({
      account: '111111111111',
      region: 'eu-west-1',
      owners: ['amazon'],
      filters: { name: [INF1_DLAMI_LOOKUP.name], description: ['*Neuron SDK 2.26.0*'], architecture: ['x86_64'] },
    });
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain('/aws/service/neuron/dlami/');

    for (const type of ['inf2.xlarge', 'trn1.2xlarge'] as const) {
      const template = synth({ demoHost: true, demoHostInstanceType: type });
      template.hasResourceProperties('AWS::EC2::Instance', { InstanceType: type, ImageId: { Ref: Match.stringLikeRegexp('SsmParameterValue') } });
      template.hasParameter('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: NEURON_BASE_DLAMI_PARAMETER });
    }
  });

  test('demo host zone: the subnet and the host sit in a zone EC2 says offers the type, asked with the least privilege', () => {
    const template = synth({ demoHost: true, demoHostInstanceType: 'inf2.xlarge' });
    const lookup = Object.entries(template.findResources('Custom::InstanceTypeZone'));
    expect(lookup).toHaveLength(1);
    const [lookupId, resource] = lookup[0] as [string, { Properties: { Create: unknown; Update: unknown } }];
    for (const call of [resource.Properties.Create, resource.Properties.Update]) {
      expect(JSON.parse(call as string)).toMatchObject({
        service: 'EC2',
        action: 'describeInstanceTypeOfferings',
        parameters: { LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: ['inf2.xlarge'] }] },
        outputPaths: ['InstanceTypeOfferings.0.Location'],
      });
    }
    const zone = { 'Fn::GetAtt': [lookupId, 'InstanceTypeOfferings.0.Location'] };
    template.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: zone, MapPublicIpOnLaunch: true });
    template.hasResourceProperties('AWS::EC2::Instance', { AvailabilityZone: zone });
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Action: 'ec2:DescribeInstanceTypeOfferings', Effect: 'Allow', Resource: '*' }] } });
  });

  test('demo host config: the type is validated and named in errors', () => {
    expect(parseInferwatchConfig({ workloads: [{ neuronCollector: { demoHost: true, demoHostInstanceType: 'inf2.xlarge' } }] }).workloads[0]?.neuronCollector.demoHostInstanceType).toBe('inf2.xlarge');
    expect(() => parseInferwatchConfig({ workloads: [{ neuronCollector: { demoHost: true, demoHostInstanceType: 'g5.xlarge' } }] })).toThrow('config key "workloads[0].neuronCollector.demoHostInstanceType"');
    expect(() => parseInferwatchConfig({ workloads: [{ neuronCollector: { demoHostInstanceType: 'inf2.xlarge' } }] })).toThrow(
      'config key "workloads[0].neuronCollector.demoHostInstanceType": is only used when demoHost is true',
    );
    const agnostic = new Stack(new App(), 'Agnostic');
    expect(() => new NeuronCollector(agnostic, 'Neuron', { remoteWriteUrl: URL, workspaceRegion: 'eu-west-1', workspaceArn: WORKSPACE_ARN, demoHost: true })).toThrow(
      'an inf1.xlarge demo host needs a stack with an account and region',
    );
  });

  test('conflicting or impossible props throw', () => {
    expect(() => synth({ writerRoleArn: 'arn:aws:iam::9:role/x' })).toThrow('exactly one of workspaceArn (same account) or writerRoleArn (cross-account)');
    expect(() => synth({ reapplyEvery: Duration.minutes(10) })).toThrow('at least 30 minutes');
    expect(() => synth({ exporterPort: 70000 })).toThrow('exporterPort: 70000 is not a TCP port');
    expect(() => synth({ torchServe: { port: 8008 } })).toThrow("NeuronCollector: torchServe.port: port 8008 is already neuron-monitor's exporter port");
    expect(() => synth({ extraScrapeTargets: [{ job: 'neuron-monitor', port: 9000 }] })).toThrow('extraScrapeTargets[0].job: job "neuron-monitor" is already scraped');
    expect(() => synth({ extraScrapeTargets: [{ job: 'triton', port: 8002, path: "/m'etrics" }] })).toThrow('extraScrapeTargets[0].path: "/m\'etrics" is not a URL path');
    expect(() => synth({ torchServe: false, extraScrapeTargets: [{ job: 'ts', port: 8082 }] })).not.toThrow();
    expect(() => synth({ demoHostInstanceType: 'inf2.xlarge' })).toThrow('demoHostInstanceType is only used with demoHost: true');
  });
});

describe('the collector CI builds (collector/)', () => {
  const dir = join(__dirname, '..', '..', 'collector');
  const manifest = parseYaml(readFileSync(join(dir, 'builder-config.yaml'), 'utf8')) as {
    dist: { version: string };
    conf_resolver: { default_uri_scheme: string };
    receivers: Array<{ gomod: string }>;
    processors: Array<{ gomod: string }>;
    exporters: Array<{ gomod: string }>;
    extensions: Array<{ gomod: string }>;
  };
  const components = [...manifest.receivers, ...manifest.processors, ...manifest.exporters, ...manifest.extensions].map((c) => c.gomod.split(' ') as [string, string]);
  const minor = (version: string) => Number(/^v?0\.(\d+)\./.exec(version)?.[1]);

  test("has exactly the components the host config uses, all at one release within one minor of the pinned ADOT's", () => {
    const names = components.map(([module]) => module.split('/').pop());
    expect(names.sort()).toEqual(['batchprocessor', 'healthcheckextension', 'prometheusreceiver', 'prometheusremotewriteexporter', 'resourcedetectionprocessor', 'sigv4authextension']);
    expect(new Set(components.map(([, version]) => version))).toEqual(new Set([`v${manifest.dist.version}`]));
    expect(Math.abs(minor(manifest.dist.version) - minor(ADOT_UPSTREAM_COLLECTOR))).toBeLessThanOrEqual(1);
  });

  test("the committed sources are the manifest's: go.mod requires each component at its version, main.go resolves ${NAME} from the environment as ADOT does", () => {
    const gomod = readFileSync(join(dir, 'go.mod'), 'utf8');
    for (const [module, version] of components) expect(gomod).toContain(`${module} ${version}`);
    expect(manifest.conf_resolver.default_uri_scheme).toBe('env');
    expect(readFileSync(join(dir, 'main.go'), 'utf8')).toContain('DefaultScheme: "env"');
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
    expect(config.service.telemetry.metrics).toEqual({ level: 'basic', readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: 8888 } } } }] });
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

  test('neuron-monitor names: the per-core memory gauges pass, the pre-2.x inference_* families take their execution_* names', () => {
    type Rule = { source_labels?: string[]; regex: string; action?: string; target_label?: string; replacement?: string };
    const job = (prometheusScrapeConfig(renderCollectorConfig(values)).scrape_configs as Array<{ metric_relabel_configs: Rule[] }>)[0] as { metric_relabel_configs: Rule[] };
    // The name rules as Prometheus applies them (anchored regex, $1 in the replacement); the e2e test runs the real thing.
    const arrives = (name: string): string | undefined => {
      let current = name;
      for (const rule of job.metric_relabel_configs) {
        expect(rule.source_labels).toEqual(['__name__']);
        const match = new RegExp(`^(?:${rule.regex})$`).exec(current);
        if (!match) continue;
        if (rule.action === 'drop') return undefined;
        if (rule.target_label === '__name__') current = (rule.replacement ?? '$1').replace(/\$\{?(\d)\}?/g, (_m, i: string) => match[Number(i)] ?? '');
      }
      return current;
    };
    for (const kind of ['constants', 'model_code', 'model_shared_scratchpad', 'runtime_memory', 'tensors']) expect(arrives(`neuroncore_memory_usage_${kind}`)).toBe(`neuroncore_memory_usage_${kind}`);
    expect(arrives('inference_latency_seconds')).toBe('execution_latency_seconds');
    expect(arrives('inference_errors_total')).toBe('execution_errors_total');
    expect(arrives('inference_status_total')).toBe('execution_status_total');
    expect(arrives('inference_errors_created')).toBeUndefined();
    for (const name of ['execution_latency_seconds', 'execution_errors_total', 'neuroncore_utilization_ratio', 'hardware_ecc_events_total']) expect(arrives(name)).toBe(name);
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
    writeFileSync(file, toYaml(prometheusScrapeConfig(renderCollectorConfig({ ...values, torchServe: { port: 8082, path: '/metrics' }, extraScrapeTargets: [{ job: 'triton', port: 8002 }] }))));
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

describe('the SSM document\'s shell steps, as the host runs them', () => {
  const INSTANCE = 'i-0123456789abcdef0';
  const deployment = { refs: { 'AWS::AccountId': '111111111111', 'AWS::Region': 'eu-west-1', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::Partition': 'aws' } };
  /** Each aws:runShellScript step as SSM hands it to the shell: its lines, CloudFormation values filled in. */
  function shellSteps(): Record<string, string> {
    const document = Object.values(synth().findResources('AWS::SSM::Document'))[0]?.Properties.Content as { mainSteps: Step[] };
    const steps = document.mainSteps.filter((step) => step.action === 'aws:runShellScript');
    expect(steps.map((step) => step.name)).toEqual(['NeuronMonitorExporter', 'CollectorConfig']);
    return Object.fromEntries(steps.map((step) => [step.name, (resolveIntrinsics(step.inputs.runCommand, deployment) as string[]).join('\n') + '\n']));
  }

  /**
   * A host in a directory: the steps' absolute paths moved under it, and stand-ins for what the DLAMI and the ADOT
   * package provide (systemctl, IMDS behind curl, aws-otel-collector-ctl), each logging its calls.
   */
  function host(options: { neuronMonitor?: boolean; imds?: string; prometheusClient?: PrometheusClient } = {}) {
    const root = mkdtempSync(join(tmpdir(), 'iw-host-'));
    const bin = join(root, 'stub-bin');
    for (const dir of ['stub-bin', 'etc/systemd/system', 'opt/aws/neuron/bin', 'opt/aws/aws-otel-collector/bin', 'opt/aws/aws-otel-collector/etc', 'state']) mkdirSync(join(root, dir), { recursive: true });
    const stub = (path: string, body: string) => {
      writeFileSync(path, `#!/bin/sh\necho "$(basename "$0") $*" >> ${root}/calls.log\n${body}\n`);
      chmodSync(path, 0o755);
    };
    if (options.neuronMonitor !== false) stub(join(root, 'opt/aws/neuron/bin/neuron-monitor'), 'exit 0');
    // python3 imports prometheus_client once something installed it (the state file); apt-get and pip install it or fail.
    const client = options.prometheusClient ?? 'present';
    if (client === 'present') writeFileSync(join(root, 'state/prometheus-client'), '');
    stub(join(bin, 'python3'), `case "$*" in *"import prometheus_client"*) [ -e ${root}/state/prometheus-client ] ;; *"pip install"*) ${client === 'pip' ? `touch ${root}/state/prometheus-client` : 'exit 1'} ;; *) exit 2 ;; esac`);
    if (client !== 'pip') stub(join(bin, 'apt-get'), `case "$*" in *install*) ${client === 'apt' ? `touch ${root}/state/prometheus-client` : 'echo "E: Unable to locate package python3-prometheus-client" >&2; exit 100'} ;; esac`);
    stub(join(bin, 'systemctl'), `case "$1" in restart) touch ${root}/state/exporter-active ;; is-active) [ -e ${root}/state/exporter-active ] ;; esac`);
    const imds = options.imds ?? INSTANCE;
    stub(join(bin, 'curl'), `case "$*" in *api/token*) printf 'TOKEN' ;; *meta-data/instance-id*) ${imds === 'fail' ? 'exit 22' : `printf '%s' '${imds}'`} ;; *) exit 22 ;; esac`);
    stub(
      join(root, 'opt/aws/aws-otel-collector/bin/aws-otel-collector-ctl'),
      `case "$*" in *"-a status"*) if [ -e ${root}/state/collector-running ]; then echo '{"status": "running"}'; else echo '{"status": "stopped"}'; fi ;; *"-a start"*) touch ${root}/state/collector-running ;; *"-a stop"*) rm -f ${root}/state/collector-running ;; esac`,
    );
    const run = (script: string) => {
      const file = join(root, 'step.sh');
      writeFileSync(file, script.split('/opt/aws/').join(`${root}/opt/aws/`).split('/etc/systemd/system/').join(`${root}/etc/systemd/system/`));
      writeFileSync(join(root, 'calls.log'), '');
      const result = spawnSync('/usr/bin/dash', [file], { encoding: 'utf8', env: { PATH: `${bin}:${systemTools()}`, HOME: root } });
      const calls = readFileSync(join(root, 'calls.log'), 'utf8').split('\n').filter(Boolean).map((line) => line.replace(root, ''));
      return { status: result.status, stderr: result.stderr, calls };
    };
    return { root, run, cleanup: () => rmSync(root, { recursive: true, force: true }) };
  }

  let tools: string | undefined;
  /**
   * The machine's /usr/bin and /bin without package managers and Python: the steps must reach only the stubs for
   * those (a test must never install a package on the machine that runs it, nor find a Python the host may lack).
   */
  function systemTools(): string {
    if (tools) return tools;
    tools = mkdtempSync(join(tmpdir(), 'iw-tools-'));
    const hidden = /^(apt|apt-get|aptitude|dpkg|dnf|yum|microdnf|rpm|pip.*|python.*|systemctl|curl)$/;
    for (const dir of ['/bin', '/usr/bin']) {
      for (const name of readdirSync(dir)) if (!hidden.test(name) && !existsSync(join(tools, name))) symlinkSync(join(dir, name), join(tools, name));
    }
    return tools;
  }
  afterAll(() => tools && rmSync(tools, { recursive: true, force: true }));

  /** Whether the host's python3 has prometheus_client, or how it gets it: apt (Ubuntu), pip (no apt), or not at all. */
  type PrometheusClient = 'present' | 'apt' | 'pip' | 'missing';

  /** Runs `check` on a fresh stub host, removed afterwards whatever happens. */
  function onHost(options: Parameters<typeof host>[0], check: (h: ReturnType<typeof host>) => void): void {
    const h = host(options);
    try {
      check(h);
    } finally {
      h.cleanup();
    }
  }

  test('every step passes shellcheck as POSIX sh (SSM runs them with sh: dash on Ubuntu)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iw-sh-'));
    for (const [name, script] of Object.entries(shellSteps())) {
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, script);
      const check = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
      expect({ name, output: check.stdout + check.stderr, status: check.status }).toEqual({ name, output: '', status: 0 });
    }
  });

  test('NeuronMonitorExporter under dash: installs and starts the unit once, then only checks it is running', () => {
    onHost({}, ({ run, root }) => {
      const step = shellSteps().NeuronMonitorExporter as string;
      const first = run(step);
      expect(first).toMatchObject({ status: 0, stderr: '' });
      expect(readFileSync(join(root, 'etc/systemd/system/inferwatch-neuron-monitor.service'), 'utf8')).toBe(renderExporterUnit(8008));
      expect(first.calls).toEqual(['python3 -c import prometheus_client', 'systemctl daemon-reload', 'systemctl enable inferwatch-neuron-monitor', 'systemctl restart inferwatch-neuron-monitor', 'systemctl is-active --quiet inferwatch-neuron-monitor']);
      const again = run(step);
      expect(again).toMatchObject({ status: 0, calls: ['python3 -c import prometheus_client', 'systemctl is-active --quiet inferwatch-neuron-monitor'] });
      expect(existsSync(join(root, 'etc/systemd/system/inferwatch-neuron-monitor.service.new'))).toBe(false);
    });
  });

  test.each([
    ['apt', ['apt-get -o DPkg::Lock::Timeout=60 install -y -q python3-prometheus-client']],
    ['pip', ["python3 -m pip install -q --disable-pip-version-check prometheus-client==0.26.0"]],
  ] as const)('NeuronMonitorExporter under dash: prometheus_client missing is installed with %s before the unit starts', (client, installs) => {
    onHost({ prometheusClient: client }, ({ run, root }) => {
      const result = run(shellSteps().NeuronMonitorExporter as string);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(result.calls.filter((c) => /install/.test(c))).toEqual(installs);
      expect(result.calls).toContain('systemctl restart inferwatch-neuron-monitor');
      expect(existsSync(join(root, 'etc/systemd/system/inferwatch-neuron-monitor.service'))).toBe(true);
    });
  });

  test.each(['missing'] as const)('NeuronMonitorExporter under dash: prometheus_client that cannot be installed (%s) fails the step loudly, before any unit', (client) => {
    onHost({ prometheusClient: client }, ({ run, root }) => {
      const result = run(shellSteps().NeuronMonitorExporter as string);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^inferwatch: neuron-monitor-prometheus\.py needs Python's prometheus_client, and neither apt \(python3-prometheus-client\) nor pip \(prometheus-client==0\.26\.0\) could install it for \/.*\/stub-bin\/python3: install it for that python3, then re-run the association\n$/);
      // apt-get tried as is, then after an update; the unit is neither written nor started.
      expect(result.calls.filter((c) => c.startsWith('apt-get'))).toEqual(['apt-get -o DPkg::Lock::Timeout=60 install -y -q python3-prometheus-client', 'apt-get -o DPkg::Lock::Timeout=60 update -q', 'apt-get -o DPkg::Lock::Timeout=60 install -y -q python3-prometheus-client']);
      expect(result.calls.filter((c) => c.startsWith('systemctl'))).toEqual([]);
      expect(existsSync(join(root, 'etc/systemd/system/inferwatch-neuron-monitor.service'))).toBe(false);
    });
  });

  test('NeuronMonitorExporter under dash: a host without neuron-monitor fails with a message, and writes nothing', () => {
    onHost({ neuronMonitor: false }, ({ run, root }) => {
      const result = run(shellSteps().NeuronMonitorExporter as string);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('neuron-monitor is missing: use the Neuron DLAMI or install aws-neuronx-tools');
      expect(existsSync(join(root, 'etc/systemd/system/inferwatch-neuron-monitor.service'))).toBe(false);
    });
  });

  test('CollectorConfig under dash: writes the config for this instance and starts the collector; a second run changes nothing', () => {
    onHost({}, ({ run, root }) => {
      const step = shellSteps().CollectorConfig as string;
      const first = run(step);
      expect(first).toMatchObject({ status: 0, stderr: '' });
      // The construct's defaults: TorchServe scraped on its default port and path.
      const defaults = { scrapeIntervalSeconds: 30, exporterPort: 8008, torchServe: TORCHSERVE_DEFAULTS, accountId: '111111111111', region: 'eu-west-1', remoteWriteUrl: URL, workspaceRegion: 'eu-west-1' };
      const expected = forHost(renderCollectorConfig(defaults), INSTANCE);
      expect(readFileSync(join(root, 'opt/aws/aws-otel-collector/etc/inferwatch.yaml'), 'utf8')).toBe(expected);
      // A new config needs no status check: it restarts the collector at once.
      expect(first.calls.filter((c) => c.startsWith('aws-otel-collector-ctl'))).toEqual([
        'aws-otel-collector-ctl -a stop',
        'aws-otel-collector-ctl -c /opt/aws/aws-otel-collector/etc/inferwatch.yaml -a start',
      ]);
      const again = run(step);
      expect(again.status).toBe(0);
      expect(again.calls.filter((c) => c.startsWith('aws-otel-collector-ctl'))).toEqual(['aws-otel-collector-ctl -a status']);
      expect(existsSync(join(root, 'opt/aws/aws-otel-collector/etc/inferwatch.yaml.new'))).toBe(false);
      // A collector that died meanwhile is started again, with the same config.
      rmSync(join(root, 'state/collector-running'));
      expect(run(step).calls.filter((c) => c.startsWith('aws-otel-collector-ctl'))).toEqual([
        'aws-otel-collector-ctl -a status',
        'aws-otel-collector-ctl -a stop',
        'aws-otel-collector-ctl -c /opt/aws/aws-otel-collector/etc/inferwatch.yaml -a start',
      ]);
    });
  });

  test.each([
    ['IMDS unreachable', 'fail'],
    ['IMDS answering something other than an instance id', 'i-0abc/../../x'],
  ])('CollectorConfig under dash: %s stops the step before any file or collector is touched', (_name, imds) => {
    onHost({ imds }, ({ run, root }) => {
      const result = run(shellSteps().CollectorConfig as string);
      expect(result.status).not.toBe(0);
      expect(existsSync(join(root, 'opt/aws/aws-otel-collector/etc/inferwatch.yaml'))).toBe(false);
      expect(result.calls.filter((c) => c.startsWith('aws-otel-collector-ctl'))).toEqual([]);
    });
  });
});
