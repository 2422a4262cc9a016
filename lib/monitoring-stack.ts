import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { GrafanaWorkspace, type GrafanaWorkspaceProps } from './grafana-workspace';
import { PrometheusWorkspace, type SeriesLimit } from './prometheus-workspace';
import type { CatalogNamespace } from '../contract/catalog-schema';
import type { WorkloadAlerts } from './prometheus-workspace/alert-rules';
import type { SourceTimings } from './prometheus-workspace/series-sources';
import { stackOutput } from './stack-output';
import { workspaceFingerprint } from './config/workspace-replacement';
import { ampViaService, WORKSPACE_KEY_ACTIONS, workspaceKeyStatement } from './workspace-key-access';
import { DEFAULT_ROLE_PATH, DEFAULT_WRITER_ROLE_NAME, rolePathPattern } from './writer-role';

export interface MonitoringStackProps extends StackProps {
  /** @default "inferwatch" */
  readonly workspaceAlias?: string;
  /**
   * Encrypt the workspace, logs and alert topic with a customer-managed key (rotated yearly).
   * @default true
   */
  readonly customerManagedKey?: boolean;
  /**
   * Alias of the customer-managed key, without `alias/`. KMS aliases are unique per account and region, so a second
   * install in the same account and region needs its own (the app derives it from `stackPrefix`).
   * @default "<workspaceAlias>-monitoring"
   */
  readonly keyAlias?: string;
  /** @default none */
  readonly alertEmails?: readonly string[];
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Amazon Managed Grafana with the data source and dashboards provisioned; `false` leaves it out (AMG needs IAM Identity Center or SAML).
   * @default AWS SSO sign-in
   */
  readonly grafana?: false | Pick<GrafanaWorkspaceProps, 'authentication' | 'saml'>;
  /**
   * Workload accounts whose bridges may assume the writer role to remote-write into the workspace.
   * @default none: no writer role
   */
  readonly writerAccounts?: readonly string[];
  /**
   * Active-series limits in the workspace, one per workload account (`account_id` label set).
   * @default none
   */
  readonly seriesLimits?: readonly SeriesLimit[];
  /** @default AMP's default, 150 days */
  readonly retentionDays?: number;
  /**
   * Alert settings per workload (account and region); the others get the defaults.
   * @default none
   */
  readonly workloadAlerts?: readonly WorkloadAlerts[];
  /**
   * How often each source's series arrive and how far they trail, the slowest over the workloads: sizes each rule's
   * windows and each alert's shortest hold time by the slowest source it reads (PrometheusWorkspaceProps.seriesTimings).
   * @default the bridge's defaults: 5-minute schedule, counters every cycle, latency and utilisation every 10 minutes
   */
  readonly seriesTimings?: SourceTimings;
  /**
   * Catalog entries the workloads' bridges add (bridge config `catalog`), whose series rules may read.
   * @default none: the built-in catalog
   */
  readonly catalog?: readonly CatalogNamespace[];
  /**
   * Name of the writer role; unique per install, since IAM role names are global to the account.
   * @default "inferwatch-remote-writer"
   */
  readonly writerRoleName?: string;
  /**
   * The writer role trusts only roles under this IAM path in `writerAccounts` (the bridges' and collectors' roles).
   * @default "/inferwatch/"
   */
  readonly writerPrincipalPath?: string;
}

/** The monitoring account's half: the AMP workspace with rules and alerting, and the role other accounts write through. */
export class MonitoringStack extends Stack {
  public readonly prometheus: PrometheusWorkspace;
  public readonly encryptionKey: kms.Key | undefined;
  public readonly writerRole: iam.Role | undefined;
  public readonly grafana: GrafanaWorkspace | undefined;

  constructor(scope: Construct, id: string, props: MonitoringStackProps = {}) {
    super(scope, id, props);
    this.encryptionKey =
      props.customerManagedKey === false
        ? undefined
        : new kms.Key(this, 'Key', {
            alias: props.keyAlias ?? `${props.workspaceAlias ?? 'inferwatch'}-monitoring`,
            enableKeyRotation: true,
            description: 'inferwatch: AMP workspace, logs, alerts',
            // Kept on destroy and on replacement: the retained workspace's data is readable only with it.
            removalPolicy: RemovalPolicy.RETAIN,
          });
    this.prometheus = new PrometheusWorkspace(this, 'Prometheus', {
      alias: props.workspaceAlias,
      encryptionKey: this.encryptionKey,
      alertEmails: props.alertEmails,
      logRetention: props.logRetention,
      seriesLimits: props.seriesLimits,
      retentionDays: props.retentionDays,
      workloadAlerts: props.workloadAlerts,
      seriesTimings: props.seriesTimings,
      catalog: props.catalog,
    });
    this.grafana =
      props.grafana === false ? undefined : new GrafanaWorkspace(this, 'Grafana', { prometheus: this.prometheus, logRetention: props.logRetention, ...props.grafana });
    const accounts = props.writerAccounts ?? [];
    if (accounts.length === 0 && (props.writerRoleName !== undefined || props.writerPrincipalPath !== undefined)) {
      throw new Error('MonitoringStack: writerRoleName and writerPrincipalPath need writerAccounts');
    }
    const principalPath = props.writerPrincipalPath ?? DEFAULT_ROLE_PATH;
    if (!/^\/([\w+=,.@-]+\/)+$/.test(principalPath)) throw new Error(`MonitoringStack: writerPrincipalPath "${principalPath}" must be an IAM path below the root, such as /inferwatch/`);
    if (accounts.length > 0) {
      this.writerRole = new iam.Role(this, 'RemoteWriter', {
        roleName: props.writerRoleName ?? DEFAULT_WRITER_ROLE_NAME,
        description: 'Assumed by inferwatch bridges and collectors in workload accounts to remote-write into the AMP workspace',
        // The accounts as principals, narrowed to their inferwatch roles: naming the roles themselves would make
        // this stack fail until every workload stack had created them, and they deploy after it.
        assumedBy: new iam.CompositePrincipal(...accounts.map((account) => new iam.AccountPrincipal(account))).withConditions({
          ArnLike: { 'aws:PrincipalArn': accounts.map((account) => rolePathPattern(account, principalPath)) },
        }),
        maxSessionDuration: Duration.hours(1),
      });
      // Bridges resolve the workspace id through this role too (DescribeWorkspace), then write.
      // QueryMetrics: a bridge that lost its state asks the workspace where each series stands (see the bridge's Exactness notes).
      this.writerRole.addToPolicy(new iam.PolicyStatement({ sid: 'RemoteWrite', actions: ['aps:DescribeWorkspace', 'aps:QueryMetrics', 'aps:RemoteWrite'], resources: [this.prometheus.workspaceArn] }));
    }
    if (this.encryptionKey) this.grantWorkspaceKey(this.encryptionKey);
    stackOutput(this, 'WorkspaceFingerprint', workspaceFingerprint(this.encryptionKey !== undefined), 'What the AMP workspace was created with (monitoring.workspaceFingerprint): synth refuses a change that would replace it');
  }

  /**
   * AMP reads and writes the workspace with the key on behalf of the caller, so every principal of this stack that
   * queries or writes it needs the key, on both sides: its IAM policy, and the key policy as a key user (AMP's
   * "Encryption at rest", step 3). Workload roles in other stacks get the IAM side; the key policy's account statement
   * lets IAM decide for them, as they deploy after this stack and cannot be named in its key policy.
   */
  private grantWorkspaceKey(key: kms.Key): void {
    const principals = [this.grafana?.role, this.writerRole].filter((role): role is iam.Role => role !== undefined);
    if (principals.length === 0) return;
    for (const role of principals) role.addToPolicy(workspaceKeyStatement(key.keyArn, this.region));
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'WorkspaceKeyUsersThroughAmp',
        principals,
        actions: [...WORKSPACE_KEY_ACTIONS],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': ampViaService(this.region) } },
      }),
    );
  }
}
