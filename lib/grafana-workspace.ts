import { Aws, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { allDashboards } from './grafana-workspace/dashboards';
import type { PrometheusWorkspace } from './prometheus-workspace';
import { lambdaCode } from './lambda-code';
import { stackOutput } from './stack-output';

/**
 * AMG's Grafana version for new workspaces: the newest AMG offers that the dashboards are tested with. AMG offers 8, 9,
 * 10.4, 12.4 and 13; the dashboards are built with the foundation SDK's 0.0.x line (Grafana 12 and later, dashboard
 * schema 42), and the e2e tests run every panel query against a real Prometheus.
 */
export const GRAFANA_VERSION = '12.4';

/** The handler's own limit; CloudFormation waits at most a little longer for a handler that crashed without answering. */
const PROVISIONER_TIMEOUT = Duration.minutes(5);

export interface GrafanaSamlProps {
  /** The identity provider's metadata URL. Give this or `idpMetadataXml`. */
  readonly idpMetadataUrl?: string;
  /** The identity provider's metadata document. Give this or `idpMetadataUrl`. */
  readonly idpMetadataXml?: string;
  /** Values of the role assertion that make a user an admin. */
  readonly adminRoleValues: readonly string[];
  /** @default none */
  readonly editorRoleValues?: readonly string[];
  /** @default "role" */
  readonly roleAttribute?: string;
}

export interface GrafanaWorkspaceProps {
  /** The AMP workspace the data source reads, and the workspace role may query. */
  readonly prometheus: PrometheusWorkspace;
  /**
   * How users sign in. `AWS_SSO` needs IAM Identity Center in the account.
   * @default "AWS_SSO"
   */
  readonly authentication?: 'AWS_SSO' | 'SAML';
  /**
   * Required with `authentication: 'SAML'`.
   * @default none
   */
  readonly saml?: GrafanaSamlProps;
  /** @default "inferwatch" */
  readonly name?: string;
  /**
   * Dashboards provisioned into the workspace.
   * @default the inferwatch dashboards (SageMaker, Neuron, bridge)
   */
  readonly dashboards?: readonly Dashboard[];
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * An Amazon Managed Grafana workspace whose IAM role may query one AMP workspace, and a custom resource that
 * provisions the AMP data source (SigV4 with that role) and the dashboards on every create and update.
 */
export class GrafanaWorkspace extends Construct {
  public readonly workspace: grafana.CfnWorkspace;
  public readonly role: iam.Role;
  public readonly provisioner: nodejs.NodejsFunction;
  public readonly provisioning: CustomResource;
  /** `https://<id>.grafana-workspace.<region>.amazonaws.com` */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: GrafanaWorkspaceProps) {
    super(scope, id);
    const authentication = props.authentication ?? 'AWS_SSO';
    if (authentication === 'SAML' && !props.saml) throw new Error('GrafanaWorkspace: authentication SAML needs saml (metadata and admin role values)');
    if (authentication !== 'SAML' && props.saml) throw new Error('GrafanaWorkspace: saml is only used with authentication SAML');
    if (props.saml && (props.saml.idpMetadataUrl === undefined) === (props.saml.idpMetadataXml === undefined)) {
      throw new Error('GrafanaWorkspace: saml needs exactly one of idpMetadataUrl or idpMetadataXml');
    }
    const stack = Stack.of(this);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('grafana.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'Amazon Managed Grafana: query the inferwatch AMP workspace',
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'QueryPrometheus',
        actions: ['aps:QueryMetrics', 'aps:GetSeries', 'aps:GetLabels', 'aps:GetMetricMetadata'],
        resources: [props.prometheus.workspaceArn],
      }),
    );

    this.workspace = new grafana.CfnWorkspace(this, 'Workspace', {
      name: props.name ?? 'inferwatch',
      description: 'inferwatch: SageMaker and Inferentia inference metrics',
      accountAccessType: 'CURRENT_ACCOUNT',
      authenticationProviders: [authentication],
      // SERVICE_MANAGED makes AMG create and manage roles, which works only from the console; with CloudFormation
      // the API reference asks for CUSTOMER_MANAGED and a role of our own, which this construct creates.
      permissionType: 'CUSTOMER_MANAGED',
      roleArn: this.role.roleArn,
      grafanaVersion: GRAFANA_VERSION,
      // The provisioner installs the Amazon Managed Service for Prometheus data source plugin when the workspace lacks
      // it; AMG allows plugin installs only with plugin management on.
      pluginAdminEnabled: true,
      samlConfiguration: props.saml && {
        idpMetadata: { url: props.saml.idpMetadataUrl, xml: props.saml.idpMetadataXml },
        assertionAttributes: { role: props.saml.roleAttribute ?? 'role' },
        roleValues: { admin: [...props.saml.adminRoleValues], editor: props.saml.editorRoleValues && [...props.saml.editorRoleValues] },
      },
    });
    this.url = `https://${this.workspace.attrEndpoint}`;

    const logGroup = new logs.LogGroup(this, 'ProvisionerLogs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN });
    const provisionerRole = new iam.Role(this, 'ProvisionerRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'inferwatch: provision the AMG data source and dashboards' });
    logGroup.grantWrite(provisionerRole);
    provisionerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ShortLivedServiceAccountToken',
        actions: ['grafana:ListWorkspaceServiceAccounts', 'grafana:CreateWorkspaceServiceAccount', 'grafana:CreateWorkspaceServiceAccountToken', 'grafana:DeleteWorkspaceServiceAccountToken'],
        resources: [`arn:${Aws.PARTITION}:grafana:${Aws.REGION}:${Aws.ACCOUNT_ID}:/workspaces/${this.workspace.attrId}`],
      }),
    );
    this.provisioner = new nodejs.NodejsFunction(this, 'Provisioner', {
      description: 'inferwatch: provisions the AMP data source and dashboards into Amazon Managed Grafana',
      ...lambdaCode('grafana-provisioner'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: PROVISIONER_TIMEOUT,
      role: provisionerRole,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'inferwatch-grafana-provisioner' },
      bundling: { minify: true, sourceMap: true, target: 'node24', externalModules: [] },
    });

    const dashboards = props.dashboards ?? allDashboards();
    this.provisioning = new CustomResource(this, 'Provisioning', {
      serviceToken: this.provisioner.functionArn,
      resourceType: 'Custom::GrafanaProvisioning',
      // Without it CloudFormation waits an hour for a handler that died before answering.
      serviceTimeout: PROVISIONER_TIMEOUT.plus(Duration.minutes(1)),
      properties: {
        WorkspaceId: this.workspace.attrId,
        GrafanaUrl: this.workspace.attrEndpoint,
        PrometheusUrl: props.prometheus.workspace.attrPrometheusEndpoint,
        PrometheusRegion: stack.region,
        // One string: CloudFormation would turn the dashboards' numbers and booleans into strings.
        Dashboards: JSON.stringify(dashboards),
      },
    });

    Validations.of(provisionerRole.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only the X-Ray trace writes of active tracing, which support no resource-level permissions.',
    });
    for (const ruleId of ['Serverless-LambdaDLQ', 'Serverless-LambdaAsyncFailureDestination']) {
      Validations.of(this.provisioner).acknowledge({
        id: ruleId,
        reason: 'A CloudFormation custom resource handler: CloudFormation receives every failure (with its reason) and rolls the stack back; a queue would hold nothing to act on.',
      });
    }

    stackOutput(this, 'GrafanaUrl', this.url, 'Amazon Managed Grafana workspace URL');
  }
}
