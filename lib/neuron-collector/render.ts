import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const COLLECTOR_CONFIG_TEMPLATE = join(__dirname, 'collector-config.yaml');
export const EXPORTER_UNIT_TEMPLATE = join(__dirname, 'neuron-monitor.service');
/** Replaced on the host by its EC2 instance id, read from IMDSv2 when the SSM step writes the config. */
export const INSTANCE_ID_PLACEHOLDER = '__INSTANCE_ID__';

/** What the SSM step does on the host (the tests do the same). */
export function forHost(config: string, instanceId: string): string {
  return config.split(INSTANCE_ID_PLACEHOLDER).join(instanceId);
}

export interface CollectorConfigValues {
  /** Seconds between scrapes. */
  readonly scrapeIntervalSeconds: number;
  readonly exporterPort: number;
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
  return fill(readFileSync(COLLECTOR_CONFIG_TEMPLATE, 'utf8'), {
    SCRAPE_INTERVAL: `${values.scrapeIntervalSeconds}s`,
    // Prometheus refuses a timeout longer than the interval.
    SCRAPE_TIMEOUT: `${Math.min(10, values.scrapeIntervalSeconds)}s`,
    EXPORTER_PORT: String(values.exporterPort),
    ACCOUNT_ID: values.accountId,
    REGION: values.region,
    REMOTE_WRITE_URL: values.remoteWriteUrl,
    WORKSPACE_REGION: values.workspaceRegion,
    ASSUME_ROLE_BLOCK: assumeRole,
  });
}

/** The systemd unit that runs `neuron-monitor | neuron-monitor-prometheus.py`. */
export function renderExporterUnit(exporterPort: number): string {
  return fill(readFileSync(EXPORTER_UNIT_TEMPLATE, 'utf8'), { EXPORTER_PORT: String(exporterPort) });
}
