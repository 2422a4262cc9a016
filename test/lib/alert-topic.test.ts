import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AlertTopic } from '../../lib/alert-topic';

function synth(props: ConstructorParameters<typeof AlertTopic>[2]) {
  const stack = new Stack(new App(), 'Test');
  const topic = new AlertTopic(stack, 'Alerts', props);
  return { template: Template.fromStack(stack), topic, stack };
}

describe('AlertTopic', () => {
  test('encrypted with the AWS-managed SNS key by default, TLS only, no queue without subscribers', () => {
    const { template, topic } = synth({});
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: 'alias/aws/sns' });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] } });
    template.resourceCountIs('AWS::SQS::Queue', 0);
    expect(topic.undeliveredQueue).toBeUndefined();
  });

  test('a customer key when given; email subscriptions redrive undeliverable notifications to an encrypted queue', () => {
    const stack = new Stack(new App(), 'Keyed');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new AlertTopic(stack, 'Alerts', { encryptionKey: key, emails: ['a@example.com', 'b@example.com'] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'b@example.com',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsUndelivered'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });
});
