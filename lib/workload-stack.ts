import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AlertTopic } from './alert-topic';
import { CloudWatchBridge, type CloudWatchBridgeProps } from './cloudwatch-bridge';

export interface WorkloadStackProps extends StackProps {
  /** How the bridge reaches the workspace and what it runs with. */
  readonly bridge: Omit<CloudWatchBridgeProps, 'alarmTopic' | 'logRetention'>;
  /** Addresses told when the bridge's own alarms fire. @default none */
  readonly alertEmails?: readonly string[];
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
}

/** A workload account and region's half: the bridge, and a topic for its own alarms. */
export class WorkloadStack extends Stack {
  public readonly bridge: CloudWatchBridge;
  public readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: WorkloadStackProps) {
    super(scope, id, props);
    this.alarmTopic = new AlertTopic(this, 'BridgeAlarms', { displayName: 'inferwatch bridge alarms', emails: props.alertEmails }).topic;
    this.bridge = new CloudWatchBridge(this, 'Bridge', { ...props.bridge, alarmTopic: this.alarmTopic, logRetention: props.logRetention });
  }
}
