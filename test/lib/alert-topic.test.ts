import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AlertTopic } from '../../lib/alert-topic';
import { parseInferwatchConfig } from '../../lib/config/inferwatch-config';
import { buildInferwatch } from '../../lib/inferwatch-app';
import { addNagChecks } from '../../bin/nag-checks';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Effect: string; Principal?: { Service?: string | string[] }; Action: string | string[] };

const ref = (logicalId: string) => JSON.stringify({ Ref: logicalId });

/** Which AWS services publish to the topic, read from the template: alarm actions and AMP alert manager definitions. */
function publishersOf(resources: Record<string, Resource>, topicId: string): string[] {
  const services = new Set<string>();
  for (const resource of Object.values(resources)) {
    if (resource.Type === 'AWS::CloudWatch::Alarm' && JSON.stringify(resource.Properties.AlarmActions ?? []).includes(ref(topicId))) services.add('cloudwatch.amazonaws.com');
    if (resource.Type === 'AWS::APS::Workspace' && JSON.stringify(resource.Properties.AlertManagerDefinition ?? '').includes(ref(topicId))) services.add('aps.amazonaws.com');
  }
  return [...services].sort();
}

const allows = (statements: Statement[], service: string, action: string) =>
  statements.some((s) => s.Effect === 'Allow' && [s.Principal?.Service].flat().includes(service) && [s.Action].flat().some((a) => a === action || (a.endsWith('*') && action.startsWith(a.slice(0, -1)))));

/** Every topic: a key of this template, whose policy lets in each service that publishes to the topic (SNS uses it on their behalf). */
function checkTopicKeys(template: Template): string[] {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const seen: string[] = [];
  for (const [topicId, topic] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SNS::Topic')) {
    const publishers = publishersOf(resources, topicId);
    expect({ topicId, publishers: publishers.length > 0 }).toEqual({ topicId, publishers: true });
    const keyRef = topic.Properties.KmsMasterKeyId as { 'Fn::GetAtt'?: [string, string] } | string;
    expect({ topicId, keyRef }).toEqual({ topicId, keyRef: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
    const key = resources[(keyRef as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]];
    expect(key?.Type).toBe('AWS::KMS::Key');
    const keyStatements = (key?.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
    const topicStatements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties.Topics).includes(ref(topicId)))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    for (const service of publishers) {
      expect({ topicId, service, generateDataKey: allows(keyStatements, service, 'kms:GenerateDataKey'), decrypt: allows(keyStatements, service, 'kms:Decrypt'), publish: allows(topicStatements, service, 'sns:Publish') }).toEqual({
        topicId,
        service,
        generateDataKey: true,
        decrypt: true,
        publish: true,
      });
      seen.push(service);
    }
  }
  return seen;
}

describe('AlertTopic', () => {
  test('every topic the app deploys is encrypted with a key whose policy lets its publishers in (CloudWatch for alarms, AMP for alerts)', () => {
    for (const customerManagedKey of [true, false]) {
      const app = addNagChecks(new App());
      const { monitoring, workloads } = buildInferwatch(
        app,
        parseInferwatchConfig({
          monitoring: { account: '111111111111', region: 'eu-west-1', workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789', customerManagedKey, alertEmails: ['ops@example.com'] },
          workloads: [{}, { account: '222222222222' }],
        }),
      );
      const seen = [monitoring, ...workloads].flatMap((stack) => checkTopicKeys(Template.fromStack(stack)));
      expect([...new Set(seen)].sort()).toEqual(['aps.amazonaws.com', 'cloudwatch.amazonaws.com']);
      expect(() => app.synth()).not.toThrow();
    }
  });

  test('without a key it makes its own, rotated; TLS only; no queue without subscribers', () => {
    const stack = new Stack(new App(), 'Test');
    const topic = new AlertTopic(stack, 'Alerts', { publishers: [{ service: 'cloudwatch.amazonaws.com' }] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } });
    template.resourceCountIs('AWS::SQS::Queue', 0);
    expect(topic.undeliveredQueue).toBeUndefined();
  });

  test('a customer key when given; email subscriptions redrive undeliverable notifications to an encrypted queue', () => {
    const stack = new Stack(new App(), 'Keyed');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new AlertTopic(stack, 'Alerts', { encryptionKey: key, emails: ['a@example.com', 'b@example.com'] });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'b@example.com',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsUndelivered'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  test('a publisher on an imported key, whose policy cannot be changed here, throws', () => {
    const stack = new Stack(new App(), 'Imported', { env: { account: '111111111111', region: 'eu-west-1' } });
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111111111111:key/0a1b2c3d-0000-0000-0000-000000000000');
    expect(() => new AlertTopic(stack, 'Alerts', { encryptionKey: key, publishers: [{ service: 'cloudwatch.amazonaws.com' }] })).toThrow(
      'AlertTopic: cannot grant cloudwatch.amazonaws.com on the topic key',
    );
  });
});
