import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_RULE_FILES, mergeRuleFiles, PrometheusWorkspace } from '../../lib/prometheus-workspace';

function synth(withKey: boolean) {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const key = withKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const workspace = new PrometheusWorkspace(stack, 'Prometheus', { alias: 'prod', encryptionKey: key, alertEmails: ['ops@example.com'], logRetention: logs.RetentionDays.THREE_MONTHS });
  return { template: Template.fromStack(stack), workspace, stack };
}

const work = mkdtempSync(join(tmpdir(), 'iw-amp-'));

describe('PrometheusWorkspace', () => {
  test('series limits per label set and retention go into the workspace configuration (CloudFormation, no custom resource)', () => {
    const stack = new Stack(new App(), 'Limits', { env: { account: '111111111111', region: 'eu-west-1' } });
    new PrometheusWorkspace(stack, 'Prometheus', {
      seriesLimits: [
        { labels: { account_id: '222222222222' }, maxSeries: 17_000 },
        { labels: { account_id: '333333333333' }, maxSeries: 0 },
      ],
      retentionDays: 400,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::APS::Workspace', {
      WorkspaceConfiguration: {
        LimitsPerLabelSets: [
          { LabelSet: [{ Name: 'account_id', Value: '222222222222' }], Limits: { MaxSeries: 17000 } },
          { LabelSet: [{ Name: 'account_id', Value: '333333333333' }], Limits: { MaxSeries: 0 } },
        ],
        RetentionPeriodInDays: 400,
      },
    });
    template.resourceCountIs('AWS::CloudFormation::CustomResource', 0);
    expect(Object.values(synth(false).template.findResources('AWS::APS::Workspace'))[0]?.Properties.WorkspaceConfiguration).toBeUndefined();
  });

  test.each([
    [{ seriesLimits: [{ labels: {}, maxSeries: 1 }] }, 'seriesLimits[0].labels is empty'],
    [{ seriesLimits: [{ labels: { 'account-id': '1' }, maxSeries: 1 }] }, '"account-id" is not a Prometheus label name'],
    [{ seriesLimits: [{ labels: { account_id: ' ' }, maxSeries: 1 }] }, 'seriesLimits[0].labels.account_id is empty'],
    [{ seriesLimits: [{ labels: { account_id: '1' }, maxSeries: -5 }] }, 'seriesLimits[0].maxSeries must be a whole number from 0'],
    [{ seriesLimits: [{ labels: { a: '1', b: '2' }, maxSeries: 1 }, { labels: { b: '2', a: '1' }, maxSeries: 2 }] }, 'seriesLimits[1] repeats the label set'],
    [{ retentionDays: 0 }, 'retentionDays must be a whole number from 1 to 1095'],
  ])('conflicting or impossible limits throw: %j', (props, message) => {
    const stack = new Stack(new App(), 'Bad');
    expect(() => new PrometheusWorkspace(stack, 'Prometheus', props)).toThrow(message);
  });

  test('workspace with alias, customer key and logging to a log group with retention', () => {
    const { template } = synth(true);
    template.hasResourceProperties('AWS::APS::Workspace', {
      Alias: 'prod',
      KmsKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      LoggingConfiguration: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PrometheusLogs'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    // The key lets CloudWatch Logs of this account and region use it, or the log group would not deploy.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowCloudWatchLogs', Principal: { Service: 'logs.eu-west-1.amazonaws.com' }, Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } } })]) },
    });
  });

  test('alerts go to an encrypted SNS topic that only AMP of this account may publish to, with email subscriptions', () => {
    const { template } = synth(false);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PrometheusAlertsKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Sid: 'AllowApsPublish', Principal: { Service: 'aps.amazonaws.com' }, Action: ['sns:Publish', 'sns:GetTopicAttributes'], Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const withKey = synth(true).template;
    withKey.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowApsToEncryptAlerts', Principal: { Service: 'aps.amazonaws.com' } })]) },
    });
  });

  test('the alert manager definition passes amtool check-config once rendered', () => {
    const { template } = synth(false);
    const definition = Object.values(template.findResources('AWS::APS::Workspace'))[0]?.Properties.AlertManagerDefinition as { 'Fn::Sub': [string, Record<string, unknown>] };
    const [text, variables] = definition['Fn::Sub'];
    expect(Object.keys(variables).sort()).toEqual(['ALERT_TOPIC_ARN', 'REGION']);
    const rendered = text.replace('${ALERT_TOPIC_ARN}', 'arn:aws:sns:eu-west-1:111111111111:alerts').replace('${REGION}', 'eu-west-1');
    const config = (parseYaml(rendered) as { alertmanager_config: string }).alertmanager_config;
    const file = join(work, 'alertmanager.yml');
    writeFileSync(file, config);
    const check = spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.status).toBe(0);
  });

  test('the rule groups namespace holds the project rules, valid for promtool, and their unit tests pass', () => {
    const { template } = synth(false);
    const data = Object.values(template.findResources('AWS::APS::RuleGroupsNamespace'))[0]?.Properties.Data as string;
    const file = join(work, 'rules.yml');
    writeFileSync(file, data);
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(check.stdout).toMatch(/SUCCESS: 18 rules found/);
    const unit = spawnSync('promtool', ['test', 'rules', join(__dirname, '../../lib/prometheus-workspace/inferwatch.rules.test.yaml')], { encoding: 'utf8' });
    expect(unit.stdout + unit.stderr).toContain('SUCCESS');
    expect(unit.status).toBe(0);
  });

  test('several rule files merge into one namespace', () => {
    const extra = join(work, 'extra.rules.yaml');
    writeFileSync(extra, '# team rules\ngroups:\n  - name: team\n    rules:\n      - record: x:y:z\n        expr: vector(1)\n');
    const merged = parseYaml(mergeRuleFiles([...DEFAULT_RULE_FILES, extra])) as { groups: Array<{ name: string }> };
    expect(merged.groups.map((g) => g.name)).toEqual(['inferwatch-recording', 'inferwatch-model-server', 'inferwatch-alerts', 'team']);
    writeFileSync(join(work, 'bad.yaml'), 'rules: []\n');
    expect(() => mergeRuleFiles([join(work, 'bad.yaml')])).toThrow(/does not start with a top-level "groups:" list/);
  });

  test('outputs are named WorkspaceId, RemoteWriteUrl and QueryUrl, as the README promises', () => {
    const { template } = synth(false);
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(['QueryUrl', 'RemoteWriteUrl', 'WorkspaceId']);
    expect(outputs.WorkspaceId?.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PrometheusWorkspace/), 'WorkspaceId'] });
    expect(JSON.stringify(outputs.RemoteWriteUrl?.Value)).toContain('api/v1/remote_write');
    expect(JSON.stringify(outputs.QueryUrl?.Value)).toContain('api/v1/query');
  });
});
