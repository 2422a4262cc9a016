import { Annotations, Aws, Duration, Stack, Validations, type App, type Environment } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ConfigError } from '../contract/errors';
import { workloadCatalog, workloadTimings, type InferwatchConfig } from './config/inferwatch-config';
import { slowestTimings } from './prometheus-workspace/series-sources';
import { shardSizingProblems } from './config/bridge-sizing';
import { accountSeriesLimits, type FleetSize } from './config/series-limits';
import type { LatencyMode } from '../contract/latency';
import { MonitoringStack } from './monitoring-stack';
import { WorkloadStack } from './workload-stack';
import { monitoringRegionProblem, workloadPartitionProblem } from './config/service-regions';
import { anyKeyIn } from './workspace-key-access';
import { rolePath, writerRoleArn, writerRoleName } from './writer-role';

export interface InferwatchStacks {
  readonly monitoring: MonitoringStack;
  readonly workloads: WorkloadStack[];
  /**
   * Phase 1 of a rollout to other accounts or regions: their workload stacks, empty, until `monitoring.workspaceId`
   * names the workspace the monitoring stack created. Each carries an error that fails its own synth or deploy
   * with what to set, and nothing else: `cdk deploy <prefix>-Monitoring` works meanwhile.
   */
  readonly pending: Stack[];
}

/** The workload's stack until the workspace it writes to is deployed and recorded: its synth says what to do. */
function pendingWorkloadStack(app: App, name: string, env: Environment, config: InferwatchConfig): Stack {
  const stack = new Stack(app, name, { env, description: 'inferwatch: the CloudWatch -> AMP bridge (waiting for monitoring.workspaceId)' });
  Annotations.of(stack).addError(
    `config key "monitoring.workspaceId" is not set, and this workload (${env.account}/${env.region}) is outside the monitoring account and region: ` +
      `phase 1, deploy ${config.stackPrefix}-Monitoring alone (npx cdk deploy ${config.stackPrefix}-Monitoring); phase 2, set monitoring.workspaceId (and monitoring.workspaceFingerprint) from its WorkspaceId (and WorkspaceFingerprint) outputs, then deploy this stack`,
  );
  return stack;
}

function retention(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0);
  const match = allowed.sort((a, b) => a - b).find((v) => v >= days);
  if (match === undefined) throw new ConfigError(`config key "logRetentionDays": ${days} is longer than CloudWatch Logs allows`);
  return match as logs.RetentionDays;
}

/** The fleet a workload declares, with its bridge's latency mode: histogram buckets change the series per variant. */
function declaredFleet(workload: InferwatchConfig['workloads'][number]): FleetSize {
  // The bridge config was checked valid with the rest of the rollout config, so `latency` is a mode when present.
  return { ...workload.fleet, latency: (workload.bridge.config as { latency?: LatencyMode }).latency };
}

/** A workload in the monitoring account and region without a recorded workspace id references the stack's own resources. */
function sameEnvDirect(sameEnv: boolean, workspaceId: string | undefined): boolean {
  return sameEnv && workspaceId === undefined;
}

type WorkspaceTarget = { workspaceId: string; workspaceRegion?: string; workspaceArn?: string; writerRoleArn?: string };

/**
 * Where a workload's bridge writes: the workspace by id (it asks AMP for the endpoint, DescribeWorkspace, when it
 * starts), by ARN in its own account, through the writer role from another; and the workspace key it needs, if any.
 */
function workspaceTarget(
  config: InferwatchConfig,
  monitoring: MonitoringStack,
  monitoringEnv: Environment,
  env: Environment,
  writerRole: string,
): { target: WorkspaceTarget; workspaceKeyArn: string | undefined } {
  const workspaceId = config.monitoring.workspaceId;
  const sameAccount = env.account === monitoringEnv.account;
  const sameEnv = sameAccount && env.region === monitoringEnv.region;
  let target: WorkspaceTarget;
  // Cross-account workloads write through the writer role, which has the key; in-account ones need it themselves.
  let workspaceKeyArn: string | undefined;
  if (sameEnv && workspaceId === undefined) {
    target = { workspaceId: monitoring.prometheus.workspaceId, workspaceArn: monitoring.prometheus.workspaceArn };
    workspaceKeyArn = monitoring.encryptionKey?.keyArn;
  } else {
    if (workspaceId === undefined || monitoringEnv.region === undefined || monitoringEnv.account === undefined) {
      throw new ConfigError(`config keys "monitoring.account" and "monitoring.region" are required with monitoring.workspaceId for a workload outside the monitoring account and region (${env.account}/${env.region})`);
    }
    // Partition from the stack, so the same config deploys in aws-us-gov (the collector's URL takes the
    // stack's domain the same way, in ampRemoteWriteUrl).
    target = sameAccount
      ? { workspaceId, workspaceRegion: monitoringEnv.region, workspaceArn: `arn:${Aws.PARTITION}:aps:${monitoringEnv.region}:${monitoringEnv.account}:workspace/${workspaceId}` }
      : { workspaceId, workspaceRegion: monitoringEnv.region, writerRoleArn: writerRoleArn(monitoringEnv.account, writerRole) };
    if (sameAccount && config.monitoring.customerManagedKey) workspaceKeyArn = anyKeyIn(monitoringEnv.account, monitoringEnv.region);
  }
  return { target, workspaceKeyArn };
}

/**
 * One monitoring stack (AMP, alerts, the writer role) and one workload stack per account and region (the
 * bridge). A workload in the monitoring account and region references the workspace directly; any other
 * writes to `monitoring.workspaceId`, through the writer role when the account differs.
 */
export function buildInferwatch(app: App, config: InferwatchConfig, defaults: Environment = {}): InferwatchStacks {
  const monitoringEnv: Environment = { account: config.monitoring.account ?? defaults.account, region: config.monitoring.region ?? defaults.region };
  const logRetention = retention(config.logRetentionDays);
  const writerRole = writerRoleName(config.stackPrefix);
  const workloadRolePath = rolePath(config.stackPrefix);
  // Refused here, not in CloudFormation: a region that lacks a service fails the deploy halfway, after other stacks.
  const regionProblem = monitoringEnv.region === undefined ? undefined : monitoringRegionProblem(monitoringEnv.region, config.monitoring.grafana.enabled);
  if (regionProblem) throw new ConfigError(regionProblem);
  config.workloads.forEach((workload, index) => {
    const problem = workload.region && monitoringEnv.region ? workloadPartitionProblem(`workloads[${index}].region`, workload.region, monitoringEnv.region) : undefined;
    if (problem) throw new ConfigError(problem);
  });
  const crossAccount = [...new Set(config.workloads.map((w) => w.account).filter((a): a is string => a !== undefined && a !== monitoringEnv.account))];

  // Every series carries account_id; a workload without an account is in the monitoring account (the deploying one when that is unset too).
  const limits = accountSeriesLimits(
    config.workloads.map((w) => ({
      account: w.account ?? monitoringEnv.account ?? Aws.ACCOUNT_ID,
      fleet: declaredFleet(w),
      activeSeriesLimit: w.activeSeriesLimit,
    })),
  );

  const monitoring = new MonitoringStack(app, `${config.stackPrefix}-Monitoring`, {
    env: monitoringEnv,
    description: 'inferwatch: AMP workspace, rules and alerting',
    workspaceAlias: config.monitoring.workspaceAlias,
    // Per install, like the writer role: a second install in the account and region must not collide on the alias.
    keyAlias: `${config.stackPrefix.toLowerCase()}-monitoring`,
    customerManagedKey: config.monitoring.customerManagedKey,
    alertEmails: config.monitoring.alertEmails,
    logRetention,
    writerAccounts: crossAccount,
    ...(crossAccount.length > 0 && { writerRoleName: writerRole, writerPrincipalPath: workloadRolePath }),
    seriesLimits: [...limits].map(([account, maxSeries]) => ({ labels: { account_id: account }, maxSeries })),
    retentionDays: config.monitoring.retentionDays,
    workloadAlerts: config.workloads
      .filter((w) => Object.keys(w.alerts).length > 0)
      .map((w) => ({ account: w.account ?? monitoringEnv.account ?? Aws.ACCOUNT_ID, region: w.region ?? monitoringEnv.region ?? Aws.REGION, alerts: w.alerts, timings: workloadTimings(w) })),
    seriesTimings: slowestTimings(config.workloads.map(workloadTimings)),
    catalog: config.workloads.flatMap(workloadCatalog),
    grafana: config.monitoring.grafana.enabled && { authentication: config.monitoring.grafana.authentication, saml: config.monitoring.grafana.saml },
  });

  const pending: Stack[] = [];
  const workloads = config.workloads.flatMap((workload, index) => {
    const env: Environment = { account: workload.account ?? monitoringEnv.account, region: workload.region ?? monitoringEnv.region };
    const sameAccount = env.account === monitoringEnv.account;
    const sameEnv = sameAccount && env.region === monitoringEnv.region;
    const workspaceId = config.monitoring.workspaceId;
    const name = sameEnv ? `${config.stackPrefix}-Workload` : `${config.stackPrefix}-Workload-${env.account}-${env.region}`;
    if (!sameEnv && workspaceId === undefined) {
      pending.push(pendingWorkloadStack(app, name, env, config));
      return [];
    }
    const { target, workspaceKeyArn } = workspaceTarget(config, monitoring, monitoringEnv, env, writerRole);
    const stack = new WorkloadStack(app, name, {
      env,
      description: 'inferwatch: the CloudWatch -> AMP bridge',
      alertEmails: config.monitoring.alertEmails,
      logRetention,
      workspaceKeyArn,
      bridge: {
        ...target,
        scheduleMinutes: workload.bridge.scheduleMinutes,
        shards: workload.bridge.shards,
        memoryMiB: workload.bridge.memoryMiB,
        timeout: Duration.seconds(workload.bridge.timeoutSeconds),
        reservedConcurrency: workload.bridge.reservedConcurrency,
        bridgeConfig: workload.bridge.config,
        rolePath: workloadRolePath,
      },
      neuronCollector: workload.neuronCollector.enabled && {
        workspaceRegion: monitoringEnv.region,
        tag: { key: workload.neuronCollector.tagKey, value: workload.neuronCollector.tagValue },
        scrapeInterval: Duration.seconds(workload.neuronCollector.scrapeIntervalSeconds),
        demoHost: workload.neuronCollector.demoHost,
        demoHostInstanceType: workload.neuronCollector.demoHostInstanceType,
        torchServe: workload.neuronCollector.torchServe.enabled && { port: workload.neuronCollector.torchServe.port, path: workload.neuronCollector.torchServe.path },
        extraScrapeTargets: workload.neuronCollector.extraScrapeTargets,
        rolePath: workloadRolePath,
      },
    });
    if (sameEnv && workspaceId === undefined) stack.addStackDependency(monitoring);
    if (workspaceKeyArn !== undefined && monitoringEnv.account !== undefined && monitoringEnv.region !== undefined && !sameEnvDirect(sameEnv, workspaceId)) {
      const reason =
        'The workspace is known here only by id, so its key ARN is not: any key of the monitoring account and region, usable only through AMP there (kms:ViaService), which decrypts only with the workspace key.';
      const id = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${monitoringEnv.region}:${monitoringEnv.account}:key/*]`;
      Validations.of(stack.bridge.role.node.findChild('DefaultPolicy')).acknowledge({ id, reason });
      if (stack.neuronCollector) Validations.of(stack.neuronCollector.instancePolicy).acknowledge({ id, reason });
    }
    const bridge = workload.bridge;
    const { maxSamplesPerCycle: configuredBudget, getMetricDataTps: configuredTps } = bridge.config as { maxSamplesPerCycle?: unknown; getMetricDataTps?: unknown };
    const sizing = shardSizingProblems(
      {
        fleet: declaredFleet(workload),
        shards: bridge.shards,
        memoryMiB: bridge.memoryMiB,
        timeoutSeconds: bridge.timeoutSeconds,
        scheduleMinutes: bridge.scheduleMinutes,
        ...(typeof configuredBudget === 'number' ? { maxSamplesPerCycle: configuredBudget } : {}),
        ...(typeof configuredTps === 'number' ? { getMetricDataTps: configuredTps } : {}),
      },
      `workloads[${index}]`,
    );
    for (const warning of sizing.warnings) Annotations.of(stack).addWarningV2('inferwatch:bridge-shard-size', warning);
    for (const error of sizing.errors) Annotations.of(stack).addError(error);
    return [stack];
  });

  if (config.monitoring.workspaceId !== undefined && config.monitoring.workspaceFingerprint === undefined) {
    Annotations.of(monitoring).addWarningV2(
      'inferwatch:workspace-fingerprint',
      'monitoring.workspaceId is set but monitoring.workspaceFingerprint is not: synth cannot tell whether this deploy replaces the AMP workspace. Record the WorkspaceFingerprint output in it.',
    );
  }
  return { monitoring, workloads, pending };
}
