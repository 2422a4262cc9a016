import { GrafanaClient } from '@aws-sdk/client-grafana';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { provision, type ProvisionInput } from './provision';
import { responseBody } from './response';

const logger = new Logger({ serviceName: 'inferwatch-grafana-provisioner' });
const grafana = new GrafanaClient({});

interface ResourceProperties {
  readonly WorkspaceId: string;
  readonly GrafanaUrl: string;
  readonly PrometheusUrl: string;
  readonly PrometheusRegion: string;
  /** JSON: the dashboards, as one string so CloudFormation keeps numbers and booleans as they are. */
  readonly Dashboards: string;
}

/** Parses the custom resource's properties into the provisioner's input; every missing one is named. */
export function parseProperties(properties: Record<string, unknown>): ProvisionInput {
  const p = properties as unknown as Partial<ResourceProperties>;
  const missing = (['WorkspaceId', 'GrafanaUrl', 'PrometheusUrl', 'PrometheusRegion', 'Dashboards'] as const).filter((key) => typeof p[key] !== 'string' || p[key] === '');
  if (missing.length > 0) throw new Error(`custom resource property ${missing.join(', ')} missing`);
  const grafanaUrl = (p.GrafanaUrl as string).startsWith('http') ? (p.GrafanaUrl as string) : `https://${p.GrafanaUrl}`;
  return {
    workspaceId: p.WorkspaceId as string,
    grafanaUrl,
    prometheusUrl: p.PrometheusUrl as string,
    prometheusRegion: p.PrometheusRegion as string,
    dashboards: JSON.parse(p.Dashboards as string) as ProvisionInput['dashboards'],
  };
}

/** CloudFormation custom resource: provision on Create and Update; on Delete the dashboards go with the workspace. */
export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  const physicalResourceId = event.RequestType === 'Create' ? `inferwatch-grafana-${String(event.ResourceProperties.WorkspaceId)}` : event.PhysicalResourceId;
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = 'provisioned';
  let data: Record<string, string> = {};
  try {
    if (event.RequestType !== 'Delete') {
      const result = await provision(parseProperties(event.ResourceProperties), { grafana, log: (message, extra) => logger.info(message, extra ?? {}), now: Date.now });
      data = { DataSourceUid: result.dataSourceUid, Dashboards: result.dashboards.join(',') };
    }
  } catch (error) {
    status = 'FAILED';
    reason = `${(error as Error).message} (log stream ${context.logStreamName})`;
    logger.error('provisioning failed', { error: (error as Error).message });
  }
  const response = await fetch(event.ResponseURL, {
    method: 'PUT',
    headers: { 'Content-Type': '' },
    body: responseBody({ Status: status, Reason: reason, PhysicalResourceId: physicalResourceId, StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId, Data: data }),
  });
  if (!response.ok) throw new Error(`could not report to CloudFormation: HTTP ${response.status}`);
}
