import { Aws, Duration, Fn, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { INSTANCE_ID_PLACEHOLDER, renderCollectorConfig, renderExporterUnit } from './neuron-collector/render';
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
/** The Neuron DLAMI (Ubuntu 22.04) as AWS publishes it in SSM. */
export const NEURON_DLAMI_PARAMETER = '/aws/service/neuron/dlami/multi-framework/ubuntu-22.04/latest/image_id';

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
   * How often the association re-applies the setup (drift correction).
   * @default 30 minutes
   */
  readonly reapplyEvery?: Duration;
  /**
   * Launch one inf1.xlarge on the Neuron DLAMI, tagged for enrolment, to see it work.
   * @default false
   */
  readonly demoHost?: boolean;
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
 * AWSDistroOTel-Collector), runs neuron-monitor's Prometheus exporter as a systemd service, and writes the
 * collector config that scrapes it and remote-writes to AMP. No SSH, no hand steps; drift is re-applied.
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
    const exporterPort = props.exporterPort ?? 8008;
    if (!Number.isInteger(exporterPort) || exporterPort < 1 || exporterPort > 65535) throw new Error(`NeuronCollector: exporterPort ${exporterPort} is not a TCP port`);
    const reapplyMinutes = (props.reapplyEvery ?? Duration.minutes(30)).toMinutes();
    if (reapplyMinutes < 30) throw new Error('NeuronCollector: reapplyEvery must be at least 30 minutes (the State Manager minimum)');

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
            inputs: { documentType: 'SSMDocument', documentPath: 'AWS-ConfigureAWSPackage', documentParameters: { action: 'Install', name: 'AWSDistroOTel-Collector' } },
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

    if (props.demoHost) this.demoHost = this.launchDemoHost(tag, props.logRetention ?? logs.RetentionDays.ONE_MONTH);

    stackOutput(this, 'InstanceProfileName', this.instanceProfile.instanceProfileName, 'Instance profile for Inferentia hosts (SSM + AMP remote write)');
    stackOutput(this, 'InstancePolicyArn', this.instancePolicy.managedPolicyArn, 'Attach to your own instance role, with AmazonSSMManagedInstanceCore');
    stackOutput(this, 'EnrolmentTag', `${tag.key}=${tag.value}`, 'Tag an instance with this to enrol it');
  }

  private launchDemoHost(tag: { key: string; value: string }, logRetention: logs.RetentionDays): ec2.Instance {
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
      instanceType: new ec2.InstanceType('inf1.xlarge'),
      machineImage: ec2.MachineImage.fromSsmParameter(NEURON_DLAMI_PARAMETER),
      role: this.instanceRole,
      securityGroup,
      requireImdsv2: true,
      detailedMonitoring: true,
      associatePublicIpAddress: true,
      blockDevices: [{ deviceName: '/dev/sda1', volume: ec2.BlockDeviceVolume.ebs(100, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    Tags.of(host).add(tag.key, tag.value);
    Tags.of(host).add('Name', 'inferwatch-neuron-demo');
    Validations.of(host).acknowledge({ id: 'AwsSolutions-EC29', reason: 'A demo host behind a config flag, meant to be torn down with the stack; termination protection would only get in the way.' });
    return host;
  }
}
