import { z } from 'zod';
import { BRIDGE_KEYS_SET_BY_CONSTRUCT, BridgeConfigSchema, checkBridgeConfig } from '../../contract/bridge-config';
import { MAX_SCHEDULE_MINUTES } from '../../contract/constants';
import { DEFAULT_BRIDGE_MEMORY_MIB } from '../../contract/bridge-capacity';
import { ConfigError } from '../../contract/errors';
import { DEMO_HOST_INSTANCE_TYPES } from '../neuron-collector/demo-host-image';
import { alertOverrideProblems, holdTimeProblems, PROMETHEUS_DURATION, SEVERITIES } from '../prometheus-workspace/alert-rules';
import { sourceTimings, type SourceTimings } from '../prometheus-workspace/series-sources';
import type { CatalogNamespace } from '../../contract/catalog-schema';
import { DEFAULT_EXPORTER_PORT, scrapeTargetProblems, TORCHSERVE_DEFAULTS } from '../neuron-collector/render';
import { readConfigFile } from '../../contract/config-file';
import { WORKSPACE_FINGERPRINT, workspaceReplacementProblem } from './workspace-replacement';

const Account = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const Region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1');

const BridgeSettings = z
  .object({
    /** Minutes between bridge runs, at most 720 (the lag alarm's period is twice this, at most a day). Cost is per metric per run: see the README's measurements. @default 5 */
    scheduleMinutes: z.number().int().min(1).max(MAX_SCHEDULE_MINUTES, `must be at most ${MAX_SCHEDULE_MINUTES}: the lag alarm watches a period of twice the schedule, and CloudWatch alarms evaluate at most one day`).default(5),
    /** Split the fleet across this many schedules by a stable hash of the endpoint name. @default 1 */
    shards: z.number().int().min(1).max(100).default(1),
    /** Lambda memory, MiB, and so its CPU share (1,769 MB is one vCPU). @default 1024 */
    memoryMiB: z.number().int().min(128).max(10240).default(DEFAULT_BRIDGE_MEMORY_MIB),
    /** Lambda timeout, seconds; below the schedule interval. @default 240 */
    timeoutSeconds: z.number().int().min(30).max(900).default(240),
    /**
     * Concurrent executions reserved for the bridge, at least `shards`; see CloudWatchBridgeProps.reservedConcurrency
     * for why none is the default (a new account's quota of 10 refuses any reservation). @default none
     */
    reservedConcurrency: z.number().int().min(1).optional(),
    /** Passed to the bridge as is (period, settle, namespaces, neuronNamespace, catalog, namingProfile, ...). @default {} */
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const GrafanaSettings = z
  .object({
    /** Turn off where neither IAM Identity Center nor a SAML provider is available. @default true */
    enabled: z.boolean().default(true),
    /** @default "AWS_SSO" */
    authentication: z.enum(['AWS_SSO', 'SAML']).default('AWS_SSO'),
    /** Required with authentication SAML. */
    saml: z
      .object({
        idpMetadataUrl: z.string().url().optional(),
        idpMetadataXml: z.string().min(1).optional(),
        adminRoleValues: z.array(z.string().min(1)).min(1),
        editorRoleValues: z.array(z.string().min(1)).optional(),
        roleAttribute: z.string().min(1).optional(),
      })
      .strict()
      .refine((saml) => (saml.idpMetadataUrl === undefined) !== (saml.idpMetadataXml === undefined), { message: 'needs exactly one of idpMetadataUrl or idpMetadataXml' })
      .optional(),
  })
  .strict()
  .superRefine((grafana, ctx) => {
    if (grafana.authentication === 'SAML' && !grafana.saml) ctx.addIssue({ code: 'custom', path: ['saml'], message: 'is required when authentication is SAML' });
    if (grafana.authentication !== 'SAML' && grafana.saml) ctx.addIssue({ code: 'custom', path: ['saml'], message: 'is only used when authentication is SAML' });
  });

const Port = z.number().int().min(1).max(65535);
/** Shape only here: ports, paths and job names are checked together by scrapeTargetProblems. */
const MetricsPath = z.string().min(1);

const NeuronCollectorSettings = z
  .object({
    /** Enrol Inferentia hosts by tag through SSM. @default true */
    enabled: z.boolean().default(true),
    /** @default "inferwatch:neuron" */
    tagKey: z.string().min(1).max(128).default('inferwatch:neuron'),
    /** @default "true" */
    tagValue: z.string().max(256).default('true'),
    /** @default 30 */
    scrapeIntervalSeconds: z.number().int().min(5).max(300).default(30),
    /** Launch one tagged Inferentia host on a Neuron DLAMI that supports it, to try it. @default false */
    demoHost: z.boolean().default(false),
    /** The demo host's instance type (only with demoHost). @default "inf1.xlarge" */
    demoHostInstanceType: z.enum(DEMO_HOST_INSTANCE_TYPES).optional(),
    /** TorchServe's Metrics API on 127.0.0.1, scraped as job "torchserve". @default enabled, port 8082, path /metrics */
    torchServe: z
      .object({
        /** A host without TorchServe only reports up{job="torchserve"} == 0, which no alert looks at. @default true */
        enabled: z.boolean().default(true),
        /** @default 8082 */
        port: Port.default(TORCHSERVE_DEFAULTS.port),
        /** @default "/metrics" */
        path: MetricsPath.default(TORCHSERVE_DEFAULTS.path),
      })
      .strict()
      .default({ enabled: true, ...TORCHSERVE_DEFAULTS }),
    /** Other local Prometheus endpoints every enrolled host of this workload serves, e.g. Triton on 8002. @default [] */
    extraScrapeTargets: z.array(z.object({ job: z.string(), port: Port, path: MetricsPath.default('/metrics') }).strict()).default([]),
  })
  .strict()
  .superRefine((collector, ctx) => {
    const torchServe = collector.torchServe.enabled ? collector.torchServe : undefined;
    // neuron-monitor's exporter port is not a config key: the construct's default.
    for (const problem of scrapeTargetProblems(DEFAULT_EXPORTER_PORT, torchServe, collector.extraScrapeTargets)) ctx.addIssue({ code: 'custom', path: [...problem.path], message: problem.message });
    if (collector.demoHostInstanceType !== undefined && !collector.demoHost) ctx.addIssue({ code: 'custom', path: ['demoHostInstanceType'], message: 'is only used when demoHost is true' });
  });

const FleetSettings = z
  .object({
    /** Production variants the bridge reads in this account and region (endpoints × variants). @default 50 */
    variants: z.number().int().min(0).max(100_000).default(50),
    /** Inferentia hosts enrolled for the collector. @default 0 */
    neuronHosts: z.number().int().min(0).max(100_000).default(0),
  })
  .strict();

/** One alert's settings for one workload; what is left out keeps the default of lib/prometheus-workspace/inferwatch.alerts.yaml. */
const AlertOverride = z
  .object({
    /** In the alert's unit (ratio 0-1, seconds or count: see the README's alert table). @default the alert's default */
    threshold: z.number().optional(),
    /** @default the alert's default */
    severity: z.enum(SEVERITIES).optional(),
    /** How long the condition must hold, a Prometheus duration such as 10m or 1h30m. @default the alert's default */
    for: z.string().regex(PROMETHEUS_DURATION, 'must be a Prometheus duration such as 10m or 1h30m').optional(),
    /** `false`: the alert never fires for this workload. @default true */
    enabled: z.boolean().optional(),
  })
  .strict();

const Workload = z
  .object({
    /** @default the monitoring account */
    account: Account.optional(),
    /** @default the monitoring region */
    region: Region.optional(),
    /** The expected fleet: the default active-series limit is derived from it (see lib/config/series-limits.ts). @default 50 variants, no Neuron hosts */
    fleet: FleetSettings.default({ variants: 50, neuronHosts: 0 }),
    /**
     * This workload's share of its account's active-series limit in AMP; 0 enforces nothing but still publishes the
     * account's usage to CloudWatch. @default 3 × the series its fleet yields
     */
    activeSeriesLimit: z.number().int().min(0).max(100_000_000).optional(),
    bridge: BridgeSettings.default(BridgeSettings.parse({})),
    neuronCollector: NeuronCollectorSettings.default(NeuronCollectorSettings.parse({})),
    /** This workload's alert settings by alert name (thresholds, severities, hold times, on or off). @default {} */
    alerts: z
      .record(z.string(), AlertOverride)
      .default({})
      .superRefine((alerts, ctx) => {
        for (const problem of alertOverrideProblems(alerts)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      }),
  })
  .strict();

export const InferwatchConfigSchema = z
  .object({
    /** Name prefix of every stack; also names the writer role (`<prefix>-remote-writer`) and the roles' IAM path. @default "Inferwatch" */
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]*$/)
      .max(40, 'must be at most 40 characters: it names the IAM role <prefix>-remote-writer, and IAM role names end at 64')
      .default('Inferwatch'),
    /** Log retention of every log group, days. @default 30 */
    logRetentionDays: z.number().int().min(1).default(30),
    monitoring: z
      .object({
        /** @default the CLI's account (CDK_DEFAULT_ACCOUNT) */
        account: Account.optional(),
        /** @default the CLI's region (CDK_DEFAULT_REGION) */
        region: Region.optional(),
        /** AMP workspace alias. @default "inferwatch" */
        workspaceAlias: z.string().min(1).max(100).default('inferwatch'),
        /** Encrypt the workspace, its alert topic and its queues with a customer-managed KMS key. @default true */
        customerManagedKey: z.boolean().default(true),
        /** An existing workspace id, needed by workload accounts other than the monitoring account. @default none */
        workspaceId: z.string().regex(/^ws-[0-9a-f-]+$/i, 'must be an AMP workspace id such as ws-12345678-abcd-...').optional(),
        /**
         * The monitoring stack's `WorkspaceFingerprint` output after a deploy, recorded beside workspaceId: synth then refuses a
         * change that would replace the workspace (customerManagedKey is create-only). @default none: no replacement check
         */
        workspaceFingerprint: z.string().regex(WORKSPACE_FINGERPRINT, 'must be the WorkspaceFingerprint output of the monitoring stack, such as kms=customer-managed').optional(),
        /** Replace the AMP workspace on purpose when workspaceFingerprint says a change would. @default false */
        allowWorkspaceReplacement: z.boolean().default(false),
        /** Days AMP keeps samples (workspace configuration). @default AMP's default, 150 */
        retentionDays: z.number().int().min(1).max(1095).optional(),
        /** Addresses subscribed to the alert topic. @default [] */
        alertEmails: z.array(z.string().email()).default([]),
        /** Amazon Managed Grafana. @default enabled, AWS SSO (IAM Identity Center) sign-in */
        grafana: GrafanaSettings.default({ enabled: true, authentication: 'AWS_SSO' }),
      })
      .strict()
      .default({ workspaceAlias: 'inferwatch', customerManagedKey: true, allowWorkspaceReplacement: false, alertEmails: [], grafana: { enabled: true, authentication: 'AWS_SSO' } }),
    /** Where bridges run. @default one, in the monitoring account and region */
    workloads: z.array(Workload).min(1).default([{ fleet: { variants: 50, neuronHosts: 0 }, bridge: BridgeSettings.parse({}), neuronCollector: NeuronCollectorSettings.parse({}), alerts: {} }]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const replacement = workspaceReplacementProblem(config.monitoring.workspaceFingerprint, config.monitoring.customerManagedKey);
    if (replacement && !config.monitoring.allowWorkspaceReplacement) ctx.addIssue({ code: 'custom', path: ['monitoring', 'customerManagedKey'], message: replacement });
    config.workloads.forEach((workload, i) => {
      if (workload.bridge.timeoutSeconds >= workload.bridge.scheduleMinutes * 60) {
        ctx.addIssue({ code: 'custom', path: ['workloads', i, 'bridge', 'timeoutSeconds'], message: `must be below the schedule interval (${workload.bridge.scheduleMinutes * 60}s) so runs never overlap` });
      }
      const reserved = workload.bridge.reservedConcurrency;
      if (reserved !== undefined && reserved < workload.bridge.shards) {
        ctx.addIssue({ code: 'custom', path: ['workloads', i, 'bridge', 'reservedConcurrency'], message: `must be at least shards (${workload.bridge.shards}): every shard's schedule fires at once` });
      }
    });
    const seen = new Set<string>();
    config.workloads.forEach((workload, i) => {
      const key = `${workload.account ?? 'monitoring'}/${workload.region ?? 'monitoring'}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['workloads', i], message: `duplicates another workload in ${key}` });
      seen.add(key);
    });
  });

export type InferwatchConfig = z.output<typeof InferwatchConfigSchema>;
export type WorkloadConfig = InferwatchConfig['workloads'][number];

function format(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      if (issue.code === 'unrecognized_keys') return `unknown config key ${issue.keys.map((k) => `"${key ? `${key}.` : ''}${k}"`).join(', ')}`;
      return `config key "${key || '(top level)'}": ${issue.message}`;
    })
    .join('; ');
}

/** Validates the rollout configuration; every error names its key. */
export function parseInferwatchConfig(raw: unknown): InferwatchConfig {
  const parsed = InferwatchConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(format(parsed.error));
  const config = parsed.data;
  const monitoringAccount = config.monitoring.account;
  config.workloads.forEach((workload, i) => {
    const prefix = `workloads[${i}].bridge.config.`;
    for (const key of BRIDGE_KEYS_SET_BY_CONSTRUCT) {
      if (key in workload.bridge.config) throw new ConfigError(`config key "${prefix}${key}" is set by the CloudWatchBridge construct; leave it out`);
    }
    checkBridgeConfig(workload.bridge.config, prefix);
    const hold = holdTimeProblems(workload.alerts, workloadTimings(workload))[0];
    if (hold) throw new ConfigError(`config key "workloads[${i}].alerts.${hold.path.join('.')}": ${hold.message}`);
    const crossAccount = workload.account !== undefined && workload.account !== monitoringAccount;
    if (crossAccount && monitoringAccount === undefined) {
      throw new ConfigError(`config key "monitoring.account" is required when workloads[${i}] names another account (${workload.account})`);
    }
  });
  return config;
}

/**
 * How often each source of the workload's series arrives and how far it trails real time: each bridge class every
 * `readIntervals` in whole schedules (a class is read when waiting one more cycle would leave it older than its
 * interval), plus the settle delay and one period; what the bridge writes every cycle, every schedule; the
 * collector's series, every scrape. The monitoring stack sizes each rule's windows for the slowest workload.
 */
export function workloadTimings(workload: WorkloadConfig): SourceTimings {
  const bridge = BridgeConfigSchema.parse(workload.bridge.config);
  return sourceTimings({
    scheduleSeconds: workload.bridge.scheduleMinutes * 60,
    settleSeconds: bridge.settle,
    periodSeconds: bridge.period,
    readIntervals: bridge.readIntervals,
    scrapeIntervalSeconds: workload.neuronCollector.scrapeIntervalSeconds,
  });
}

/** The catalog entries the workload's bridge adds to the built-in catalog (bridge config `catalog`). */
export function workloadCatalog(workload: WorkloadConfig): CatalogNamespace[] {
  return BridgeConfigSchema.parse(workload.bridge.config).catalog;
}

/** Reads the config from a YAML/JSON file path, or takes an object (cdk.json context). */
export function loadInferwatchConfig(source: string | object | undefined): InferwatchConfig {
  return parseInferwatchConfig(typeof source === 'string' ? readConfigFile(source) : source);
}
