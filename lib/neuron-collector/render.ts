import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseDocument, Scalar, visit, type YAMLMap, type YAMLSeq } from 'yaml';

export const COLLECTOR_CONFIG_TEMPLATE = join(__dirname, 'collector-config.yaml');
export const EXPORTER_UNIT_TEMPLATE = join(__dirname, 'neuron-monitor.service');
/** Replaced on the host by its EC2 instance id, read from IMDSv2 when the SSM step writes the config. */
export const INSTANCE_ID_PLACEHOLDER = '__INSTANCE_ID__';

/** What the SSM step does on the host (the tests do the same). */
export function forHost(config: string, instanceId: string): string {
  return config.split(INSTANCE_ID_PLACEHOLDER).join(instanceId);
}

/** A local Prometheus endpoint the collector scrapes besides neuron-monitor. */
export interface ScrapeTarget {
  /** The `job` label of its series. */
  readonly job: string;
  /** Port on 127.0.0.1. */
  readonly port: number;
  /** HTTP path of the metrics. @default "/metrics" */
  readonly path?: string;
}

/** neuron-monitor-prometheus.py's port on 127.0.0.1. */
export const DEFAULT_EXPORTER_PORT = 8008;
/** Where TorchServe serves its Metrics API by default (metrics_address). */
export const TORCHSERVE_DEFAULTS = { port: 8082, path: '/metrics' } as const;

/** Job names the collector config uses itself. */
export const RESERVED_JOBS = ['neuron-monitor', 'torchserve', 'adot-collector'];
/** The collector's own metrics endpoint (service.telemetry.metrics.readers[0].pull). */
export const COLLECTOR_TELEMETRY_PORT = 8888;

/** What the collector listens on itself: a scrape target there would scrape the collector, not a server. */
const COLLECTOR_PORTS: Record<number, string> = { [COLLECTOR_TELEMETRY_PORT]: "the collector's own metrics", 13133: "the collector's health check" };
const JOB_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
/** A URL path without query, fragment or quotes (it is written into single-quoted YAML). */
const METRICS_PATH = /^\/[A-Za-z0-9._~!$&()*+,;=:@%/-]*$/;

export interface ScrapeTargetProblem {
  /** The offending key, relative to the collector settings, e.g. ['extraScrapeTargets', 1, 'port']. */
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/**
 * Every local target the collector would scrape must be a distinct job on a distinct port. Shared by the
 * construct (which throws) and the rollout config (which names the config key).
 */
export function scrapeTargetProblems(exporterPort: number, torchServe: { port: number; path: string } | undefined, extra: readonly ScrapeTarget[]): ScrapeTargetProblem[] {
  const problems: ScrapeTargetProblem[] = [];
  const ports = new Map<number, string>(Object.entries(COLLECTOR_PORTS).map(([port, owner]) => [Number(port), owner]));
  const claim = (port: number, owner: string, path: ReadonlyArray<string | number>) => {
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push({ path, message: `${port} is not a TCP port` });
    else if (ports.has(port)) problems.push({ path, message: `port ${port} is already ${ports.get(port)}` });
    else ports.set(port, owner);
  };
  const checkPath = (metricsPath: string, path: ReadonlyArray<string | number>) => {
    if (!METRICS_PATH.test(metricsPath)) problems.push({ path, message: `"${metricsPath}" is not a URL path such as /metrics (no query, no quotes)` });
  };
  claim(exporterPort, "neuron-monitor's exporter port", ['exporterPort']);
  if (torchServe) {
    claim(torchServe.port, "TorchServe's metrics port", ['torchServe', 'port']);
    checkPath(torchServe.path, ['torchServe', 'path']);
  }
  const jobs = new Set(RESERVED_JOBS);
  extra.forEach((target, i) => {
    if (!JOB_NAME.test(target.job)) problems.push({ path: ['extraScrapeTargets', i, 'job'], message: `"${target.job}" is not a job name (letters, digits, _ and -)` });
    else if (jobs.has(target.job)) problems.push({ path: ['extraScrapeTargets', i, 'job'], message: `job "${target.job}" is already scraped: choose another name` });
    jobs.add(target.job);
    claim(target.port, `the port of scrape target "${target.job}"`, ['extraScrapeTargets', i, 'port']);
    checkPath(target.path ?? '/metrics', ['extraScrapeTargets', i, 'path']);
  });
  return problems;
}

export interface CollectorConfigValues {
  /** Seconds between scrapes. */
  readonly scrapeIntervalSeconds: number;
  readonly exporterPort: number;
  /** TorchServe's Metrics API on 127.0.0.1, or `undefined` to leave its job out. */
  readonly torchServe?: { readonly port: number; readonly path: string };
  /** Other local servers to scrape, each as its own job. @default none */
  readonly extraScrapeTargets?: readonly ScrapeTarget[];
  /** May be a CDK token. */
  readonly accountId: string;
  /** The host's region (may be a token). */
  readonly region: string;
  readonly remoteWriteUrl: string;
  readonly workspaceRegion: string;
  /** A writer role in the monitoring account, assumed for every write (cross-account). */
  readonly assumeRoleArn?: string;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder ${placeholder} has no value`);
    return value;
  });
}

/** The collector's config.yaml. Values may be CDK tokens: CloudFormation fills them at deploy. */
export function renderCollectorConfig(values: CollectorConfigValues): string {
  const assumeRole = values.assumeRoleArn ? `    assume_role:\n      arn: ${values.assumeRoleArn}\n      sts_region: ${values.workspaceRegion}\n` : '';
  const filled = fill(readFileSync(COLLECTOR_CONFIG_TEMPLATE, 'utf8'), {
    SCRAPE_INTERVAL: `${values.scrapeIntervalSeconds}s`,
    // Prometheus refuses a timeout longer than the interval.
    SCRAPE_TIMEOUT: `${Math.min(10, values.scrapeIntervalSeconds)}s`,
    EXPORTER_PORT: String(values.exporterPort),
    TORCHSERVE_PORT: String((values.torchServe ?? TORCHSERVE_DEFAULTS).port),
    TORCHSERVE_PATH: (values.torchServe ?? TORCHSERVE_DEFAULTS).path,
    ACCOUNT_ID: values.accountId,
    REGION: values.region,
    REMOTE_WRITE_URL: values.remoteWriteUrl,
    WORKSPACE_REGION: values.workspaceRegion,
    ASSUME_ROLE_BLOCK: assumeRole,
  });
  const extra = values.extraScrapeTargets ?? [];
  if (values.torchServe && extra.length === 0) return filled;
  // The template holds every job as reviewed YAML; only the optional ones are removed or added here.
  const doc = parseDocument(filled);
  const jobs = doc.getIn(['receivers', 'prometheus', 'config', 'scrape_configs']) as YAMLSeq<YAMLMap>;
  if (!values.torchServe) jobs.items = jobs.items.filter((job) => job.get('job_name') !== 'torchserve');
  const at = jobs.items.findIndex((job) => job.get('job_name') === 'adot-collector');
  const added = extra.map((target) =>
    doc.createNode({
      job_name: target.job,
      metrics_path: target.path ?? '/metrics',
      static_configs: [{ targets: [`127.0.0.1:${target.port}`], labels: { account_id: values.accountId, region: values.region, instance: INSTANCE_ID_PLACEHOLDER, instance_id: INSTANCE_ID_PLACEHOLDER } }],
    }),
  );
  // Quoted like the template's: an account id such as 012345678901 must not turn into a number once CloudFormation fills it.
  for (const node of added) visit(node, { Scalar: (key, scalar) => void (key !== 'key' && typeof scalar.value === 'string' && (scalar.type = Scalar.QUOTE_SINGLE)) });
  jobs.items.splice(at, 0, ...(added as YAMLMap[]));
  return doc.toString({ lineWidth: 0 });
}

/** The collector's config resolver turns `$$` into `$` in every string once the `${...}` references are expanded. */
function unescapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.split('$$').join('$');
  if (Array.isArray(value)) return value.map(unescapeDollars);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unescapeDollars(inner)]));
  return value;
}

/**
 * The Prometheus scrape configuration the collector's prometheus receiver gets from a rendered config: what promtool
 * checks and a plain Prometheus runs in the tests. The file itself writes `$` as `$$` (see collector-config.yaml).
 */
export function prometheusScrapeConfig(config: string): Record<string, unknown> {
  const parsed = parseYaml(config) as { receivers?: { prometheus?: { config?: unknown } } };
  const scrape = parsed.receivers?.prometheus?.config;
  if (scrape === undefined || scrape === null || typeof scrape !== 'object') throw new Error('the collector config has no receivers.prometheus.config');
  return unescapeDollars(scrape) as Record<string, unknown>;
}

/** The systemd unit that runs `neuron-monitor | neuron-monitor-prometheus.py`. */
export function renderExporterUnit(exporterPort: number): string {
  return fill(readFileSync(EXPORTER_UNIT_TEMPLATE, 'utf8'), { EXPORTER_PORT: String(exporterPort) });
}
