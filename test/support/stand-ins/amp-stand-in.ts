import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SigV4Refusal, verifySigV4 } from './sigv4-verifier';
import { closeServer, listenOnLoopback } from '../harness/local-server';

/**
 * A local stand-in for Amazon Managed Service for Prometheus. Control plane: AMP's REST-JSON API
 * (DescribeWorkspace, DescribeLoggingConfiguration, DescribeRuleGroupsNamespace, DescribeAlertManagerDefinition,
 * DescribeWorkspaceConfiguration) with AWS's error shapes: the code in `x-amzn-ErrorType`, `{message, ...}` in the
 * body, ResourceNotFoundException 404, AccessDeniedException 403, ValidationException 400. Data plane:
 * `/workspaces/<id>/api/v1/remote_write` and `/api/v1/query`, forwarded to a real Prometheus.
 *
 * Every request must carry a valid SigV4 signature (service `aps`, this region, the stand-in's key): the stand-in
 * recomputes it with @smithy/signature-v4 from what arrived on the wire, as AWS does, and refuses a mismatch with 403.
 * SDK clients reach it through AWS_ENDPOINT_URL_AMP.
 */

export const STAND_IN_ACCESS_KEY = 'AKIDSTANDIN';
export const STAND_IN_SECRET = 'stand-in-secret';
export const STAND_IN_ACCOUNT = '123456789012';

type Status = { statusCode: string; statusReason?: string };

export interface StandInWorkspace {
  workspaceId: string;
  alias?: string;
  status: string;
  /** DescribeLoggingConfiguration: absent = logging never configured (ResourceNotFoundException). */
  logging?: Status & { logGroupArn: string };
  ruleGroupsNamespaces: Map<string, Status>;
  /** Absent = no alert manager definition (ResourceNotFoundException). */
  alertManager?: Status;
  configuration: { status: Status; limitsPerLabelSet: Array<{ labelSet: Record<string, string>; limits: { maxSeries?: number } }>; retentionPeriodInDays: number };
}

/** What one recorded request was: the operation and whether its signature checked out. */
export interface AmpCall {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly signed: boolean;
  /** The credential scope's access key, region and service, as signed. */
  readonly scope?: { accessKey: string; region: string; service: string };
}

/** AMP's documented workspace id constraint: 1 to 64 characters matching this. */
const WORKSPACE_ID_PATTERN = /^.*[0-9A-Za-z][-.0-9A-Z_a-z]*.*$/;

class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class AmpStandIn {
  readonly workspaces = new Map<string, StandInWorkspace>();
  readonly calls: AmpCall[] = [];
  /** Operations (e.g. `DescribeWorkspace`, `QueryMetrics`, `RemoteWrite`) refused with AccessDeniedException. */
  readonly denied = new Set<string>();
  private server: Server | undefined;

  constructor(
    readonly region = 'us-east-2',
    /** The real Prometheus the data plane forwards to, e.g. LocalPrometheus.url. */
    public prometheusBackend?: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  /** The environment that points the AMP SDK client here. */
  env(): Record<string, string> {
    return { AWS_ENDPOINT_URL_AMP: this.url, AWS_ACCESS_KEY_ID: STAND_IN_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: STAND_IN_SECRET, AWS_REGION: this.region };
  }

  /** A workspace as the monitoring stack leaves it: ACTIVE, logging on, the `inferwatch` rules and an alert manager. */
  addWorkspace(workspaceId: string, overrides: Partial<StandInWorkspace> = {}): StandInWorkspace {
    const workspace: StandInWorkspace = {
      workspaceId,
      alias: 'inferwatch',
      status: 'ACTIVE',
      logging: { statusCode: 'ACTIVE', logGroupArn: `arn:aws:logs:${this.region}:${STAND_IN_ACCOUNT}:log-group:/aws/vendedlogs/prometheus/${workspaceId}:*` },
      ruleGroupsNamespaces: new Map([['inferwatch', { statusCode: 'ACTIVE' }]]),
      alertManager: { statusCode: 'ACTIVE' },
      configuration: { status: { statusCode: 'ACTIVE' }, limitsPerLabelSet: [], retentionPeriodInDays: 150 },
      ...overrides,
    };
    this.workspaces.set(workspaceId, workspace);
    return workspace;
  }

  prometheusEndpoint(workspaceId: string): string {
    return `${this.url}/workspaces/${workspaceId}/`;
  }

  callsTo(operation: string): AmpCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const route = this.route(method, url.pathname);
    let scope: AmpCall['scope'];
    try {
      scope = await this.verifySignature(req, url, body);
      this.calls.push({ operation: route.operation, method, path: url.pathname, signed: true, scope });
      if (route.operation === 'Unknown') throw new AwsError(404, 'UnknownOperationException', `stand-in does not implement ${method} ${url.pathname}`);
      if (this.denied.has(route.operation)) {
        throw new AwsError(
          403,
          'AccessDeniedException',
          `User: arn:aws:sts::${STAND_IN_ACCOUNT}:assumed-role/inferwatch/doctor is not authorized to perform: aps:${route.operation} on resource: arn:aws:aps:${this.region}:${STAND_IN_ACCOUNT}:workspace/${route.workspaceId}`,
        );
      }
      if (route.workspaceId.length < 1 || route.workspaceId.length > 64 || !WORKSPACE_ID_PATTERN.test(route.workspaceId)) {
        throw new AwsError(400, 'ValidationException', '1 validation error detected: workspaceId', { reason: 'FIELD_VALIDATION_FAILED', fieldList: [{ name: 'workspaceId', message: 'invalid' }] });
      }
      const workspace = this.workspaces.get(route.workspaceId);
      if (!workspace) throw notFound(`Workspace not found: ${route.workspaceId}`, route.workspaceId, 'WORKSPACE');
      if (route.dataPlane) return await this.forward(route.operation, workspace, req, body, res);
      return this.json(res, 200, this.describe(route.operation, workspace, route.name));
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      if (!scope) this.calls.push({ operation: route.operation, method, path: url.pathname, signed: false });
      return this.json(res, error.status, { message: error.message, ...error.extra }, error.code);
    }
  }

  private route(method: string, path: string): { operation: string; workspaceId: string; name?: string; dataPlane: boolean } {
    const match = /^\/workspaces\/([^/]+)(\/.*)?$/.exec(path);
    if (!match) return { operation: 'Unknown', workspaceId: '', dataPlane: false };
    const workspaceId = decodeURIComponent(match[1] as string);
    const rest = match[2] ?? '';
    const op = (operation: string, dataPlane = false, name?: string) => ({ operation, workspaceId, name, dataPlane });
    if (method === 'GET' && rest === '') return op('DescribeWorkspace');
    if (method === 'GET' && rest === '/logging') return op('DescribeLoggingConfiguration');
    if (method === 'GET' && rest === '/alertmanager/definition') return op('DescribeAlertManagerDefinition');
    if (method === 'GET' && rest === '/configuration') return op('DescribeWorkspaceConfiguration');
    const namespace = /^\/rulegroupsnamespaces\/([^/]+)$/.exec(rest);
    if (method === 'GET' && namespace) return op('DescribeRuleGroupsNamespace', false, decodeURIComponent(namespace[1] as string));
    if (method === 'POST' && rest === '/api/v1/remote_write') return op('RemoteWrite', true);
    if ((method === 'GET' || method === 'POST') && rest === '/api/v1/query') return op('QueryMetrics', true);
    return op('Unknown');
  }

  private describe(operation: string, workspace: StandInWorkspace, name: string | undefined): unknown {
    const arn = `arn:aws:aps:${this.region}:${STAND_IN_ACCOUNT}:workspace/${workspace.workspaceId}`;
    const times = { createdAt: 1_764_000_000, modifiedAt: 1_764_000_000 };
    switch (operation) {
      case 'DescribeWorkspace':
        return {
          workspace: {
            workspaceId: workspace.workspaceId,
            arn,
            ...(workspace.alias ? { alias: workspace.alias } : {}),
            status: { statusCode: workspace.status },
            prometheusEndpoint: this.prometheusEndpoint(workspace.workspaceId),
            createdAt: times.createdAt,
            tags: {},
          },
        };
      case 'DescribeLoggingConfiguration':
        if (!workspace.logging) throw notFound(`Logging configuration not found for workspace ${workspace.workspaceId}`, workspace.workspaceId, 'LOGGING_CONFIGURATION');
        return {
          loggingConfiguration: {
            status: status(workspace.logging),
            workspace: workspace.workspaceId,
            logGroupArn: workspace.logging.logGroupArn,
            ...times,
          },
        };
      case 'DescribeRuleGroupsNamespace': {
        const namespace = workspace.ruleGroupsNamespaces.get(name as string);
        if (!namespace) throw notFound(`Rule groups namespace not found: ${name}`, name as string, 'RULE_GROUPS_NAMESPACE');
        return {
          ruleGroupsNamespace: {
            arn: `arn:aws:aps:${this.region}:${STAND_IN_ACCOUNT}:rulegroupsnamespace/${workspace.workspaceId}/${name}`,
            name,
            status: status(namespace),
            data: Buffer.from('groups: []\n').toString('base64'),
            ...times,
            tags: {},
          },
        };
      }
      case 'DescribeAlertManagerDefinition':
        if (!workspace.alertManager) throw notFound(`Alert manager definition not found for workspace ${workspace.workspaceId}`, workspace.workspaceId, 'ALERT_MANAGER_DEFINITION');
        return { alertManagerDefinition: { status: status(workspace.alertManager), data: Buffer.from('alertmanager_config: ""\n').toString('base64'), ...times } };
      case 'DescribeWorkspaceConfiguration':
        return {
          workspaceConfiguration: {
            status: status(workspace.configuration.status),
            limitsPerLabelSet: workspace.configuration.limitsPerLabelSet,
            retentionPeriodInDays: workspace.configuration.retentionPeriodInDays,
          },
        };
      default:
        throw new AwsError(404, 'UnknownOperationException', `stand-in does not implement ${operation}`);
    }
  }

  /** The data plane: a workspace that is not ACTIVE answers 404 as AMP's gateway does; otherwise Prometheus answers. */
  private async forward(operation: string, workspace: StandInWorkspace, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    if (!this.prometheusBackend) throw new AwsError(503, 'ServiceUnavailableException', 'the stand-in has no Prometheus behind it');
    if (workspace.status !== 'ACTIVE') throw notFound(`workspace ${workspace.workspaceId} is ${workspace.status}`, workspace.workspaceId, 'WORKSPACE');
    const target = operation === 'RemoteWrite' ? '/api/v1/write' : '/api/v1/query';
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'content-encoding', 'x-prometheus-remote-write-version', 'user-agent']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const query = new URL(req.url ?? '/', 'http://stand-in').search;
    const upstream = await fetch(`${this.prometheusBackend}${target}${query}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  }

  /** Recomputes the SigV4 signature from the request as received; any difference is AWS's 403. */
  private async verifySignature(req: IncomingMessage, url: URL, body: Buffer): Promise<AmpCall['scope']> {
    const credentials = { accessKeyId: STAND_IN_ACCESS_KEY, secretAccessKey: STAND_IN_SECRET };
    return verifySigV4(req, url, body, { service: 'aps', region: this.region, credentials }).catch((error: unknown) => {
      throw error instanceof SigV4Refusal ? new AwsError(403, error.code, error.message) : error;
    });
  }

  private json(res: ServerResponse, status: number, payload: unknown, errorType?: string): void {
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-requestid': `amp-${this.calls.length}`,
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(JSON.stringify(payload));
  }
}

function status(s: Status): Status {
  return { statusCode: s.statusCode, ...(s.statusReason ? { statusReason: s.statusReason } : {}) };
}

function notFound(message: string, resourceId: string, resourceType: string): AwsError {
  return new AwsError(404, 'ResourceNotFoundException', message, { resourceId, resourceType });
}
