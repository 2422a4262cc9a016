import {
  CreateWorkspaceServiceAccountCommand,
  CreateWorkspaceServiceAccountTokenCommand,
  DeleteWorkspaceServiceAccountTokenCommand,
  ListWorkspaceServiceAccountsCommand,
  type GrafanaClient,
} from '@aws-sdk/client-grafana';
import { DATASOURCE_TYPE, DATASOURCE_UID } from '../../contract/constants';
import { GrafanaApi, type GrafanaApiOptions } from './grafana-api';

export const FOLDER_UID = 'inferwatch';
const SERVICE_ACCOUNT = 'inferwatch-provisioner';
/** Long enough for a slow provisioning run, short enough to be worthless soon after. */
const TOKEN_SECONDS = 900;

export interface ProvisionInput {
  /** The AMG workspace id (g-...). */
  readonly workspaceId: string;
  /** `https://g-....grafana-workspace.<region>.amazonaws.com` */
  readonly grafanaUrl: string;
  /** The AMP workspace's Prometheus endpoint, `https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-.../` */
  readonly prometheusUrl: string;
  readonly prometheusRegion: string;
  /** Dashboard JSON models (built with the Grafana foundation SDK). */
  readonly dashboards: ReadonlyArray<{ uid?: string; title?: string }>;
  /** @default "inferwatch" */
  readonly folderTitle?: string;
}

export interface ProvisionDeps {
  readonly grafana: GrafanaClient;
  readonly log: (message: string, extra?: Record<string, unknown>) => void;
  readonly now: () => number;
  readonly api?: GrafanaApiOptions;
}

export interface ProvisionResult {
  readonly dataSourceUid: string;
  readonly dashboards: string[];
}

/**
 * The AMP data source: SigV4 with the workspace's IAM role (`ec2_iam_role`), service `aps`, in the AMP workspace's
 * region; the jsonData keys are the plugin's (its "Configure" page, provisioning section).
 */
export function dataSourceModel(input: ProvisionInput) {
  return {
    uid: DATASOURCE_UID,
    name: 'Amazon Managed Prometheus (inferwatch)',
    type: DATASOURCE_TYPE,
    access: 'proxy',
    url: input.prometheusUrl.replace(/\/$/, ''),
    isDefault: true,
    jsonData: { httpMethod: 'POST', sigV4Auth: true, sigV4AuthType: 'ec2_iam_role', sigV4Region: input.prometheusRegion, sigv4Service: 'aps', timeInterval: '60s' },
  };
}

async function serviceAccountId(grafana: GrafanaClient, workspaceId: string): Promise<string> {
  let nextToken: string | undefined;
  do {
    const page = await grafana.send(new ListWorkspaceServiceAccountsCommand({ workspaceId, nextToken }));
    const existing = page.serviceAccounts?.find((account) => account.name === SERVICE_ACCOUNT);
    if (existing?.id) return existing.id;
    nextToken = page.nextToken;
  } while (nextToken);
  const created = await grafana.send(new CreateWorkspaceServiceAccountCommand({ workspaceId, name: SERVICE_ACCOUNT, grafanaRole: 'ADMIN' }));
  if (!created.id) throw new Error(`CreateWorkspaceServiceAccount returned no id for workspace ${workspaceId}`);
  return created.id;
}

/** The data source, after its plugin: a data source of a plugin Grafana lacks saves, then fails every query. */
async function provisionDataSource(api: GrafanaApi, input: ProvisionInput, deps: ProvisionDeps): Promise<void> {
  const plugin = await api.request('GET', `/api/plugins/${DATASOURCE_TYPE}/settings`, undefined, true);
  if (!plugin) {
    await api.request('POST', `/api/plugins/${DATASOURCE_TYPE}/install`, {});
    deps.log('installed the data source plugin', { plugin: DATASOURCE_TYPE });
  }
  const model = dataSourceModel(input);
  const existing = await api.request('GET', `/api/datasources/uid/${DATASOURCE_UID}`, undefined, true);
  if (existing) await api.request('PUT', `/api/datasources/uid/${DATASOURCE_UID}`, model);
  else await api.request('POST', '/api/datasources', model);
  deps.log(existing ? 'updated the AMP data source' : 'created the AMP data source', { uid: DATASOURCE_UID, url: model.url, region: input.prometheusRegion });
}

/** The folder and every dashboard in it, overwritten: returns their uids. */
async function provisionDashboards(api: GrafanaApi, input: ProvisionInput): Promise<string[]> {
  const folder = await api.request('GET', `/api/folders/${FOLDER_UID}`, undefined, true);
  if (!folder) await api.request('POST', '/api/folders', { uid: FOLDER_UID, title: input.folderTitle ?? 'inferwatch' });
  const uids: string[] = [];
  for (const dashboard of input.dashboards) {
    await api.request('POST', '/api/dashboards/db', { dashboard: { ...dashboard, id: null }, folderUid: FOLDER_UID, overwrite: true, message: 'provisioned by inferwatch' });
    uids.push(String(dashboard.uid));
  }
  return uids;
}

/**
 * Provisions the AMP data source and the dashboards into an AMG workspace with a short-lived service-account
 * token, deleted afterwards whatever happens. The token is never logged.
 */
export async function provision(input: ProvisionInput, deps: ProvisionDeps): Promise<ProvisionResult> {
  const accountId = await serviceAccountId(deps.grafana, input.workspaceId);
  const created = await deps.grafana.send(
    new CreateWorkspaceServiceAccountTokenCommand({ workspaceId: input.workspaceId, serviceAccountId: accountId, name: `provision-${deps.now()}`, secondsToLive: TOKEN_SECONDS }),
  );
  const token = created.serviceAccountToken;
  if (!token?.key || !token.id) throw new Error(`CreateWorkspaceServiceAccountToken returned no token for workspace ${input.workspaceId}`);
  deps.log('created a short-lived service-account token', { workspaceId: input.workspaceId, tokenId: token.id, secondsToLive: TOKEN_SECONDS });

  try {
    const api = new GrafanaApi(input.grafanaUrl, token.key, deps.api);
    await provisionDataSource(api, input, deps);
    const uids = await provisionDashboards(api, input);
    deps.log('provisioned dashboards', { dashboards: uids });
    return { dataSourceUid: DATASOURCE_UID, dashboards: uids };
  } finally {
    await deps.grafana.send(new DeleteWorkspaceServiceAccountTokenCommand({ workspaceId: input.workspaceId, serviceAccountId: accountId, tokenId: token.id }));
    deps.log('deleted the service-account token', { tokenId: token.id });
  }
}
