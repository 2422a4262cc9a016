import {
  DescribeAlertManagerDefinitionCommand,
  DescribeLoggingConfigurationCommand,
  DescribeRuleGroupsNamespaceCommand,
  DescribeWorkspaceConfigurationCommand,
  ResourceNotFoundException,
  type AmpClient,
} from '@aws-sdk/client-amp';
import { ListMetricsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ListEndpointsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DATASOURCE_UID } from '../../contract/constants';
import type { GrafanaApi } from '../../lambda/grafana-provisioner/grafana-api';
import { describeWorkspace, WorkspaceError, type ResolvedWorkspace } from '../../lambda/bridge/amp/workspace';
import type { RawQuery, RawSeries } from '../../lambda/bridge/remote-write/query';
import { PromQlRequestError, type PromQlClient } from '../../lambda/bridge/sources/promql/client';
import { loadPromQlMapping } from '../../lambda/bridge/sources/promql/mapping';

/** One line of the doctor's answer: ✓ or ✗, what was found, and for a ✗ what to do. */
export interface Check {
  readonly ok: boolean;
  readonly name: string;
  readonly detail: string;
  readonly fix?: string;
}

export interface DoctorOptions {
  readonly workspaceId: string;
  /** The workspace's region. */
  readonly workspaceRegion: string;
  /** Where CloudWatch and SageMaker are read (the workload region). */
  readonly region: string;
  /** @default "inferwatch" (what PrometheusWorkspace deploys) */
  readonly ruleGroupsNamespace?: string;
  /** A bridge whose last cycle is older, or whose lag is larger, fails. @default 1800 s, as the InferwatchBridgeLagging alert */
  readonly maxLagSeconds?: number;
  /** How far back the bridge's self-metrics are read. @default 3600 s */
  readonly lookbackSeconds?: number;
  /** Grafana's data source uid. @default "inferwatch-amp" (what the provisioner creates) */
  readonly dataSourceUid?: string;
}

export interface DoctorDeps {
  readonly amp: AmpClient;
  readonly cloudwatch: CloudWatchClient;
  readonly sagemaker: SageMakerClient;
  /** Builds the signed query function for the workspace's query URL. */
  readonly query: (queryUrl: string) => RawQuery;
  /** Present when a Grafana URL and token were given. */
  readonly grafana?: GrafanaApi;
  /** CloudWatch's PromQL API as the bridge reads it; absent with `promql.enabled: false`. */
  readonly promql?: { readonly client: PromQlClient; readonly endpoint: string };
  readonly now: () => number;
}

/** AMP's failed states carry a statusReason; the transitional ones settle by themselves. */
const FAILED = new Set(['CREATION_FAILED', 'UPDATE_FAILED']);

function errorText(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(error)}`;
}

async function workspaceCheck(options: DoctorOptions, deps: DoctorDeps): Promise<{ check: Check; workspace?: ResolvedWorkspace }> {
  const name = `workspace ${options.workspaceId}`;
  try {
    const workspace = await describeWorkspace(deps.amp, options.workspaceId, options.workspaceRegion);
    return { check: { ok: true, name, detail: `ACTIVE in ${options.workspaceRegion}${workspace.alias ? ` (alias ${workspace.alias})` : ''}` }, workspace };
  } catch (error) {
    if (error instanceof WorkspaceError) return { check: { ok: false, name, detail: error.problem, fix: error.fix } };
    return { check: { ok: false, name, detail: errorText(error), fix: 'check the workspace id, region and credentials' } };
  }
}

async function loggingCheck(options: DoctorOptions, deps: DoctorDeps): Promise<Check> {
  const name = 'workspace logging';
  const fix = 'give the workspace a log group (PrometheusWorkspace does), or: aws amp create-logging-configuration --workspace-id ID --log-group-arn ARN';
  try {
    const answer = await deps.amp.send(new DescribeLoggingConfigurationCommand({ workspaceId: options.workspaceId }));
    const config = answer.loggingConfiguration;
    const status = config?.status?.statusCode ?? 'UNKNOWN';
    if (status === 'ACTIVE') return { ok: true, name, detail: `ACTIVE, to ${config?.logGroupArn}` };
    return { ok: false, name, detail: `${status}${config?.status?.statusReason ? `: ${config.status.statusReason}` : ''}`, fix: FAILED.has(status) ? fix : 'wait until it is ACTIVE, then run doctor again' };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { ok: false, name, detail: 'not configured: rule and alert manager errors go nowhere', fix };
    return { ok: false, name, detail: errorText(error), fix: 'the credentials need aps:DescribeLoggingConfiguration on the workspace' };
  }
}

/** The rule groups namespace and the alert manager definition share AMP's status model. */
function statusCheck(name: string, status: string | undefined, reason: string | undefined, failedFix: string): Check {
  if (status === 'ACTIVE') return { ok: true, name, detail: 'ACTIVE' };
  if (status && FAILED.has(status)) return { ok: false, name, detail: `${status}: ${reason ?? 'AMP gave no reason'}`, fix: failedFix };
  return { ok: false, name, detail: status ?? 'UNKNOWN', fix: 'wait until it is ACTIVE (AMP is still applying it), then run doctor again' };
}

/** A part of the workspace with AMP's status model: what it is, how to ask for its status, and what to do when it failed or is missing. */
interface Part {
  readonly name: string;
  readonly describe: () => Promise<{ statusCode?: string; statusReason?: string } | undefined>;
  readonly failedFix: string;
  readonly missing: string;
  readonly missingFix: string;
  readonly permission: string;
}

async function partCheck(part: Part): Promise<Check> {
  try {
    const status = await part.describe();
    return statusCheck(part.name, status?.statusCode, status?.statusReason, part.failedFix);
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { ok: false, name: part.name, detail: `does not exist: ${part.missing}`, fix: part.missingFix };
    return { ok: false, name: part.name, detail: errorText(error), fix: `the credentials need ${part.permission} on the workspace` };
  }
}

function rulesCheck(options: DoctorOptions, deps: DoctorDeps): Promise<Check> {
  const namespace = options.ruleGroupsNamespace ?? 'inferwatch';
  return partCheck({
    name: `rule groups namespace ${namespace}`,
    describe: async () => (await deps.amp.send(new DescribeRuleGroupsNamespaceCommand({ workspaceId: options.workspaceId, name: namespace }))).ruleGroupsNamespace?.status,
    failedFix: 'fix the rule file AMP names (promtool check rules finds most errors), then redeploy the monitoring stack',
    missing: 'no recording rules and no alerts',
    missingFix: 'deploy the monitoring stack (PrometheusWorkspace creates it), or pass --rule-namespace with yours',
    permission: 'aps:DescribeRuleGroupsNamespace',
  });
}

function alertManagerCheck(options: DoctorOptions, deps: DoctorDeps): Promise<Check> {
  return partCheck({
    name: 'alert manager definition',
    describe: async () => (await deps.amp.send(new DescribeAlertManagerDefinitionCommand({ workspaceId: options.workspaceId }))).alertManagerDefinition?.status,
    failedFix: 'fix the definition AMP names (amtool check-config finds most errors), then redeploy the monitoring stack',
    missing: 'alerts fire but reach nobody',
    missingFix: 'deploy the monitoring stack (PrometheusWorkspace creates it)',
    permission: 'aps:DescribeAlertManagerDefinition',
  });
}

/** The series limits and retention: a failed update leaves the old limits in force, which the user should know. */
async function configurationCheck(options: DoctorOptions, deps: DoctorDeps): Promise<Check> {
  const name = 'workspace configuration';
  try {
    const config = (await deps.amp.send(new DescribeWorkspaceConfigurationCommand({ workspaceId: options.workspaceId }))).workspaceConfiguration;
    const limits = (config?.limitsPerLabelSet ?? []).map(
      (l) => `${Object.entries(l.labelSet ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}: ${l.limits?.maxSeries ?? 0}`,
    );
    const detail = `${config?.retentionPeriodInDays ? `retention ${config.retentionPeriodInDays} days` : "AMP's default retention"}, ${limits.length > 0 ? `series limits ${limits.join('; ')}` : 'no series limits'}`;
    const check = statusCheck(name, config?.status?.statusCode, config?.status?.statusReason, 'fix the limits or retention AMP names (workloads[].activeSeriesLimit, monitoring.retentionDays), then redeploy the monitoring stack');
    return check.ok ? { ...check, detail: `ACTIVE, ${detail}` } : check;
  } catch (error) {
    return { ok: false, name, detail: errorText(error), fix: 'the credentials need aps:DescribeWorkspaceConfiguration on the workspace' };
  }
}

function bridgeKey(metric: Readonly<Record<string, string>>): string {
  return `account ${metric.account_id ?? '(none)'} region ${metric.region ?? '(none)'}`;
}

/** What the newest sample added to a counter: its difference from the one before (a counter's first sample is 0). */
function lastIncrease(samples: RawSeries['samples']): number {
  const last = samples.at(-1)?.[1] ?? 0;
  const before = samples.at(-2)?.[1] ?? 0;
  return last >= before ? last - before : last;
}

function formatAge(seconds: number): string {
  return seconds < 600 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

/**
 * The bridge's last cycle per account and region, from its self-metrics in the workspace: raw samples of a range
 * selector, so each has the timestamp of the cycle that wrote it. Written and rejected are what the last cycle
 * reported (the write results of the cycle before it).
 */
async function bridgeChecks(options: DoctorOptions, deps: DoctorDeps, workspace: ResolvedWorkspace): Promise<Check[]> {
  const maxLag = options.maxLagSeconds ?? 1800;
  const range = `[${options.lookbackSeconds ?? 3600}s]`;
  const now = deps.now();
  const query = deps.query(workspace.queryUrl);
  let lag: RawSeries[];
  let written: RawSeries[];
  let rejected: RawSeries[];
  try {
    [lag, written, rejected] = await Promise.all([
      query(`inferwatch_bridge_lag_seconds${range}`, now),
      query(`inferwatch_bridge_samples_written_total${range}`, now),
      query(`inferwatch_bridge_samples_rejected_total${range}`, now),
    ]);
  } catch (error) {
    return [{ ok: false, name: 'bridge', detail: `cannot query the workspace: ${(error as Error).message}`, fix: 'run doctor with credentials that may aps:QueryMetrics on the workspace' }];
  }
  if (lag.length === 0) {
    return [
      {
        ok: false,
        name: 'bridge',
        detail: `no bridge cycle wrote to the workspace in the last ${range.slice(1, -1)}`,
        fix: "check the bridge function's log group and its Errors alarm; `inferwatch bridge --once --dry-run` shows what it would write",
      },
    ];
  }
  return lag
    .map((series) => {
      const key = bridgeKey(series.metric);
      const [at, lagSeconds] = series.samples.at(-1) ?? [0, 0];
      const age = (now - at) / 1000;
      const same = (other: RawSeries) => bridgeKey(other.metric) === key;
      const writtenCount = written.filter(same).reduce((n, s) => n + lastIncrease(s.samples), 0);
      const rejectedByReason = rejected
        .filter(same)
        .map((s) => [s.metric.reason ?? 'unknown', lastIncrease(s.samples)] as const)
        .filter(([, n]) => n > 0);
      const rejectedCount = rejectedByReason.reduce((n, [, count]) => n + count, 0);
      const detail = `last cycle ${formatAge(age)} ago, lag ${formatAge(lagSeconds)}, ${writtenCount} samples written, ${rejectedCount} rejected${
        rejectedByReason.length > 0 ? ` (${rejectedByReason.map(([reason, n]) => `${n} ${reason}`).join(', ')})` : ''
      }`;
      const name = `bridge ${key}`;
      if (age > maxLag) return { ok: false, name, detail, fix: `no cycle for over ${formatAge(maxLag)}: check the bridge schedule, its log group and its Errors alarm` };
      if (lagSeconds > maxLag) return { ok: false, name, detail, fix: `data is over ${formatAge(maxLag)} behind: the bridge is catching up, or its cycles time out (raise timeoutSeconds or shards)` };
      if (rejectedCount > 0) {
        return {
          ok: false,
          name,
          detail,
          fix: 'the workspace refused samples: see the bridge log for AMP\'s reason; "series_limit" means an account hit its active-series limit (limitsPerLabelSet: raise workloads[].activeSeriesLimit or fleet)',
        };
      }
      return { ok: true, name, detail };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function awsReadChecks(options: DoctorOptions, deps: DoctorDeps): Promise<Check[]> {
  const cloudwatch: Promise<Check> = deps.cloudwatch
    .send(new ListMetricsCommand({ Namespace: 'AWS/SageMaker', RecentlyActive: 'PT3H' }))
    .then(
      (answer) => ({ ok: true, name: `CloudWatch in ${options.region}`, detail: `readable: ${answer.Metrics?.length ?? 0} AWS/SageMaker metrics active in the last 3 h${answer.NextToken ? ' (first page)' : ''}` }),
      (error: unknown) => ({ ok: false, name: `CloudWatch in ${options.region}`, detail: errorText(error), fix: 'the credentials need cloudwatch:ListMetrics and cloudwatch:GetMetricData (the bridge role has both)' }),
    );
  const sagemaker: Promise<Check> = deps.sagemaker.send(new ListEndpointsCommand({ MaxResults: 10 })).then(
    (answer) => ({ ok: true, name: `SageMaker in ${options.region}`, detail: `readable: ${answer.Endpoints?.length ?? 0}${answer.NextToken ? '+' : ''} endpoints` }),
    (error: unknown) => ({ ok: false, name: `SageMaker in ${options.region}`, detail: errorText(error), fix: 'the credentials need sagemaker:ListEndpoints, DescribeEndpoint, DescribeEndpointConfig, ListInferenceComponents and DescribeInferenceComponent (and tag:GetResources with endpointTags)' }),
  );
  return Promise.all([cloudwatch, sagemaker]);
}

/** One GetLabels call, the bridge's own discovery call: does the API answer, and does the account have the metrics? */
async function promQlCheck(options: DoctorOptions, promql: NonNullable<DoctorDeps['promql']>, now: number): Promise<Check> {
  const name = `CloudWatch PromQL API in ${options.region}`;
  try {
    const names = new Set(await promql.client.labelValues('__name__', now - 3600_000, now));
    const mapped = loadPromQlMapping().metrics.filter((m) => names.has(m.source)).length;
    const detail = `answers at ${promql.endpoint}: ${names.size} metric names in the last hour, ${mapped} of them SageMaker detailed-observability metrics the bridge maps${mapped === 0 ? ' (the PromQL source stays inactive)' : ''}`;
    return { ok: true, name, detail };
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof PromQlRequestError && error.status === 403) {
      return { ok: false, name, detail: `refused (HTTP 403 ${error.errorType}): ${message}`, fix: 'the credentials need cloudwatch:GetMetricData and cloudwatch:ListMetrics (the bridge role has both); requests are signed for service "monitoring"' };
    }
    if (error instanceof PromQlRequestError) {
      // The host answers but offers no such API (a region without it): the source stays inactive, which is no fault.
      return { ok: true, name, detail: `not offered at ${promql.endpoint} (HTTP ${error.status} ${error.errorType}): the PromQL source stays inactive` };
    }
    const fix = 'check the network and the region, promql.endpoint or AWS_ENDPOINT_URL_CLOUDWATCH if set; or set promql.enabled: false';
    return { ok: false, name, detail: `unreachable or refused at ${promql.endpoint}: ${message}`, fix };
  }
}

async function grafanaCheck(options: DoctorOptions, grafana: GrafanaApi): Promise<Check> {
  const uid = options.dataSourceUid ?? DATASOURCE_UID;
  const name = `Grafana data source ${uid}`;
  try {
    const health = await grafana.request<{ status?: string; message?: string }>('GET', `/api/datasources/uid/${encodeURIComponent(uid)}/health`);
    if (health?.status === 'OK') return { ok: true, name, detail: health.message ?? 'OK' };
    return { ok: false, name, detail: `health check answered ${health?.status ?? 'nothing'}: ${health?.message ?? ''}`.trim(), fix: 'open the data source in Grafana and test it' };
  } catch (error) {
    const status = (error as { status?: number }).status;
    const fix =
      status === 401 || status === 403
        ? 'the token is wrong or expired: create a service-account token with the Admin role (aws grafana create-workspace-service-account-token)'
        : status === 404
          ? 'the data source does not exist: redeploy the monitoring stack (its provisioner creates it)'
          : "the data source cannot reach the workspace: check the Grafana workspace role's aps:QueryMetrics permission and the SigV4 region";
    return { ok: false, name, detail: (error as Error).message, fix };
  }
}

/** Every check, in the order a user reads them: the workspace, its parts, the bridge, the reads, Grafana. */
export async function runDoctor(options: DoctorOptions, deps: DoctorDeps): Promise<Check[]> {
  const { check, workspace } = await workspaceCheck(options, deps);
  const [logging, configuration, rules, alertManager, reads] = await Promise.all([
    loggingCheck(options, deps),
    configurationCheck(options, deps),
    rulesCheck(options, deps),
    alertManagerCheck(options, deps),
    awsReadChecks(options, deps),
  ]);
  const bridge = workspace
    ? await bridgeChecks(options, deps, workspace)
    : [{ ok: false, name: 'bridge', detail: 'not checked: the workspace is not usable', fix: 'fix the workspace first' }];
  const grafana = deps.grafana ? [await grafanaCheck(options, deps.grafana)] : [];
  const promql = deps.promql ? [await promQlCheck(options, deps.promql, deps.now())] : [];
  return [check, logging, configuration, rules, alertManager, ...bridge, ...reads, ...promql, ...grafana];
}

/** One line per check; a ✗ line carries its fix on the next line. */
export function formatChecks(checks: readonly Check[]): string {
  return checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${!c.ok && c.fix ? `\n    fix: ${c.fix}` : ''}`).join('\n');
}
