import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ConfigError } from '../../../contract/errors';
import { parseInferwatchConfig } from '../../../lib/config/inferwatch-config';
import { loadServiceRegions, monitoringRegionProblem, partitionOf } from '../../../lib/config/service-regions';
import { buildInferwatch } from '../../../lib/inferwatch-app';

const WORKSPACE_ID = 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789';

function build(config: unknown) {
  const app = new App();
  return buildInferwatch(app, parseInferwatchConfig(config));
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected an ConfigError');
}

describe('nothing lost on update or destroy', () => {
  test('the workspace and its key are retained on delete and on replacement', () => {
    const { monitoring } = build({ monitoring: { account: '111111111111', region: 'eu-west-1' } });
    const template = Template.fromStack(monitoring);
    template.hasResource('AWS::APS::Workspace', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { Description: 'inferwatch: AMP workspace, logs, alerts' } });
    template.hasOutput('WorkspaceFingerprint', { Value: 'kms=customer-managed' });
  });

  test("the bridge's state bucket is retained on delete and on replacement", () => {
    const { workloads } = build({ monitoring: { account: '111111111111', region: 'eu-west-1' } });
    Template.fromStack(workloads[0] as never).hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('a change that would replace the deployed workspace fails in one line naming the key, both ways', () => {
    const off = { monitoring: { customerManagedKey: false, workspaceId: WORKSPACE_ID, workspaceFingerprint: 'kms=customer-managed' } };
    const message = configError(() => parseInferwatchConfig(off));
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^config key "monitoring\.customerManagedKey": is false, but the deployed workspace was created with a customer-managed KMS key \(monitoring\.workspaceFingerprint "kms=customer-managed"\)/);
    expect(message).toContain('set monitoring.allowWorkspaceReplacement: true');
    expect(configError(() => parseInferwatchConfig({ monitoring: { customerManagedKey: true, workspaceFingerprint: 'kms=aws-owned' } }))).toContain('created with an AWS-owned key');
  });

  test('allowWorkspaceReplacement: true lets it through; an unchanged fingerprint needs nothing', () => {
    const { monitoring } = build({ monitoring: { account: '111111111111', region: 'eu-west-1', customerManagedKey: false, workspaceFingerprint: 'kms=customer-managed', allowWorkspaceReplacement: true } });
    Template.fromStack(monitoring).hasOutput('WorkspaceFingerprint', { Value: 'kms=aws-owned' });
    expect(() => parseInferwatchConfig({ monitoring: { customerManagedKey: true, workspaceFingerprint: 'kms=customer-managed' } })).not.toThrow();
  });

  test('the fingerprint is validated by the schema, with its key named', () => {
    expect(configError(() => parseInferwatchConfig({ monitoring: { workspaceFingerprint: 'customer-managed' } }))).toBe(
      'config key "monitoring.workspaceFingerprint": must be the WorkspaceFingerprint output of the monitoring stack, such as kms=customer-managed',
    );
    expect(configError(() => parseInferwatchConfig({ monitoring: { allowWorkspaceReplacement: 'yes' } }))).toMatch(/^config key "monitoring\.allowWorkspaceReplacement": /);
  });
});

describe('a second install, and partitions', () => {
  test('the key alias follows stackPrefix, so a second install in the same account and region does not collide', () => {
    const aliases = ['Inferwatch', 'Staging'].map((stackPrefix) => {
      const { monitoring } = build({ stackPrefix, monitoring: { account: '111111111111', region: 'eu-west-1' } });
      return Object.values(Template.fromStack(monitoring).findResources('AWS::KMS::Alias')).map((a) => a.Properties.AliasName as string);
    });
    // The default install keeps the alias it always had.
    expect(aliases).toEqual([['alias/inferwatch-monitoring'], ['alias/staging-monitoring']]);
  });

  test('AMP is in no China region: synth refuses aws-cn in one line naming the service', () => {
    for (const region of ['cn-north-1', 'cn-northwest-1']) {
      const message = configError(() => build({ monitoring: { account: '111111111111', region, grafana: { enabled: false } } }));
      expect(message).toBe(
        `config key "monitoring.region": Amazon Managed Service for Prometheus is not offered in monitoring.region "${region}" (partition aws-cn); choose a region where it is (lib/config/service-regions.yaml lists them)`,
      );
    }
  });

  test('AMG is not in GovCloud: refused with Grafana on, allowed with grafana.enabled: false', () => {
    expect(configError(() => build({ monitoring: { account: '111111111111', region: 'us-gov-west-1' } }))).toBe(
      'config key "monitoring.grafana.enabled": Amazon Managed Grafana is not offered in monitoring.region "us-gov-west-1" (partition aws-us-gov); set monitoring.grafana.enabled: false to deploy without it, or choose a region where it is',
    );
    const { monitoring } = build({ monitoring: { account: '111111111111', region: 'us-gov-west-1', grafana: { enabled: false } } });
    Template.fromStack(monitoring).resourceCountIs('AWS::APS::Workspace', 1);
    Template.fromStack(monitoring).resourceCountIs('AWS::Grafana::Workspace', 0);
  });

  test('a workload in another partition than the monitoring region is refused', () => {
    expect(configError(() => build({ monitoring: { account: '111111111111', region: 'eu-west-1', workspaceId: WORKSPACE_ID }, workloads: [{ region: 'cn-north-1' }] }))).toBe(
      'config key "workloads[0].region": "cn-north-1" is in partition aws-cn, the monitoring region "eu-west-1" in aws; a workload writes to the workspace with IAM credentials, which do not cross partitions',
    );
  });

  test('the region data: every AMG region offers AMP too, and partitions are told apart by name', () => {
    const offers = loadServiceRegions();
    expect(offers.amg.regions.filter((r) => !offers.amp.regions.includes(r))).toEqual([]);
    expect(offers.amp.regions.some((r) => partitionOf(r) === 'aws-cn')).toBe(false);
    expect(offers.amg.regions.some((r) => partitionOf(r) !== 'aws')).toBe(false);
    expect(monitoringRegionProblem('eu-west-1', true, offers)).toBeUndefined();
  });
});
