import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseInferwatchConfig } from '../../lib/config/inferwatch-config';
import { buildInferwatch } from '../../lib/inferwatch-app';
import { addNagChecks } from '../../bin/nag-checks';

/**
 * Permissions across resources: every principal that queries or writes the AMP workspace can use the workspace's
 * customer-managed key, checked on both sides (its IAM policies and the KMS key policy) in the synthesized templates,
 * against what AMP's "Encryption at rest" page requires:
 * - AMP uses the key with DescribeKey, GenerateDataKey and Decrypt; a service reading the workspace needs access to the
 *   key too (step 3, Amazon Managed Grafana: add its role to the key users);
 * - the calls come through AMP: `kms:ViaService` is `aps.<region>.amazonaws.com` where a condition names it;
 * - the workspace's creator must be allowed `kms:CreateGrant` and `kms:DescribeKey` by the key policy.
 */
const AMP_REQUIRES = {
  read: ['kms:Decrypt', 'kms:DescribeKey'],
  write: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
  create: ['kms:CreateGrant', 'kms:DescribeKey'],
} as const;

const MONITORING = { account: '111111111111', region: 'eu-west-1' };
const ENV = { partition: 'aws', urlSuffix: 'amazonaws.com' };

type Json = Record<string, unknown>;
interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: { AWS?: unknown };
  readonly Condition?: Record<string, Record<string, unknown>>;
}

interface Synth {
  readonly templates: Map<string, Json>;
  readonly stacks: Map<string, Stack>;
}

function synth(config: unknown): Synth {
  const app = addNagChecks(new App());
  const { monitoring, workloads } = buildInferwatch(app, parseInferwatchConfig(config));
  const stacks = new Map<string, Stack>([monitoring, ...workloads].map((stack) => [stack.stackName, stack]));
  const templates = new Map([...stacks].map(([name, stack]) => [name, Template.fromStack(stack).toJSON() as Json]));
  return { templates, stacks };
}

/** What CloudFormation would make of a value, enough for ARNs: pseudo parameters, joins, the ARNs of our resources, imports. */
function resolve(value: unknown, stackName: string, synthed: Synth): string {
  const stack = synthed.stacks.get(stackName) as Stack;
  const template = synthed.templates.get(stackName) as Json;
  if (typeof value === 'string') return value;
  const v = value as Json;
  if ('Ref' in v) {
    const pseudo: Record<string, string> = { 'AWS::Partition': ENV.partition, 'AWS::URLSuffix': ENV.urlSuffix, 'AWS::Region': stack.region, 'AWS::AccountId': stack.account };
    const ref = v.Ref as string;
    if (pseudo[ref] !== undefined) return pseudo[ref];
    return `ref:${stackName}/${ref}`;
  }
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolve(part, stackName, synthed)).join(sep);
  }
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    const type = ((template.Resources as Record<string, { Type: string }>)[id] as { Type: string }).Type;
    if (attr !== 'Arn') return `getatt:${stackName}/${id}.${attr}`;
    if (type === 'AWS::KMS::Key') return `arn:${ENV.partition}:kms:${stack.region}:${stack.account}:key/${id}`;
    if (type === 'AWS::IAM::Role') return `arn:${ENV.partition}:iam::${stack.account}:role/${id}`;
    return `arn:${ENV.partition}:${type}:${stack.region}:${stack.account}:${id}`;
  }
  if ('Fn::ImportValue' in v) {
    const name = resolve(v['Fn::ImportValue'], stackName, synthed);
    for (const [other, t] of synthed.templates) {
      for (const output of Object.values((t.Outputs ?? {}) as Record<string, { Value: unknown; Export?: { Name: unknown } }>)) {
        if (output.Export && resolve(output.Export.Name, other, synthed) === name) return resolve(output.Value, other, synthed);
      }
    }
    throw new Error(`no export ${name}`);
  }
  return JSON.stringify(value);
}

function resourcesOf(template: Json, type: string): Array<[string, Json]> {
  return Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
}

function roleId(template: Json, pattern: RegExp): string {
  const ids = resourcesOf(template, 'AWS::IAM::Role').map(([id]) => id).filter((id) => pattern.test(id));
  if (ids.length !== 1) throw new Error(`expected one role matching ${pattern}, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

/** Every identity-policy statement that applies to the role: attached policies, managed policies, inline policies. */
function identityStatements(template: Json, role: string): Statement[] {
  const refsRole = (roles: unknown) => Array.isArray(roles) && roles.some((r) => (r as Json).Ref === role);
  const roleResource = (template.Resources as Record<string, Json>)[role] as { Properties: { Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }>; ManagedPolicyArns?: unknown[] } };
  const managedRefs = new Set((roleResource.Properties.ManagedPolicyArns ?? []).map((arn) => (arn as Json).Ref).filter((ref) => ref !== undefined));
  return [
    ...resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) => refsRole((p.Properties as Json).Roles)),
    ...resourcesOf(template, 'AWS::IAM::ManagedPolicy').filter(([id, p]) => refsRole((p.Properties as Json).Roles) || managedRefs.has(id)),
  ]
    .flatMap(([, p]) => ((p.Properties as Json).PolicyDocument as { Statement: Statement[] }).Statement)
    .concat((roleResource.Properties.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement));
}

function actionMatches(granted: string, wanted: string): boolean {
  return new RegExp(`^${granted.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(wanted);
}

/** The `kms:ViaService` condition, when the statement has one, must name AMP in the workspace's region. */
function viaServiceOk(statement: Statement, stackName: string, synthed: Synth): boolean {
  const via = statement.Condition?.StringEquals?.['kms:ViaService'];
  return via === undefined || resolve(via, stackName, synthed) === `aps.${MONITORING.region}.${ENV.urlSuffix}`;
}

/** The actions of `wanted` that no Allow statement grants on `keyArn`. */
function missingOnKey(statements: Statement[], wanted: readonly string[], keyArn: string, stackName: string, synthed: Synth, principal?: string): string[] {
  return wanted.filter(
    (action) =>
      !statements.some((st) => {
        if (st.Effect !== 'Allow' || ![st.Action].flat().some((a) => actionMatches(a, action))) return false;
        if (!viaServiceOk(st, stackName, synthed)) return false;
        if (principal !== undefined) {
          return [st.Principal?.AWS].flat().some((p) => p !== undefined && resolve(p, stackName, synthed) === principal);
        }
        return [st.Resource].flat().some((r) => r !== undefined && actionMatches(resolve(r, stackName, synthed), keyArn));
      }),
  );
}

interface KeyUser {
  /** Who, in words. */
  readonly name: string;
  readonly stack: string;
  readonly role: RegExp;
  readonly uses: 'read' | 'write';
  /**
   * How the key policy lets the principal in: `named` as a key user (same stack as the key), or `account` (a role in
   * another stack of the key's account, deployed after the key: the key policy's account statement lets IAM decide).
   */
  readonly keyPolicy: 'named' | 'account';
}

function checkKeyUsers(synthed: Synth, users: readonly KeyUser[]): Record<string, { iam: string[]; keyPolicy: string[] }> {
  const monitoring = synthed.templates.get('Inferwatch-Monitoring') as Json;
  // The key is the one the workspace is encrypted with.
  const workspace = resourcesOf(monitoring, 'AWS::APS::Workspace')[0]?.[1] as Json;
  const keyArn = resolve((workspace.Properties as Json).KmsKeyArn, 'Inferwatch-Monitoring', synthed);
  const key = resourcesOf(monitoring, 'AWS::KMS::Key').find(([id]) => resolve({ 'Fn::GetAtt': [id, 'Arn'] }, 'Inferwatch-Monitoring', synthed) === keyArn)?.[1] as Json;
  expect(key).toBeDefined();
  const keyStatements = ((key.Properties as Json).KeyPolicy as { Statement: Statement[] }).Statement;

  const gaps: Record<string, { iam: string[]; keyPolicy: string[] }> = {};
  const root = `arn:${ENV.partition}:iam::${MONITORING.account}:root`;
  gaps['workspace creator (CloudFormation)'] = { iam: [], keyPolicy: missingOnKey(keyStatements, AMP_REQUIRES.create, keyArn, 'Inferwatch-Monitoring', synthed, root) };
  for (const user of users) {
    const template = synthed.templates.get(user.stack) as Json;
    const role = roleId(template, user.role);
    const roleArn = resolve({ 'Fn::GetAtt': [role, 'Arn'] }, user.stack, synthed);
    const wanted = AMP_REQUIRES[user.uses];
    const stack = synthed.stacks.get(user.stack) as Stack;
    const keyPolicy =
      user.keyPolicy === 'named'
        ? missingOnKey(keyStatements, wanted, keyArn, 'Inferwatch-Monitoring', synthed, roleArn)
        : stack.account === MONITORING.account
          ? missingOnKey(keyStatements, wanted, keyArn, 'Inferwatch-Monitoring', synthed, root)
          : [`${user.name} is in account ${stack.account}, the key in ${MONITORING.account}`];
    gaps[user.name] = { iam: missingOnKey(identityStatements(template, role), wanted, keyArn, user.stack, synthed), keyPolicy };
  }
  return gaps;
}

const NONE = { iam: [], keyPolicy: [] };

describe('the workspace key, for every principal that reads or writes the workspace (AMP "Encryption at rest")', () => {
  test('one account and region: Grafana, the bridge and the collector hosts can use the key, IAM and key policy both', () => {
    const synthed = synth({ monitoring: MONITORING, workloads: [{}] });
    const gaps = checkKeyUsers(synthed, [
      { name: 'Grafana workspace role', stack: 'Inferwatch-Monitoring', role: /^GrafanaRole[0-9A-F]{8}$/, uses: 'read', keyPolicy: 'named' },
      { name: 'bridge role', stack: 'Inferwatch-Workload', role: /^BridgeRole[0-9A-F]{8}$/, uses: 'write', keyPolicy: 'account' },
      { name: 'collector instance role', stack: 'Inferwatch-Workload', role: /^NeuronCollectorInstanceRole[0-9A-F]{8}$/, uses: 'write', keyPolicy: 'account' },
    ]);
    expect(gaps).toEqual({
      'workspace creator (CloudFormation)': NONE,
      'Grafana workspace role': NONE,
      'bridge role': NONE,
      'collector instance role': NONE,
    });
  });

  test('several accounts: the writer role has the key for the accounts that assume it; in-account roles reach it by the workspace id', () => {
    const synthed = synth({
      monitoring: { ...MONITORING, workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789', workspaceFingerprint: 'kms=customer-managed' },
      workloads: [{ account: MONITORING.account, region: MONITORING.region }, { account: '222222222222', region: MONITORING.region }],
    });
    const gaps = checkKeyUsers(synthed, [
      { name: 'writer role', stack: 'Inferwatch-Monitoring', role: /^RemoteWriter[0-9A-F]{8}$/, uses: 'write', keyPolicy: 'named' },
      { name: 'Grafana workspace role', stack: 'Inferwatch-Monitoring', role: /^GrafanaRole[0-9A-F]{8}$/, uses: 'read', keyPolicy: 'named' },
      { name: 'bridge role', stack: 'Inferwatch-Workload', role: /^BridgeRole[0-9A-F]{8}$/, uses: 'write', keyPolicy: 'account' },
      { name: 'collector instance role', stack: 'Inferwatch-Workload', role: /^NeuronCollectorInstanceRole[0-9A-F]{8}$/, uses: 'write', keyPolicy: 'account' },
    ]);
    expect(gaps).toEqual({
      'workspace creator (CloudFormation)': NONE,
      'writer role': NONE,
      'Grafana workspace role': NONE,
      'bridge role': NONE,
      'collector instance role': NONE,
    });
    // The other account's bridge and hosts reach the workspace only as the writer role, so that is what needs the key.
    const other = synthed.templates.get('Inferwatch-Workload-222222222222-eu-west-1') as Json;
    for (const pattern of [/^BridgeRole[0-9A-F]{8}$/, /^NeuronCollectorInstanceRole[0-9A-F]{8}$/]) {
      const statements = identityStatements(other, roleId(other, pattern));
      expect(statements.filter((st) => [st.Action].flat().includes('kms:DescribeKey'))).toEqual([]);
      expect(statements.some((st) => [st.Action].flat().includes('sts:AssumeRole') && JSON.stringify(st.Resource).includes(':role/inferwatch-remote-writer'))).toBe(true);
    }
  });

  test('with customerManagedKey: false there is no key, and no principal is granted one', () => {
    const synthed = synth({ monitoring: { ...MONITORING, customerManagedKey: false }, workloads: [{}] });
    const workspace = resourcesOf(synthed.templates.get('Inferwatch-Monitoring') as Json, 'AWS::APS::Workspace')[0]?.[1] as Json;
    expect((workspace.Properties as Json).KmsKeyArn).toBeUndefined();
    for (const template of synthed.templates.values()) expect(JSON.stringify(template)).not.toContain('WorkspaceKey');
  });
});
