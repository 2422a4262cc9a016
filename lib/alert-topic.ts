import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** An AWS service that publishes to the topic, and what it calls on it. */
export interface AlertPublisher {
  /** Service principal, e.g. `cloudwatch.amazonaws.com` (alarms) or `aps.amazonaws.com` (AMP alert manager). */
  readonly service: string;
  /**
   * Topic actions the service needs.
   * @default ["sns:Publish"]
   */
  readonly actions?: readonly string[];
}

export interface AlertTopicProps {
  /** @default "inferwatch alerts" */
  readonly displayName?: string;
  /**
   * Customer-managed key for the topic. Its policy must be editable here (a key of this app, not an imported
   * one): each publisher is granted on it.
   * @default a key of the topic's own, rotated yearly
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * The AWS services that publish to the topic, each allowed on the topic and on its key, for this account only.
   * @default none
   */
  readonly publishers?: readonly AlertPublisher[];
  /**
   * Email addresses subscribed to the topic.
   * @default none
   */
  readonly emails?: readonly string[];
}

/**
 * An encrypted, TLS-only SNS topic with email subscriptions. Notifications that cannot be delivered go to a
 * dead-letter queue instead of vanishing.
 *
 * Always a customer-managed key: an AWS service publishing to an encrypted topic must be allowed to use its key,
 * and the policy of the AWS-managed `alias/aws/sns` key cannot name CloudWatch or AMP, so their messages would be
 * dropped.
 */
export class AlertTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly encryptionKey: kms.IKey;
  /** Present when there are subscriptions. */
  public readonly undeliveredQueue: sqs.Queue | undefined;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', { enableKeyRotation: true, description: `inferwatch: ${props.displayName ?? 'alerts'} topic` });
    this.topic = new sns.Topic(this, 'Topic', { displayName: props.displayName ?? 'inferwatch alerts', masterKey: this.encryptionKey, enforceSSL: true });
    const account = Stack.of(this).account;
    for (const publisher of props.publishers ?? []) this.allowPublisher(publisher, account);

    const emails = props.emails ?? [];
    if (emails.length === 0) return;
    this.undeliveredQueue = new sqs.Queue(this, 'Undelivered', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    for (const ruleId of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.undeliveredQueue).acknowledge({ id: ruleId, reason: 'This queue is the dead-letter queue of the alert subscriptions; nothing consumes it to redrive from.' });
    }
    for (const email of emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue: this.undeliveredQueue }));
  }

  private allowPublisher(publisher: AlertPublisher, account: string): void {
    const principal = new iam.ServicePrincipal(publisher.service);
    const name = (publisher.service.split('.')[0] ?? '').replace(/[^A-Za-z0-9]/g, '');
    const sid = name.charAt(0).toUpperCase() + name.slice(1);
    const thisAccount = { StringEquals: { 'aws:SourceAccount': account } };
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({ sid: `Allow${sid}Publish`, principals: [principal], actions: [...(publisher.actions ?? ['sns:Publish'])], resources: [this.topic.topicArn], conditions: thisAccount }),
    );
    // SNS encrypts each message with a data key under the topic's key, on behalf of the publisher.
    const added = this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({ sid: `Allow${sid}ToEncryptAlerts`, principals: [principal], actions: ['kms:GenerateDataKey*', 'kms:Decrypt'], resources: ['*'], conditions: thisAccount }),
    );
    if (!added.statementAdded) {
      throw new Error(`AlertTopic: cannot grant ${publisher.service} on the topic key: its policy is not part of this app (an imported key). Pass a kms.Key created in the app, or none.`);
    }
  }
}
