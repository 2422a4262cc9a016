import { AccessDeniedException, AmpClient, DescribeWorkspaceCommand, ResourceNotFoundException } from '@aws-sdk/client-amp';
import { mockClient } from 'aws-sdk-client-mock';
import { describeWorkspace, WorkspaceCache, WorkspaceError } from '../../../../lambda/bridge/amp/workspace';
import { resolveConfig } from '../../../../contract/bridge-config';
import { createCycleDeps, createWarmCaches, resolveRemoteWrite } from '../../../../lambda/bridge/runtime';

const ID = 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const ENDPOINT = `https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/${ID}/`;
const amp = mockClient(AmpClient);
const client = () => new AmpClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const active = { workspace: { workspaceId: ID, arn: `arn:aws:aps:eu-west-1:111111111111:workspace/${ID}`, alias: 'inferwatch', status: { statusCode: 'ACTIVE' as const }, prometheusEndpoint: ENDPOINT, createdAt: new Date() } };

beforeEach(() => amp.reset());

describe('describeWorkspace (aws-sdk-client-mock)', () => {
  test('an ACTIVE workspace gives its remote-write and query URLs', async () => {
    amp.on(DescribeWorkspaceCommand, { workspaceId: ID }).resolves(active);
    await expect(describeWorkspace(client(), ID, 'eu-west-1')).resolves.toMatchObject({
      remoteWriteUrl: `${ENDPOINT}api/v1/remote_write`,
      queryUrl: `${ENDPOINT}api/v1/query`,
      alias: 'inferwatch',
    });
  });

  test.each([
    ['CREATING', 'wait until it is ACTIVE'],
    ['UPDATING', 'wait until the update finishes'],
    ['DELETING', 'point remoteWrite.workspaceId at an ACTIVE workspace'],
    ['CREATION_FAILED', 'creation failed'],
  ])('a %s workspace stops the run, naming the workspace, its status and the fix', async (statusCode, fix) => {
    amp.on(DescribeWorkspaceCommand).resolves({ workspace: { ...active.workspace, status: { statusCode: statusCode as 'CREATING' } } });
    const error = await describeWorkspace(client(), ID, 'eu-west-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect((error as Error).message).toContain(`AMP workspace ${ID} in eu-west-1 is ${statusCode}, not ACTIVE`);
    expect((error as Error).message).toContain(fix);
  });

  test('not found and access denied name the key or the permission', async () => {
    amp.on(DescribeWorkspaceCommand).rejectsOnce(new ResourceNotFoundException({ message: 'Workspace not found', resourceId: ID, resourceType: 'WORKSPACE', $metadata: {} }));
    await expect(describeWorkspace(client(), ID, 'eu-west-1')).rejects.toThrow(/does not exist in eu-west-1.*"remoteWrite.workspaceId"/);
    amp.reset();
    amp.on(DescribeWorkspaceCommand).rejectsOnce(new AccessDeniedException({ message: 'not authorized', $metadata: {} }));
    await expect(describeWorkspace(client(), ID, 'eu-west-1')).rejects.toThrow(/lack aps:DescribeWorkspace on it/);
  });

  test('the cache keeps ACTIVE answers only: one call per warm process, and a failure is asked again', async () => {
    amp.on(DescribeWorkspaceCommand).resolvesOnce({ workspace: { ...active.workspace, status: { statusCode: 'CREATING' } } }).resolves(active);
    const cache = new WorkspaceCache();
    await expect(cache.resolve(client(), ID, 'eu-west-1')).rejects.toThrow('is CREATING');
    await cache.resolve(client(), ID, 'eu-west-1');
    await cache.resolve(client(), ID, 'eu-west-1');
    expect(amp.commandCalls(DescribeWorkspaceCommand)).toHaveLength(2);
  });
});

describe('resolveRemoteWrite', () => {
  test('a workspace id becomes its URL with SigV4 in the workspace region; a URL config passes through without a call', async () => {
    amp.on(DescribeWorkspaceCommand).resolves(active);
    const config = resolveConfig({ region: 'us-east-1', remoteWrite: { workspaceId: ID, auth: { type: 'sigv4', region: 'eu-west-1' } } }, {});
    const { config: resolved } = await resolveRemoteWrite(config, createWarmCaches(), client());
    expect(resolved.remoteWrite).toMatchObject({ url: `${ENDPOINT}api/v1/remote_write`, auth: { type: 'sigv4', region: 'eu-west-1', service: 'aps' } });
    const plain = resolveConfig({ remoteWrite: { url: 'http://127.0.0.1:9090/api/v1/write' } }, {});
    expect((await resolveRemoteWrite(plain, createWarmCaches(), client())).config).toBe(plain);
    expect(amp.commandCalls(DescribeWorkspaceCommand)).toHaveLength(1);
  });

  test('an unresolved workspace id cannot build a cycle', () => {
    const config = resolveConfig({ remoteWrite: { workspaceId: ID } }, {});
    expect(() => createCycleDeps(config, { logger: console, env: {}, caches: createWarmCaches(), deadline: () => 0 }, true)).toThrow('must be resolved with resolveRemoteWrite');
  });
});
