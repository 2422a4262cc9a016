import { AccessDeniedException, DescribeWorkspaceCommand, ResourceNotFoundException, type AmpClient } from '@aws-sdk/client-amp';
import { ConfigError } from '../../../contract/errors';
import { sdkError } from '../aws-calls';

/**
 * An AMP workspace the bridge cannot use: not found, not readable, or not ACTIVE. The workspace id and the role's
 * permissions are configuration: the message says which key or grant to fix (or, while it is CREATING, to wait).
 */
export class WorkspaceError extends ConfigError {
  constructor(
    readonly workspaceId: string,
    /** What is wrong, naming the workspace and its status or the missing permission. */
    readonly problem: string,
    /** What to do about it. */
    readonly fix: string,
  ) {
    super(`${problem}: ${fix}`);
  }
}

export interface ResolvedWorkspace {
  readonly workspaceId: string;
  readonly region: string;
  readonly arn: string;
  readonly alias: string | undefined;
  /** `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/` as DescribeWorkspace gives it. */
  readonly prometheusEndpoint: string;
  readonly remoteWriteUrl: string;
  readonly queryUrl: string;
}

/** Why a status other than ACTIVE stops the bridge, and what the user does about it. */
const STATUS_ADVICE: Record<string, string> = {
  CREATING: 'wait until it is ACTIVE (a few minutes after creation); the next cycle forwards every period this one skipped',
  UPDATING: 'wait until the update finishes; the next cycle forwards every period this one skipped',
  DELETING: 'the workspace is being deleted: point remoteWrite.workspaceId at an ACTIVE workspace',
  CREATION_FAILED: 'creation failed: delete it and create it again (redeploy the monitoring stack), then point remoteWrite.workspaceId at the new one',
};

/** Joins a path onto AMP's endpoint, which ends in a slash. */
function under(endpoint: string, path: string): string {
  return `${endpoint.replace(/\/?$/, '/')}${path}`;
}

/**
 * DescribeWorkspace: the endpoint and status of `workspaceId`. Anything but an ACTIVE workspace is a
 * WorkspaceError naming the workspace, its status or the missing permission, and the fix.
 */
export async function describeWorkspace(amp: AmpClient, workspaceId: string, region: string): Promise<ResolvedWorkspace> {
  let answer;
  try {
    answer = await amp.send(new DescribeWorkspaceCommand({ workspaceId }));
  } catch (failure) {
    const error = sdkError(failure);
    if (error instanceof ResourceNotFoundException) {
      throw new WorkspaceError(
        workspaceId,
        `AMP workspace ${workspaceId} does not exist in ${region} (DescribeWorkspace: ResourceNotFoundException)`,
        `check "remoteWrite.workspaceId" against the monitoring stack's WorkspaceId output, and the region ("remoteWrite.auth.region", else "region")`,
      );
    }
    if (error instanceof AccessDeniedException) {
      throw new WorkspaceError(
        workspaceId,
        `AMP workspace ${workspaceId} in ${region} is not readable: the credentials lack aps:DescribeWorkspace on it (AccessDeniedException: ${error.message})`,
        `grant aps:DescribeWorkspace on arn:aws:aps:${region}:<account>:workspace/${workspaceId} to the bridge role, or to the writer role it assumes`,
      );
    }
    throw failure;
  }
  const workspace = answer.workspace;
  const status = workspace?.status?.statusCode ?? 'UNKNOWN';
  if (!workspace || status !== 'ACTIVE') {
    throw new WorkspaceError(workspaceId, `AMP workspace ${workspaceId} in ${region} is ${status}, not ACTIVE`, STATUS_ADVICE[status] ?? 'check it in the AMP console');
  }
  if (!workspace.prometheusEndpoint) throw new WorkspaceError(workspaceId, `AMP workspace ${workspaceId} in ${region} has no prometheusEndpoint in its DescribeWorkspace answer`, 'check it in the AMP console');
  return {
    workspaceId,
    region,
    arn: workspace.arn ?? '',
    alias: workspace.alias,
    prometheusEndpoint: workspace.prometheusEndpoint,
    remoteWriteUrl: under(workspace.prometheusEndpoint, 'api/v1/remote_write'),
    queryUrl: under(workspace.prometheusEndpoint, 'api/v1/query'),
  };
}

/**
 * ACTIVE workspaces, kept for the life of the process (a warm Lambda, a CLI loop): an endpoint never changes
 * for a workspace id. Failures are not kept, so a workspace that becomes ACTIVE is used at the next cycle.
 */
export class WorkspaceCache {
  private readonly resolved = new Map<string, ResolvedWorkspace>();

  async resolve(amp: AmpClient, workspaceId: string, region: string): Promise<ResolvedWorkspace> {
    const key = `${region}/${workspaceId}`;
    const cached = this.resolved.get(key);
    if (cached) return cached;
    const workspace = await describeWorkspace(amp, workspaceId, region);
    this.resolved.set(key, workspace);
    return workspace;
  }
}
