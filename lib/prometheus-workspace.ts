import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as aps from 'aws-cdk-lib/aws-aps';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AlertTopic } from './alert-topic';
import { allowCloudWatchLogs } from './log-encryption';
import { stackOutput } from './stack-output';

export const DEFAULT_RULE_FILES = [join(__dirname, 'prometheus-workspace', 'inferwatch.rules.yaml')];
const ALERTMANAGER_TEMPLATE = join(__dirname, 'prometheus-workspace', 'alertmanager.yaml');

export interface PrometheusWorkspaceProps {
  /**
   * The workspace alias.
   * @default "inferwatch"
   */
  readonly alias?: string;
  /**
   * Customer-managed key for the workspace and the alert topic.
   * @default AWS-owned keys for the workspace; a key of its own for the topic (AMP can use no AWS-managed SNS key)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Retention of the workspace's log group.
   * @default one month
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Prometheus rule files (YAML) loaded into the rule groups namespace.
   * @default the project's rules: lib/prometheus-workspace/inferwatch.rules.yaml
   */
  readonly ruleFiles?: readonly string[];
  /**
   * Email addresses subscribed to the alert topic.
   * @default none
   */
  readonly alertEmails?: readonly string[];
}

/**
 * An Amazon Managed Service for Prometheus workspace with logging, the project's rules, and an alert
 * manager that routes to an encrypted SNS topic.
 */
export class PrometheusWorkspace extends Construct {
  public readonly workspace: aps.CfnWorkspace;
  public readonly logGroup: logs.LogGroup;
  public readonly ruleGroupsNamespace: aps.CfnRuleGroupsNamespace;
  public readonly alertTopic: sns.Topic;
  /** `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write` */
  public readonly remoteWriteUrl: string;
  /** `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/query` */
  public readonly queryUrl: string;
  public readonly workspaceArn: string;
  public readonly workspaceId: string;

  constructor(scope: Construct, id: string, props: PrometheusWorkspaceProps = {}) {
    super(scope, id);
    const ruleFiles = props.ruleFiles ?? DEFAULT_RULE_FILES;
    if (ruleFiles.length === 0) throw new Error('PrometheusWorkspace: ruleFiles is empty; leave it out to use the project rules');

    if (props.encryptionKey) allowCloudWatchLogs(this, props.encryptionKey);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.alertTopic = new AlertTopic(this, 'Alerts', {
      encryptionKey: props.encryptionKey,
      emails: props.alertEmails,
      publishers: [{ service: 'aps.amazonaws.com', actions: ['sns:Publish', 'sns:GetTopicAttributes'] }],
    }).topic;

    const alertmanagerConfig = readFileSync(ALERTMANAGER_TEMPLATE, 'utf8');
    this.workspace = new aps.CfnWorkspace(this, 'Workspace', {
      alias: props.alias ?? 'inferwatch',
      kmsKeyArn: props.encryptionKey?.keyArn,
      loggingConfiguration: { logGroupArn: this.logGroup.logGroupArn },
      alertManagerDefinition: Fn.sub(`alertmanager_config: |\n${indent(alertmanagerConfig, 2)}`, {
        ALERT_TOPIC_ARN: this.alertTopic.topicArn,
        REGION: Stack.of(this).region,
      }),
    });
    this.workspaceArn = this.workspace.attrArn;
    this.workspaceId = this.workspace.attrWorkspaceId;
    this.remoteWriteUrl = `${this.workspace.attrPrometheusEndpoint}api/v1/remote_write`;
    this.queryUrl = `${this.workspace.attrPrometheusEndpoint}api/v1/query`;

    this.ruleGroupsNamespace = new aps.CfnRuleGroupsNamespace(this, 'Rules', {
      workspace: this.workspace.attrArn,
      name: 'inferwatch',
      data: mergeRuleFiles(ruleFiles),
    });

    stackOutput(this, 'WorkspaceId', this.workspaceId, 'AMP workspace id (monitoring.workspaceId for workload accounts)');
    stackOutput(this, 'RemoteWriteUrl', this.remoteWriteUrl, 'Prometheus remote-write URL (SigV4, service aps)');
    stackOutput(this, 'QueryUrl', this.queryUrl, 'Prometheus query URL (SigV4, service aps)');
  }
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line.length > 0 ? pad + line : line))
    .join('\n');
}

/** One namespace holds every group: the files' `groups` lists, concatenated. Group names must be unique. */
export function mergeRuleFiles(files: readonly string[]): string {
  const blocks = files.map((file) => {
    const text = readFileSync(file, 'utf8');
    const body = text.replace(/^(\s*#.*\n)*/, '');
    if (!/^groups:\s*\n/m.test(body)) throw new Error(`rule file ${file} does not start with a top-level "groups:" list`);
    return body.replace(/^groups:\s*\n/m, '');
  });
  return `groups:\n${blocks.join('\n')}`;
}
