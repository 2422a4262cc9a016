import { Duration, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlertTopicProps {
  /** @default "inferwatch alerts" */
  readonly displayName?: string;
  /**
   * Customer-managed key for the topic.
   * @default the AWS-managed SNS key
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Email addresses subscribed to the topic.
   * @default none
   */
  readonly emails?: readonly string[];
}

/**
 * An encrypted, TLS-only SNS topic with email subscriptions. Notifications that cannot be delivered go to a
 * dead-letter queue instead of vanishing.
 */
export class AlertTopic extends Construct {
  public readonly topic: sns.Topic;
  /** Present when there are subscriptions. */
  public readonly undeliveredQueue: sqs.Queue | undefined;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: props.displayName ?? 'inferwatch alerts', masterKey: props.encryptionKey, enforceSSL: true });
    if (!props.encryptionKey) (this.topic.node.defaultChild as sns.CfnTopic).kmsMasterKeyId = 'alias/aws/sns';
    const emails = props.emails ?? [];
    if (emails.length === 0) return;
    this.undeliveredQueue = new sqs.Queue(this, 'Undelivered', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    for (const id of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.undeliveredQueue).acknowledge({ id, reason: 'This queue is the dead-letter queue of the alert subscriptions; nothing consumes it to redrive from.' });
    }
    for (const email of emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue: this.undeliveredQueue }));
  }
}
