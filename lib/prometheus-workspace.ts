import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as aps from 'aws-cdk-lib/aws-aps';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { AlertTopic } from './alert-topic';
import { allowCloudWatchLogs } from './log-encryption';
import type { CatalogNamespace } from '../contract/catalog-schema';
import { ConfigError } from '../contract/errors';
import { alertOverrideProblems, renderAlertGroups, type RuleGroup, type WorkloadAlerts } from './prometheus-workspace/alert-rules';
import { fillRuleWindows, PROJECT_RULES_FILE, readRuleFile, RuleTimings, rulesOf, type BridgeWindows } from './prometheus-workspace/rule-timings';
import { DEFAULT_SOURCE_TIMINGS, SERIES_SOURCES, SeriesIndex, type SourceTimings } from './prometheus-workspace/series-sources';
import { stackOutput } from './stack-output';

export const DEFAULT_RULE_FILES = [PROJECT_RULES_FILE];
const ALERTMANAGER_TEMPLATE = join(__dirname, 'prometheus-workspace', 'alertmanager.yaml');

/** AMP: "The combined length of a rule group namespace and a rule group name cannot exceed 721 UTF-8 bytes." */
const MAX_NAMESPACE_AND_GROUP_BYTES = 721;
const RULE_NAMESPACE = 'inferwatch';
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** An active-series limit on the series that carry every label of `labels` (AMP `limitsPerLabelSet`). */
export interface SeriesLimit {
  /** e.g. `{ account_id: '222222222222' }` */
  readonly labels: Readonly<Record<string, string>>;
  /** 0 enforces nothing, but AMP still publishes the label set's usage to CloudWatch. */
  readonly maxSeries: number;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** AMP's retention range: one day to three years. */
const MAX_RETENTION_DAYS = 1095;

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
   * Prometheus rule files (YAML) loaded into the rule groups namespace beside the alerts. The alerts use the project's
   * recording rules: to add rules of your own, pass `[...DEFAULT_RULE_FILES, yours]`.
   * @default the project's recording rules: lib/prometheus-workspace/inferwatch.rules.yaml
   */
  readonly ruleFiles?: readonly string[];
  /**
   * Alert thresholds, severities and hold times per workload (account and region); every other workload gets the
   * defaults of lib/prometheus-workspace/inferwatch.alerts.yaml.
   * @default none: the defaults everywhere
   */
  readonly workloadAlerts?: readonly WorkloadAlerts[];
  /**
   * How often each source's series arrive and how far they trail real time, the slowest over the rollout's workloads
   * (slowestTimings of sourceTimings). Each rule's `${window}` and `${offset}` follow the slowest source it reads
   * (bridgeWindows of its lag), and each alert's `for` is at least that source's interval.
   * @default a 5-minute schedule, 120 s settle, 60 s period, the bridge's default readIntervals: counters and what is
   * written every cycle trail by 480 s (15-minute windows, rates read 10 minutes back), latency and utilisation,
   * read every 10 minutes, by 780 s (20-minute windows, 15 minutes back)
   */
  readonly seriesTimings?: SourceTimings;
  /**
   * Catalog entries the workloads' bridges add (bridge config `catalog`): the rules may read their series too.
   * @default none: the built-in catalog
   */
  readonly catalog?: readonly CatalogNamespace[];
  /**
   * Email addresses subscribed to the alert topic.
   * @default none
   */
  readonly alertEmails?: readonly string[];
  /**
   * Active-series limits per label set, set in the workspace configuration: series beyond a set's limit are refused,
   * the others are untouched.
   * @default none
   */
  readonly seriesLimits?: readonly SeriesLimit[];
  /**
   * Days AMP keeps samples.
   * @default AMP's default, 150 days
   */
  readonly retentionDays?: number;
}

function validateLimits(limits: readonly SeriesLimit[], retentionDays: number | undefined): void {
  const seen = new Set<string>();
  for (const [i, limit] of limits.entries()) {
    const entries = Object.entries(limit.labels).sort(([a], [b]) => a.localeCompare(b));
    if (entries.length === 0) throw new Error(`PrometheusWorkspace: seriesLimits[${i}].labels is empty; a limit needs at least one label`);
    for (const [name, value] of entries) {
      if (!LABEL_NAME.test(name)) throw new Error(`PrometheusWorkspace: seriesLimits[${i}].labels: "${name}" is not a Prometheus label name`);
      if (!Token.isUnresolved(value) && value.trim() === '') throw new Error(`PrometheusWorkspace: seriesLimits[${i}].labels.${name} is empty; AMP needs a value with a non-blank character`);
    }
    if (!Token.isUnresolved(limit.maxSeries) && (!Number.isInteger(limit.maxSeries) || limit.maxSeries < 0)) {
      throw new Error(`PrometheusWorkspace: seriesLimits[${i}].maxSeries must be a whole number from 0 (got ${limit.maxSeries})`);
    }
    const key = JSON.stringify(entries);
    if (seen.has(key)) throw new Error(`PrometheusWorkspace: seriesLimits[${i}] repeats the label set ${key}; give each label set one limit`);
    seen.add(key);
  }
  if (retentionDays !== undefined && (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > MAX_RETENTION_DAYS)) {
    throw new Error(`PrometheusWorkspace: retentionDays must be a whole number from 1 to ${MAX_RETENTION_DAYS} (got ${retentionDays})`);
  }
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

    const workloadAlerts = props.workloadAlerts ?? [];
    const timings = props.seriesTimings ?? DEFAULT_SOURCE_TIMINGS;
    validateTimings(timings);
    validateWorkloadAlerts(workloadAlerts);
    const seriesLimits = props.seriesLimits ?? [];
    validateLimits(seriesLimits, props.retentionDays);
    const alertmanagerConfig = readFileSync(ALERTMANAGER_TEMPLATE, 'utf8');
    this.workspace = new aps.CfnWorkspace(this, 'Workspace', {
      alias: props.alias ?? 'inferwatch',
      kmsKeyArn: props.encryptionKey?.keyArn,
      loggingConfiguration: { logGroupArn: this.logGroup.logGroupArn },
      alertManagerDefinition: Fn.sub(`alertmanager_config: |\n${indent(alertmanagerConfig, 2)}`, {
        ALERT_TOPIC_ARN: this.alertTopic.topicArn,
        REGION: Stack.of(this).region,
      }),
      // CloudFormation sets the workspace configuration itself (AWS::APS::Workspace WorkspaceConfiguration): no custom resource.
      workspaceConfiguration:
        seriesLimits.length > 0 || props.retentionDays !== undefined
          ? {
              limitsPerLabelSets:
                seriesLimits.length > 0
                  ? seriesLimits.map((limit) => ({ labelSet: Object.entries(limit.labels).map(([name, value]) => ({ name, value })), limits: { maxSeries: limit.maxSeries } }))
                  : undefined,
              retentionPeriodInDays: props.retentionDays,
            }
          : undefined,
    });
    // Kept on destroy and on replacement (UpdateReplacePolicy): deleting a workspace deletes its metrics.
    this.workspace.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.workspaceArn = this.workspace.attrArn;
    this.workspaceId = this.workspace.attrWorkspaceId;
    this.remoteWriteUrl = `${this.workspace.attrPrometheusEndpoint}api/v1/remote_write`;
    this.queryUrl = `${this.workspace.attrPrometheusEndpoint}api/v1/query`;

    this.ruleGroupsNamespace = new aps.CfnRuleGroupsNamespace(this, 'Rules', {
      workspace: this.workspace.attrArn,
      name: RULE_NAMESPACE,
      data: checkRecordedInputs(buildRuleNamespace(ruleFiles, workloadAlerts, timings, new SeriesIndex(props.catalog ?? []))),
    });

    stackOutput(this, 'WorkspaceId', this.workspaceId, 'AMP workspace id (monitoring.workspaceId for workload accounts)');
    stackOutput(this, 'RemoteWriteUrl', this.remoteWriteUrl, 'Prometheus remote-write URL (SigV4, service aps)');
    stackOutput(this, 'QueryUrl', this.queryUrl, 'Prometheus query URL (SigV4, service aps)');
  }
}

/**
 * AMP's remote-write URL for a workspace id, for clients that cannot call DescribeWorkspace (the ADOT collector).
 * The domain is the using stack's (amazonaws.com, amazonaws.com.cn in aws-cn): a workload and its workspace share a partition.
 */
export function ampRemoteWriteUrl(region: string, workspaceId: string): string {
  return `https://aps-workspaces.${region}.${Aws.URL_SUFFIX}/workspaces/${workspaceId}/api/v1/remote_write`;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line.length > 0 ? pad + line : line))
    .join('\n');
}

function validateTimings(timings: SourceTimings): void {
  for (const source of SERIES_SOURCES) {
    for (const key of ['everySeconds', 'lagSeconds'] as const) {
      const value = timings[source]?.[key];
      if (value === undefined || !Number.isFinite(value) || value <= 0) throw new ConfigError(`PrometheusWorkspace: seriesTimings.${source}.${key} must be a positive number of seconds (got ${value})`);
    }
  }
}

function validateWorkloadAlerts(workloads: readonly WorkloadAlerts[]): void {
  const seen = new Set<string>();
  for (const [i, workload] of workloads.entries()) {
    const key = `workloadAlerts[${i}]`;
    if (!Token.isUnresolved(workload.account) && !ACCOUNT.test(workload.account)) throw new Error(`PrometheusWorkspace: ${key}.account "${workload.account}" is not a 12-digit AWS account id`);
    if (!Token.isUnresolved(workload.region) && !REGION.test(workload.region)) throw new Error(`PrometheusWorkspace: ${key}.region "${workload.region}" is not an AWS region such as us-east-1`);
    const id = `${workload.account}/${workload.region}`;
    if (seen.has(id)) throw new Error(`PrometheusWorkspace: ${key} repeats the workload ${id}; give each account and region one set of alert settings`);
    seen.add(id);
    const problem = alertOverrideProblems(workload.alerts)[0];
    if (problem) throw new Error(`PrometheusWorkspace: ${key}.alerts.${problem.path.join('.')} ${problem.message}`);
  }
}

/** A recording rule's name: level:metric:operation. */
const RECORDED_NAME = /\b[a-z_]+:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+\b/g;

/** Every recording rule an expression of the namespace reads is recorded in it: else the alerts that read it never fire. */
function checkRecordedInputs(data: string): string {
  const rules = (parseYaml(data) as { groups: Array<{ rules: Array<{ record?: string; alert?: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
  const recorded = new Set(rules.map((r) => r.record).filter((r): r is string => r !== undefined));
  for (const rule of rules) {
    for (const name of String(rule.expr).match(RECORDED_NAME) ?? []) {
      // The override markers exist only with overrides, and then are rendered beside the alerts.
      if (!recorded.has(name) && name !== 'inferwatch:alert_override:info') {
        throw new Error(`PrometheusWorkspace: ${rule.alert ?? rule.record} reads the recording rule ${name}, which no rule file records; pass ruleFiles: [...DEFAULT_RULE_FILES, yours]`);
      }
    }
  }
  return data;
}

/**
 * One namespace holds every group: the files' `groups` lists, then `extraGroups` (the rendered alerts). Group names
 * must be unique, and each within AMP's length limit. `${window}` and `${offset}` in the files become `windows`: the
 * same for every rule, or each rule's own from what it reads (RuleTimings).
 */
export function mergeRuleFiles(files: readonly string[], extraGroups: readonly RuleGroup[] = [], windows?: BridgeWindows | RuleTimings): string {
  const fileGroups = files.map((file) => ({ file, groups: readRuleFile(file) }));
  const fill = windows ?? new RuleTimings(fileGroups.flatMap((f) => rulesOf(f.groups)), DEFAULT_SOURCE_TIMINGS, new SeriesIndex());
  const groups: unknown[] = [];
  const names = new Set<string>();
  const add = (group: unknown, source: string) => {
    const name = (group as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name === '') throw new Error(`${source}: a rule group without a name`);
    if (names.has(name)) throw new Error(`${source}: rule group "${name}" is defined twice; group names must be unique in the namespace`);
    if (Buffer.byteLength(RULE_NAMESPACE + name) > MAX_NAMESPACE_AND_GROUP_BYTES) {
      throw new Error(`${source}: rule group "${name.slice(0, 40)}…" is too long: AMP allows ${MAX_NAMESPACE_AND_GROUP_BYTES} bytes for namespace and group name together`);
    }
    names.add(name);
    groups.push(group);
  };
  for (const { file, groups: list } of fileGroups) {
    for (const group of list) add(fillGroup(group, fill), `rule file ${file}`);
  }
  for (const group of extraGroups) add(group, 'the rendered alerts');
  // No folding: a PromQL line or a deploy-time token must not be cut.
  return stringifyYaml({ groups }, { lineWidth: 0 });
}

function fillGroup(group: unknown, windows: BridgeWindows | RuleTimings): unknown {
  const rules = (group as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return group;
  return { ...(group as object), rules: rules.map((rule) => fillRuleWindows(rule as Record<string, unknown>, windows)) };
}

/** The namespace: the rule files and the rendered alerts, each rule with the windows of the slowest source it reads. */
function buildRuleNamespace(files: readonly string[], workloads: readonly WorkloadAlerts[], timings: SourceTimings, index: SeriesIndex): string {
  const rules = files.flatMap((file) => rulesOf(readRuleFile(file)));
  const ruleTimings = new RuleTimings(rules, timings, index);
  return mergeRuleFiles(files, renderAlertGroups(workloads, ruleTimings), ruleTimings);
}
