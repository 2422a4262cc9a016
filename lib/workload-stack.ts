import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AlertTopic } from './alert-topic';
import { CloudWatchBridge, type CloudWatchBridgeProps } from './cloudwatch-bridge';
import { NeuronCollector, type NeuronCollectorProps } from './neuron-collector';
import { ampRemoteWriteUrl } from './prometheus-workspace';
import { workspaceKeyStatement } from './workspace-key-access';

export interface WorkloadStackProps extends StackProps {
  /** How the bridge reaches the workspace and what it runs with. */
  readonly bridge: Omit<CloudWatchBridgeProps, 'alarmTopic' | 'logRetention'>;
  /**
   * The workspace's customer-managed key (or `arn:...:kms:<region>:<account>:key/*` where only the workspace id is known):
   * the bridge and the collector hosts query and write through AMP with it. Not used with `bridge.writerRoleArn`: the
   * writer role has the key.
   * @default none: the workspace uses an AWS-owned key
   */
  readonly workspaceKeyArn?: string;
  /** Addresses told when the bridge's own alarms fire. @default none */
  readonly alertEmails?: readonly string[];
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Inferentia hosts enrolled by tag (SSM): where their collectors write, and how. `false` leaves it out.
   * @default enrol hosts tagged inferwatch:neuron=true
   */
  readonly neuronCollector?: false | (Omit<NeuronCollectorProps, 'remoteWriteUrl' | 'workspaceArn' | 'writerRoleArn' | 'logRetention' | 'workspaceRegion'> & { readonly workspaceRegion?: string });
}

/** A workload account and region's half: the bridge, and a topic for its own alarms. */
export class WorkloadStack extends Stack {
  public readonly bridge: CloudWatchBridge;
  public readonly alarmTopic: sns.Topic;
  public readonly neuronCollector: NeuronCollector | undefined;

  constructor(scope: Construct, id: string, props: WorkloadStackProps) {
    super(scope, id, props);
    this.alarmTopic = new AlertTopic(this, 'BridgeAlarms', {
      displayName: 'inferwatch bridge alarms',
      emails: props.alertEmails,
      publishers: [{ service: 'cloudwatch.amazonaws.com' }],
    }).topic;
    this.bridge = new CloudWatchBridge(this, 'Bridge', { ...props.bridge, alarmTopic: this.alarmTopic, logRetention: props.logRetention });
    if (props.neuronCollector !== false) {
      this.neuronCollector = new NeuronCollector(this, 'NeuronCollector', {
        ...props.neuronCollector,
        workspaceRegion: props.neuronCollector?.workspaceRegion ?? props.bridge.workspaceRegion ?? this.region,
        // The collector has no DescribeWorkspace: it gets the URL AMP derives from the id and region.
        remoteWriteUrl: ampRemoteWriteUrl(props.neuronCollector?.workspaceRegion ?? props.bridge.workspaceRegion ?? this.region, props.bridge.workspaceId),
        workspaceArn: props.bridge.workspaceArn,
        writerRoleArn: props.bridge.writerRoleArn,
        logRetention: props.logRetention,
      });
    }
    if (props.workspaceKeyArn !== undefined && props.bridge.writerRoleArn === undefined) {
      const statement = workspaceKeyStatement(props.workspaceKeyArn, props.bridge.workspaceRegion ?? this.region);
      this.bridge.role.addToPolicy(statement);
      this.neuronCollector?.instancePolicy.addStatements(statement);
    }
  }
}
