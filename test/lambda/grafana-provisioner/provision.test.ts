import {
  CreateWorkspaceServiceAccountCommand,
  CreateWorkspaceServiceAccountTokenCommand,
  DeleteWorkspaceServiceAccountTokenCommand,
  GrafanaClient,
  ListWorkspaceServiceAccountsCommand,
} from '@aws-sdk/client-grafana';
import { mockClient } from 'aws-sdk-client-mock';
import { hasRemedy } from '../../../contract/errors';
import { allDashboards } from '../../../lib/grafana-workspace/dashboards';
import { GrafanaApiError, GrafanaUnavailableError } from '../../../lambda/grafana-provisioner/grafana-api';
import { handler, parseProperties } from '../../../lambda/grafana-provisioner/handler';
import { provision, type ProvisionInput } from '../../../lambda/grafana-provisioner/provision';
import { GrafanaStandIn } from '../../support/stand-ins/grafana-stand-in';

const TOKEN = 'glsa_secret_token_value_1234';

const grafanaMock = mockClient(GrafanaClient);
let grafana: GrafanaStandIn;
const logs: string[] = [];
const deps = () => ({ grafana: new GrafanaClient({ region: 'eu-west-1' }), log: (m: string, e?: Record<string, unknown>) => void logs.push(`${m} ${JSON.stringify(e)}`), now: () => 1_800_000_000_000, api: { sleep: async () => {} } });
const input = (): ProvisionInput => ({
  workspaceId: 'g-abc123',
  grafanaUrl: grafana.url,
  prometheusUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/',
  prometheusRegion: 'eu-west-1',
  dashboards: allDashboards() as ProvisionInput['dashboards'],
});

beforeEach(async () => {
  grafanaMock.reset();
  logs.length = 0;
  grafanaMock.on(ListWorkspaceServiceAccountsCommand).resolves({ serviceAccounts: [], workspaceId: 'g-abc123' });
  grafanaMock.on(CreateWorkspaceServiceAccountCommand).resolves({ id: 'sa-7', name: 'inferwatch-provisioner', grafanaRole: 'ADMIN', workspaceId: 'g-abc123' });
  grafanaMock.on(CreateWorkspaceServiceAccountTokenCommand).resolves({ serviceAccountToken: { id: 'tok-1', name: 'provision', key: TOKEN }, serviceAccountId: 'sa-7', workspaceId: 'g-abc123' });
  grafanaMock.on(DeleteWorkspaceServiceAccountTokenCommand).resolves({});
  grafana = await new GrafanaStandIn().start();
});

afterEach(async () => grafana.stop());

describe('provision', () => {
  test('creates the AMP data source (SigV4, workspace role, region), the folder and every dashboard, then deletes the token', async () => {
    grafana.reply('GET /api/datasources/uid/inferwatch-amp', { status: 404, body: { message: 'Data source not found' } });
    grafana.reply('GET /api/folders/inferwatch', { status: 404, body: { message: 'folder not found' } });
    const result = await provision(input(), deps());

    const uids = allDashboards().map((d) => d.uid);
    expect(result).toEqual({ dataSourceUid: 'inferwatch-amp', dashboards: uids });
    expect(grafana.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/plugins/grafana-amazonprometheus-datasource/settings',
      'GET /api/datasources/uid/inferwatch-amp',
      'POST /api/datasources',
      'GET /api/folders/inferwatch',
      'POST /api/folders',
      ...uids.map(() => 'POST /api/dashboards/db'),
    ]);
    expect(grafana.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    // The Amazon Managed Service for Prometheus data source type, which Grafana 13 migrates SigV4 Prometheus sources to.
    expect(grafana.requests[2]?.body).toEqual({
      uid: 'inferwatch-amp',
      name: 'Amazon Managed Prometheus (inferwatch)',
      type: 'grafana-amazonprometheus-datasource',
      access: 'proxy',
      url: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234',
      isDefault: true,
      jsonData: { httpMethod: 'POST', sigV4Auth: true, sigV4AuthType: 'ec2_iam_role', sigV4Region: 'eu-west-1', sigv4Service: 'aps', timeInterval: '60s' },
    });
    expect(grafana.requests[4]?.body).toEqual({ uid: 'inferwatch', title: 'inferwatch' });
    const posted = grafana.requests[5]?.body as { dashboard: { uid: string; id: null; panels: unknown[] }; folderUid: string; overwrite: boolean };
    expect(posted).toMatchObject({ folderUid: 'inferwatch', overwrite: true, dashboard: { uid: 'inferwatch-fleet', id: null } });
    expect(posted.dashboard.panels.length).toBeGreaterThan(5);

    expect(grafanaMock.commandCalls(CreateWorkspaceServiceAccountCommand)[0]?.args[0].input).toEqual({ workspaceId: 'g-abc123', name: 'inferwatch-provisioner', grafanaRole: 'ADMIN' });
    expect(grafanaMock.commandCalls(CreateWorkspaceServiceAccountTokenCommand)[0]?.args[0].input).toMatchObject({ workspaceId: 'g-abc123', serviceAccountId: 'sa-7', secondsToLive: 900 });
    expect(grafanaMock.commandCalls(DeleteWorkspaceServiceAccountTokenCommand)[0]?.args[0].input).toEqual({ workspaceId: 'g-abc123', serviceAccountId: 'sa-7', tokenId: 'tok-1' });
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  test('a workspace without the Amazon Managed Service for Prometheus plugin gets it installed before the data source', async () => {
    grafana.reply('GET /api/plugins/grafana-amazonprometheus-datasource/settings', { status: 404, body: { message: 'Plugin not found' } });
    await provision(input(), deps());
    expect(grafana.requests.slice(0, 3).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/plugins/grafana-amazonprometheus-datasource/settings',
      'POST /api/plugins/grafana-amazonprometheus-datasource/install',
      'GET /api/datasources/uid/inferwatch-amp',
    ]);
  });

  test('a plugin install Grafana refuses (plugin management off) fails with the path and status, token deleted', async () => {
    grafana.reply('GET /api/plugins/grafana-amazonprometheus-datasource/settings', { status: 404, body: { message: 'Plugin not found' } });
    grafana.reply('POST /api/plugins/grafana-amazonprometheus-datasource/install', { status: 403, body: { message: 'Plugin management is disabled' } });
    await expect(provision(input(), deps())).rejects.toThrow('Grafana POST /api/plugins/grafana-amazonprometheus-datasource/install failed with HTTP 403: Plugin management is disabled');
    expect(grafanaMock.commandCalls(DeleteWorkspaceServiceAccountTokenCommand)).toHaveLength(1);
  });

  test('an update reuses the service account and replaces the existing data source', async () => {
    grafanaMock.on(ListWorkspaceServiceAccountsCommand).resolves({ serviceAccounts: [{ id: 'sa-7', name: 'inferwatch-provisioner', isDisabled: 'false', grafanaRole: 'ADMIN' }], workspaceId: 'g-abc123' });
    grafana.reply('GET /api/datasources/uid/inferwatch-amp', { status: 200, body: { uid: 'inferwatch-amp' } });
    await provision(input(), deps());
    expect(grafanaMock.commandCalls(CreateWorkspaceServiceAccountCommand)).toHaveLength(0);
    expect(grafana.requests.map((r) => `${r.method} ${r.path}`).slice(1, 4)).toEqual(['GET /api/datasources/uid/inferwatch-amp', 'PUT /api/datasources/uid/inferwatch-amp', 'GET /api/folders/inferwatch']);
  });

  test('a 5xx from Grafana is retried', async () => {
    grafana.reply('POST /api/dashboards/db', { status: 502, body: { message: 'bad gateway' } }, { status: 200 });
    await provision(input(), deps());
    // Every dashboard once, and the one that got the 502 once more.
    expect(grafana.requests.filter((r) => r.path === '/api/dashboards/db')).toHaveLength(allDashboards().length + 1);
  });

  test('a 4xx fails with the method, path, status and Grafana message, and the token is still deleted', async () => {
    grafana.reply('POST /api/dashboards/db', { status: 403, body: { message: 'Permissions needed: dashboards:create' } });
    await expect(provision(input(), deps())).rejects.toThrow('Grafana POST /api/dashboards/db failed with HTTP 403: Permissions needed: dashboards:create');
    expect(grafanaMock.commandCalls(DeleteWorkspaceServiceAccountTokenCommand)).toHaveLength(1);
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  test('a refusal asks for a fix; a Grafana that stays unavailable, for a retry', async () => {
    grafana.reply('POST /api/dashboards/db', { status: 403, body: { message: 'Permissions needed: dashboards:create' } });
    const refused = await provision(input(), deps()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GrafanaApiError);
    expect(hasRemedy(refused, 'fix-config')).toBe(true);
    grafana.reply('GET /api/datasources/uid/inferwatch-amp', { status: 503 }, { status: 503 }, { status: 503 });
    const unavailable = await provision(input(), deps()).catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(GrafanaUnavailableError);
    expect(hasRemedy(unavailable, 'retry')).toBe(true);
  });

  test('a 5xx that persists fails after the retries, token deleted', async () => {
    grafana.reply('GET /api/datasources/uid/inferwatch-amp', { status: 503 }, { status: 503 }, { status: 503 });
    await expect(provision(input(), deps())).rejects.toThrow(/HTTP 503.*after 3 attempts/);
    expect(grafanaMock.commandCalls(DeleteWorkspaceServiceAccountTokenCommand)).toHaveLength(1);
  });
});

describe('custom resource handler', () => {
  const properties = () => ({ ServiceToken: 'arn', WorkspaceId: 'g-abc123', GrafanaUrl: grafana.url, PrometheusUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/', PrometheusRegion: 'eu-west-1', Dashboards: JSON.stringify(allDashboards()) });
  const event = (requestType: string, responseUrl: string) => ({
    RequestType: requestType,
    ResponseURL: responseUrl,
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/s/1',
    RequestId: 'req-1',
    LogicalResourceId: 'Provisioner',
    ResourceType: 'Custom::GrafanaProvisioning',
    PhysicalResourceId: 'inferwatch-grafana-g-abc123',
    ResourceProperties: properties(),
  });

  test('reports SUCCESS to CloudFormation after provisioning, FAILED with the reason on error', async () => {
    const okUrl = `${grafana.url}/cfn-response-ok`;
    await handler(event('Create', okUrl) as never, { logStreamName: 'stream-1' } as never);
    const response = grafana.requests.find((r) => r.path === '/cfn-response-ok');
    expect(response?.method).toBe('PUT');
    expect(response?.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'inferwatch-grafana-g-abc123', RequestId: 'req-1', LogicalResourceId: 'Provisioner', Data: { DataSourceUid: 'inferwatch-amp' } });

    grafana.reply('POST /api/datasources', { status: 400, body: { message: 'data source with the same name already exists' } });
    grafana.reply('GET /api/datasources/uid/inferwatch-amp', { status: 404 });
    await handler(event('Update', `${grafana.url}/cfn-response-failed`) as never, { logStreamName: 'stream-2' } as never);
    const failed = grafana.requests.find((r) => r.path === '/cfn-response-failed')?.body as { Status: string; Reason: string };
    expect(failed.Status).toBe('FAILED');
    expect(failed.Reason).toContain('HTTP 400: data source with the same name already exists');
    expect(failed.Reason).not.toContain(TOKEN);
  });

  test('a failure reason that would push the response past 4,096 bytes is cut, UTF-8 safe, and the response still reaches CloudFormation', async () => {
    grafana.reply('GET /api/datasources/uid/inferwatch-amp', { status: 404 });
    grafana.reply('POST /api/datasources', { status: 400, body: { message: 'ungültige Datenquelle 🚫 '.repeat(100) } });
    // A long log stream name too: the reason is the error and where to read more.
    await handler(event('Update', `${grafana.url}/cfn-response-long`) as never, { logStreamName: `2026/12/04/[$LATEST]${'é'.repeat(3000)}` } as never);
    const request = grafana.requests.find((r) => r.path === '/cfn-response-long');
    const body = JSON.stringify(request?.body);
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(4096);
    const response = request?.body as { Status: string; Reason: string; RequestId: string };
    expect(response.Status).toBe('FAILED');
    expect(response.RequestId).toBe('req-1');
    expect(response.Reason).toMatch(/^Grafana POST \/api\/datasources failed with HTTP 400: ungültige Datenquelle 🚫 /);
    expect(response.Reason.endsWith(' […]')).toBe(true);
  });

  test('Delete does nothing but report success', async () => {
    const before = grafanaMock.commandCalls(CreateWorkspaceServiceAccountTokenCommand).length;
    await handler(event('Delete', `${grafana.url}/cfn-delete`) as never, { logStreamName: 's' } as never);
    expect(grafana.requests.find((r) => r.path === '/cfn-delete')?.body).toMatchObject({ Status: 'SUCCESS' });
    expect(grafanaMock.commandCalls(CreateWorkspaceServiceAccountTokenCommand)).toHaveLength(before);
  });

  test('missing properties are named', () => {
    expect(() => parseProperties({ WorkspaceId: 'g-1' })).toThrow('custom resource property GrafanaUrl, PrometheusUrl, PrometheusRegion, Dashboards missing');
    expect(parseProperties({ ...properties(), GrafanaUrl: 'g-1.grafana-workspace.eu-west-1.amazonaws.com' }).grafanaUrl).toBe('https://g-1.grafana-workspace.eu-west-1.amazonaws.com');
  });
});
