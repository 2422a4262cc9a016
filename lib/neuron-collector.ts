import { Aws, Duration, Fn, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ADOT_PACKAGE, ADOT_VERSION } from './neuron-collector/adot';
import { DEMO_HOST_INSTANCE_TYPES, demoHostImage, type DemoHostInstanceType } from './neuron-collector/demo-host-image';
import { INSTANCE_ID_PLACEHOLDER, renderCollectorConfig, renderExporterUnit, scrapeTargetProblems, DEFAULT_EXPORTER_PORT, TORCHSERVE_DEFAULTS, type ScrapeTarget } from './neuron-collector/render';
import { stackOutput } from './stack-output';
import { DEFAULT_ROLE_PATH } from './writer-role';

/** Where the ADOT Distributor package installs the collector. */
const ADOT_CTL = '/opt/aws/aws-otel-collector/bin/aws-otel-collector-ctl';
const COLLECTOR_CONFIG = '/opt/aws/aws-otel-collector/etc/inferwatch.yaml';
const EXPORTER_UNIT = '/etc/systemd/system/inferwatch-neuron-monitor.service';
/**
 * SSM runs `aws:runShellScript` with `sh`: dash on Ubuntu, which has no `pipefail` (`set -o pipefail` exits 2 there).
 * So the steps are POSIX sh, checked by `shellcheck -s sh` and run under dash in the tests.
 */
const SH_PREAMBLE = ['set -eu'];
/** What the exporter imports; installed for the system python3 when missing (pip is the fallback, at this version). */
const PROMETHEUS_CLIENT = { apt: 'python3-prometheus-client', pip: 'prometheus-client==0.26.0' } as const;
/** apt waits this long for the dpkg lock before it gives up (apt 1.9.11+: Ubuntu 20.04 and later). Three calls fit the step's 300 s. */
const APT_LOCK_WAIT = '-o DPkg::Lock::Timeout=60';
/** The construct id CDK gives the AwsCustomResource provider singleton (aws-cdk-lib/custom-resources). */
const AWS_CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

export interface NeuronCollectorProps {
  /** The AMP workspace's remote-write URL. */
  readonly remoteWriteUrl: string;
  /** The AMP workspace's region (SigV4 signs for it). */
  readonly workspaceRegion: string;
  /**
   * Same account: hosts may `aps:RemoteWrite` to this workspace. Give this or `writerRoleArn`.
   * @default none
   */
  readonly workspaceArn?: string;
  /**
   * Cross-account: hosts assume this writer role in the monitoring account (sigv4auth `assume_role`).
   * @default none
   */
  readonly writerRoleArn?: string;
  /**
   * The tag that enrols a host.
   * @default { key: 'inferwatch:neuron', value: 'true' }
   */
  readonly tag?: { readonly key: string; readonly value: string };
  /** @default 30 seconds */
  readonly scrapeInterval?: Duration;
  /** Port of neuron-monitor-prometheus.py on 127.0.0.1. @default 8008 */
  readonly exporterPort?: number;
  /**
   * TorchServe's Metrics API (`metrics_mode: prometheus`) on 127.0.0.1, scraped as job `torchserve`. A host without
   * TorchServe reports `up{job="torchserve"} == 0`, which no alert looks at. `false` leaves the job out.
   * @default { port: 8082, path: '/metrics' }
   */
  readonly torchServe?: false | { readonly port?: number; readonly path?: string };
  /**
   * Other local Prometheus endpoints to scrape on every enrolled host, each its own job (e.g. Triton on 8002).
   * Their down targets do alert: list only servers that every host of the workload runs.
   * @default none
   */
  readonly extraScrapeTargets?: readonly ScrapeTarget[];
  /**
   * How often the association re-applies the setup (drift correction).
   * @default 30 minutes
   */
  readonly reapplyEvery?: Duration;
  /**
   * Launch one Inferentia host on a Neuron DLAMI that supports its type, tagged for enrolment, to see it work.
   * @default false
   */
  readonly demoHost?: boolean;
  /**
   * The demo host's instance type; only with `demoHost`. Its availability zone is one that offers the type.
   * @default "inf1.xlarge"
   */
  readonly demoHostInstanceType?: DemoHostInstanceType;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /**
   * IAM path of the instance role. A cross-account writer role trusts only roles under its install's path.
   * @default "/inferwatch/"
   */
  readonly rolePath?: string;
}

/**
 * Enrols Inferentia hosts by tag through SSM State Manager: installs the ADOT collector (Distributor package
 * AWSDistroOTel-Collector, at the version CI tests: see neuron-collector/adot.ts), runs neuron-monitor's Prometheus
 * exporter as a systemd service (prometheus_client installed first), and writes the collector config that scrapes it
 * and remote-writes to AMP. No SSH, no hand steps; drift is re-applied.
 */
export class NeuronCollector extends Construct {
  public readonly document: ssm.CfnDocument;
  public readonly association: ssm.CfnAssociation;
  /** Attach to your own instance role if you bring one: remote write (or assume the writer role). */
  public readonly instancePolicy: iam.ManagedPolicy;
  /** SSM managed-instance core plus `instancePolicy`. */
  public readonly instanceRole: iam.Role;
  public readonly instanceProfile: iam.InstanceProfile;
  /** The rendered collector config (may hold deploy-time tokens). */
  public readonly collectorConfig: string;
  public readonly demoHost: ec2.Instance | undefined;

  constructor(scope: Construct, id: string, props: NeuronCollectorProps) {
    super(scope, id);
    if ((props.workspaceArn === undefined) === (props.writerRoleArn === undefined)) {
      throw new Error('NeuronCollector: give exactly one of workspaceArn (same account) or writerRoleArn (cross-account)');
    }
    const tag = props.tag ?? { key: 'inferwatch:neuron', value: 'true' };
    const scrapeSeconds = (props.scrapeInterval ?? Duration.seconds(30)).toSeconds();
    const exporterPort = props.exporterPort ?? DEFAULT_EXPORTER_PORT;
    const torchServe = props.torchServe === false ? undefined : { ...TORCHSERVE_DEFAULTS, ...props.torchServe };
    const extraScrapeTargets = props.extraScrapeTargets ?? [];
    const [problem] = scrapeTargetProblems(exporterPort, torchServe, extraScrapeTargets);
    if (problem) throw new Error(`NeuronCollector: ${problem.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1)}: ${problem.message}`);
    const reapplyMinutes = (props.reapplyEvery ?? Duration.minutes(30)).toMinutes();
    if (reapplyMinutes < 30) throw new Error('NeuronCollector: reapplyEvery must be at least 30 minutes (the State Manager minimum)');
    if (props.demoHostInstanceType !== undefined && !props.demoHost) throw new Error('NeuronCollector: demoHostInstanceType is only used with demoHost: true');
    const demoType = props.demoHostInstanceType ?? 'inf1.xlarge';
    if (!(DEMO_HOST_INSTANCE_TYPES as readonly string[]).includes(demoType)) throw new Error(`NeuronCollector: demoHostInstanceType ${demoType} is not one of ${DEMO_HOST_INSTANCE_TYPES.join(', ')}`);
    const stack = Stack.of(this);
    if (props.demoHost && demoType.startsWith('inf1.') && (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region))) {
      throw new Error(`NeuronCollector: an ${demoType} demo host needs a stack with an account and region: its image (the last DLAMI that supports Inf1) is looked up at synth. Set the workload's account and region, or deploy with credentials (CDK_DEFAULT_ACCOUNT).`);
    }

    this.instancePolicy = new iam.ManagedPolicy(this, 'InstancePolicy', {
      description: 'inferwatch: lets the ADOT collector on Inferentia hosts remote-write to AMP',
      statements: [
        props.workspaceArn
          ? new iam.PolicyStatement({ sid: 'RemoteWrite', actions: ['aps:RemoteWrite'], resources: [props.workspaceArn] })
          : new iam.PolicyStatement({ sid: 'AssumeWriterRole', actions: ['sts:AssumeRole'], resources: [props.writerRoleArn as string] }),
      ],
    });
    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'inferwatch Inferentia host: SSM managed instance, AMP remote write',
      path: props.rolePath ?? DEFAULT_ROLE_PATH,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'), this.instancePolicy],
    });
    Validations.of(this.instanceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'The SSM agent needs exactly this AWS-maintained policy to register the host and run the State Manager association.',
    });
    this.instanceProfile = new iam.InstanceProfile(this, 'InstanceProfile', { role: this.instanceRole });

    this.collectorConfig = renderCollectorConfig({
      scrapeIntervalSeconds: scrapeSeconds,
      exporterPort,
      torchServe,
      extraScrapeTargets,
      accountId: Aws.ACCOUNT_ID,
      region: Aws.REGION,
      remoteWriteUrl: props.remoteWriteUrl,
      workspaceRegion: props.workspaceRegion,
      assumeRoleArn: props.writerRoleArn,
    });
    // Files travel base64-encoded, so no quoting of their content can go wrong in the shell.
    const unitB64 = Fn.base64(renderExporterUnit(exporterPort));
    const configB64 = Fn.base64(this.collectorConfig);

    this.document = new ssm.CfnDocument(this, 'SetupDocument', {
      documentType: 'Command',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content: {
        schemaVersion: '2.2',
        description: 'inferwatch: ADOT collector and neuron-monitor exporter on an Inferentia host',
        mainSteps: [
          {
            action: 'aws:runDocument',
            name: 'InstallAdotCollector',
            inputs: { documentType: 'SSMDocument', documentPath: 'AWS-ConfigureAWSPackage', documentParameters: { action: 'Install', name: ADOT_PACKAGE, version: ADOT_VERSION } },
          },
          {
            action: 'aws:runShellScript',
            name: 'NeuronMonitorExporter',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: {
              timeoutSeconds: 300,
              runCommand: [
                ...SH_PREAMBLE,
                'if [ ! -x /opt/aws/neuron/bin/neuron-monitor ]; then echo "inferwatch: /opt/aws/neuron/bin/neuron-monitor is missing: use the Neuron DLAMI or install aws-neuronx-tools" >&2; exit 1; fi',
                // neuron-monitor-prometheus.py imports prometheus_client, which the Neuron tools do not bring: without it the
                // unit would restart-loop while the association reports Success. The distribution's package first (pip
                // refuses the system Python of Ubuntu 24.04, PEP 668), pip where there is no apt; then check, and fail loudly.
                'if ! python3 -c "import prometheus_client" >/dev/null 2>&1; then',
                // A freshly booted Ubuntu host runs unattended-upgrades, which holds the dpkg lock for a while: wait for it.
                `  if command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get ${APT_LOCK_WAIT} install -y -q ${PROMETHEUS_CLIENT.apt} >/dev/null 2>&1 || { apt-get ${APT_LOCK_WAIT} update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get ${APT_LOCK_WAIT} install -y -q ${PROMETHEUS_CLIENT.apt} >/dev/null 2>&1; } || true`,
                `  else python3 -m pip install -q --disable-pip-version-check '${PROMETHEUS_CLIENT.pip}' >/dev/null 2>&1 || true; fi`,
                `  if ! python3 -c "import prometheus_client" >/dev/null 2>&1; then echo "inferwatch: neuron-monitor-prometheus.py needs Python's prometheus_client, and neither apt (${PROMETHEUS_CLIENT.apt}) nor pip (${PROMETHEUS_CLIENT.pip}) could install it for $(command -v python3 || echo 'a missing python3'): install it for that python3, then re-run the association" >&2; exit 1; fi`,
                'fi',
                Fn.join('', ["printf '%s' '", unitB64, `' | base64 -d > ${EXPORTER_UNIT}.new`]),
                `if ! cmp -s ${EXPORTER_UNIT}.new ${EXPORTER_UNIT}; then mv ${EXPORTER_UNIT}.new ${EXPORTER_UNIT}; systemctl daemon-reload; systemctl enable inferwatch-neuron-monitor; systemctl restart inferwatch-neuron-monitor; else rm ${EXPORTER_UNIT}.new; fi`,
                'systemctl is-active --quiet inferwatch-neuron-monitor || systemctl restart inferwatch-neuron-monitor',
              ],
            },
          },
          {
            action: 'aws:runShellScript',
            name: 'CollectorConfig',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: {
              timeoutSeconds: 300,
              runCommand: [
                ...SH_PREAMBLE,
                'IMDS_TOKEN=$(curl -sSf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")',
                'INSTANCE_ID=$(curl -sSf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)',
                // It goes into a sed expression and every series' labels: only an instance id may.
                'case "$INSTANCE_ID" in "" | i | i- | [!i]* | i[!-]* | i-*[!0-9a-f]*) echo "inferwatch: IMDS answered no EC2 instance id" >&2; exit 1 ;; esac',
                // Decoded and substituted in two steps: without pipefail, a failed base64 inside a pipeline would go unseen.
                Fn.join('', ["printf '%s' '", configB64, `' | base64 -d > ${COLLECTOR_CONFIG}.template`]),
                `sed "s/${INSTANCE_ID_PLACEHOLDER}/$INSTANCE_ID/g" ${COLLECTOR_CONFIG}.template > ${COLLECTOR_CONFIG}.new`,
                `rm ${COLLECTOR_CONFIG}.template`,
                `if ! cmp -s ${COLLECTOR_CONFIG}.new ${COLLECTOR_CONFIG} || ! ${ADOT_CTL} -a status | grep -q '"status": "running"'; then mv ${COLLECTOR_CONFIG}.new ${COLLECTOR_CONFIG}; ${ADOT_CTL} -a stop || true; ${ADOT_CTL} -c ${COLLECTOR_CONFIG} -a start; else rm ${COLLECTOR_CONFIG}.new; fi`,
              ],
            },
          },
        ],
      },
    });

    this.association = new ssm.CfnAssociation(this, 'Association', {
      name: this.document.ref,
      associationName: `inferwatch-neuron-collector-${Stack.of(this).region}`,
      targets: [{ key: `tag:${tag.key}`, values: [tag.value] }],
      // Re-applied on this schedule (drift) and at once on hosts that newly match the tag.
      scheduleExpression: `rate(${reapplyMinutes} minutes)`,
      applyOnlyAtCronInterval: false,
      complianceSeverity: 'HIGH',
      maxConcurrency: '10%',
      maxErrors: '25%',
    });

    if (props.demoHost) this.demoHost = this.launchDemoHost(tag, demoType, props.logRetention ?? logs.RetentionDays.ONE_MONTH);

    stackOutput(this, 'InstanceProfileName', this.instanceProfile.instanceProfileName, 'Instance profile for Inferentia hosts (SSM + AMP remote write)');
    stackOutput(this, 'InstancePolicyArn', this.instancePolicy.managedPolicyArn, 'Attach to your own instance role, with AmazonSSMManagedInstanceCore');
    stackOutput(this, 'EnrolmentTag', `${tag.key}=${tag.value}`, 'Tag an instance with this to enrol it');
  }

  private launchDemoHost(tag: { key: string; value: string }, instanceType: DemoHostInstanceType, logRetention: logs.RetentionDays): ec2.Instance {
    const vpc = new ec2.Vpc(this, 'DemoVpc', {
      maxAzs: 1,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'DemoVpcFlowLogs', { retention: logRetention })) } },
    });
    const securityGroup = new ec2.SecurityGroup(this, 'DemoHostSecurityGroup', { vpc, description: 'inferwatch demo host: no inbound; outbound to SSM and AMP', allowAllOutbound: true });
    const host = new ec2.Instance(this, 'DemoHost', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceType: new ec2.InstanceType(instanceType),
      machineImage: demoHostImage(instanceType),
      role: this.instanceRole,
      securityGroup,
      requireImdsv2: true,
      detailedMonitoring: true,
      associatePublicIpAddress: true,
      blockDevices: [{ deviceName: '/dev/sda1', volume: ec2.BlockDeviceVolume.ebs(100, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    // Inferentia types are offered in some zones of a region only, and the first zone is often not one of them: place
    // the subnet (and so the host) in a zone EC2 says offers the type, asked at deploy.
    const zone = this.zoneOffering(instanceType, logRetention);
    (vpc.publicSubnets[0]?.node.defaultChild as ec2.CfnSubnet).availabilityZone = zone;
    (host.node.defaultChild as ec2.CfnInstance).availabilityZone = zone;
    Tags.of(host).add(tag.key, tag.value);
    Tags.of(host).add('Name', 'inferwatch-neuron-demo');
    Validations.of(host).acknowledge({ id: 'AwsSolutions-EC29', reason: 'A demo host behind a config flag, meant to be torn down with the stack; termination protection would only get in the way.' });
    return host;
  }

  /** The first availability zone of the region that offers the instance type (ec2:DescribeInstanceTypeOfferings). */
  private zoneOffering(instanceType: string, logRetention: logs.RetentionDays): string {
    const offerings = new cr.AwsCustomResource(this, 'DemoHostZone', {
      resourceType: 'Custom::InstanceTypeZone',
      onUpdate: {
        service: 'EC2',
        action: 'describeInstanceTypeOfferings',
        parameters: { LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: [instanceType] }] },
        physicalResourceId: cr.PhysicalResourceId.of(`inferwatch-demo-host-zone-${instanceType}`),
        outputPaths: ['InstanceTypeOfferings.0.Location'],
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['ec2:DescribeInstanceTypeOfferings'], resources: ['*'] })]),
      installLatestAwsSdk: false,
      memorySize: 256,
      logGroup: new logs.LogGroup(this, 'DemoHostZoneLogs', { retention: logRetention }),
    });
    Validations.of(offerings.node.findChild('CustomResourcePolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeInstanceTypeOfferings supports no resource-level permissions; it only reads which zones offer a type.',
    });
    // AwsCustomResource runs one provider function per stack, created beside the stack's own constructs.
    const provider = Stack.of(this).node.findChild(AWS_CUSTOM_RESOURCE_PROVIDER_ID);
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "The provider of CDK's AwsCustomResource: the managed policy grants only writing its own logs.",
    });
    for (const ruleId of ['Serverless-LambdaDLQ', 'Serverless-LambdaTracing']) {
      Validations.of(provider).acknowledge({
        id: ruleId,
        reason: 'The handler of a CloudFormation custom resource that makes one read-only EC2 call: CloudFormation receives every failure with its reason and rolls back; a queue or a trace would hold nothing more.',
      });
    }
    return offerings.getResponseField('InstanceTypeOfferings.0.Location');
  }
}
