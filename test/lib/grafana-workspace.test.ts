import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseInferwatchConfig } from '../../lib/config/inferwatch-config';
import { GRAFANA_VERSION, GrafanaWorkspace, type GrafanaWorkspaceProps } from '../../lib/grafana-workspace';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { buildInferwatch } from '../../lib/inferwatch-app';
import { interpolate, panelsOf } from '../../demo/demo-charts';
import { PrometheusWorkspace } from '../../lib/prometheus-workspace';
import { addNagChecks } from '../../bin/nag-checks';

function synth(props: Partial<GrafanaWorkspaceProps> = {}) {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const prometheus = new PrometheusWorkspace(stack, 'Prometheus');
  new GrafanaWorkspace(stack, 'Grafana', { prometheus, ...props });
  return Template.fromStack(stack);
}

describe('GrafanaWorkspace', () => {
  test('AWS SSO by default, customer-managed permissions (CloudFormation cannot use SERVICE_MANAGED), Grafana 12.4, with a role that may only query the one AMP workspace', () => {
    const template = synth();
    template.hasResourceProperties('AWS::Grafana::Workspace', {
      AccountAccessType: 'CURRENT_ACCOUNT',
      AuthenticationProviders: ['AWS_SSO'],
      PermissionType: 'CUSTOMER_MANAGED',
      GrafanaVersion: '12.4',
      // The provisioner installs the Amazon Managed Service for Prometheus data source plugin where it is missing.
      PluginAdminEnabled: true,
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GrafanaRole'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'grafana.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } })] },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^GrafanaRole') }],
      PolicyDocument: {
        Statement: [
          { Sid: 'QueryPrometheus', Effect: 'Allow', Action: ['aps:QueryMetrics', 'aps:GetSeries', 'aps:GetLabels', 'aps:GetMetricMetadata'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PrometheusWorkspace'), 'Arn'] } },
        ],
      },
    });
  });

  test('the dashboards are built with the foundation SDK line for Grafana 12 and later, and the workspace runs Grafana 12.4', () => {
    const sdk = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['@grafana/grafana-foundation-sdk'];
    // The 0.0.x line is generated from Grafana's main branch: dashboard schema 42, which Grafana 12.4 reads as is.
    expect(sdk).toMatch(/^0\.0\.\d+$/);
    expect(new Set(allDashboards().map((d) => d.schemaVersion))).toEqual(new Set([42]));
    expect(GRAFANA_VERSION).toBe('12.4');
  });

  test('the provisioning custom resource times out shortly after its handler would, not after an hour', () => {
    const template = synth();
    template.hasResourceProperties('Custom::GrafanaProvisioning', { ServiceTimeout: '360' });
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 300 });
  });

  test('the provisioner may only manage service-account tokens of this workspace; its log group keeps a retention', () => {
    const template = synth();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^GrafanaProvisionerRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ShortLivedServiceAccountToken',
            Action: ['grafana:ListWorkspaceServiceAccounts', 'grafana:CreateWorkspaceServiceAccount', 'grafana:CreateWorkspaceServiceAccountToken', 'grafana:DeleteWorkspaceServiceAccountToken'],
            Resource: { 'Fn::Join': ['', Match.arrayWith([':/workspaces/', { 'Fn::GetAtt': [Match.stringLikeRegexp('^GrafanaWorkspace'), 'Id'] }])] },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 300 });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('the custom resource carries the workspace, the AMP endpoint and region, and every dashboard', () => {
    const template = synth();
    const resource = Object.values(template.findResources('Custom::GrafanaProvisioning'))[0]?.Properties;
    expect(resource).toMatchObject({
      WorkspaceId: { 'Fn::GetAtt': [expect.stringMatching(/^GrafanaWorkspace/), 'Id'] },
      GrafanaUrl: { 'Fn::GetAtt': [expect.stringMatching(/^GrafanaWorkspace/), 'Endpoint'] },
      PrometheusUrl: { 'Fn::GetAtt': [expect.stringMatching(/^PrometheusWorkspace/), 'PrometheusEndpoint'] },
      PrometheusRegion: 'eu-west-1',
    });
    expect((JSON.parse(resource?.Dashboards as string) as Array<{ uid: string }>).map((d) => d.uid)).toEqual([
      'inferwatch-fleet',
      'inferwatch-sagemaker',
      'inferwatch-inference-components',
      'inferwatch-llm',
      'inferwatch-async',
      'inferwatch-serverless',
      'inferwatch-multi-model',
      'inferwatch-neuron',
      'inferwatch-bridge',
    ]);
  });

  test('SAML: metadata, role attribute and values', () => {
    const template = synth({ authentication: 'SAML', saml: { idpMetadataUrl: 'https://idp.example.com/metadata', adminRoleValues: ['ml-platform-admins'], editorRoleValues: ['ml-engineers'] } });
    template.hasResourceProperties('AWS::Grafana::Workspace', {
      AuthenticationProviders: ['SAML'],
      SamlConfiguration: { IdpMetadata: { Url: 'https://idp.example.com/metadata' }, AssertionAttributes: { Role: 'role' }, RoleValues: { Admin: ['ml-platform-admins'], Editor: ['ml-engineers'] } },
    });
    expect(() => synth({ authentication: 'SAML' })).toThrow('authentication SAML needs saml');
    expect(() => synth({ authentication: 'SAML', saml: { adminRoleValues: ['a'] } })).toThrow('exactly one of idpMetadataUrl or idpMetadataXml');
  });

  test('config: Grafana can be turned off; SAML needs its settings', () => {
    const app = addNagChecks(new App());
    const { monitoring } = buildInferwatch(app, parseInferwatchConfig({ monitoring: { grafana: { enabled: false } } }));
    Template.fromStack(monitoring).resourceCountIs('AWS::Grafana::Workspace', 0);
    expect(() => parseInferwatchConfig({ monitoring: { grafana: { authentication: 'SAML' } } })).toThrow('config key "monitoring.grafana.saml": is required when authentication is SAML');
    expect(() => parseInferwatchConfig({ monitoring: { grafana: { saml: { adminRoleValues: ['a'], idpMetadataXml: '<x/>' } } } })).toThrow('config key "monitoring.grafana.saml": is only used when authentication is SAML');
  });

  test('dashboards: unique uids; every panel on the data source variable, every query on variables its dashboard defines', () => {
    const uids = allDashboards().map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    const problems: string[] = [];
    for (const { dashboard, panel } of panelsOf(allDashboards())) {
      const where = `${dashboard.uid} / ${panel.title}`;
      if ((panel as { datasource?: { uid?: string } }).datasource?.uid !== '${datasource}') problems.push(`${where}: not on \${datasource}`);
      if ((panel.targets ?? []).length === 0) problems.push(`${where}: no query`);
      for (const target of panel.targets ?? []) {
        try {
          interpolate(target.expr ?? '', dashboard);
        } catch (error) {
          problems.push(`${where}: ${(error as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
