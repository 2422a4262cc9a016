import { AmpClient } from '@aws-sdk/client-amp';
import { describeWorkspace } from '../../../../lambda/bridge/amp/workspace';
import { AmpStandIn } from '../../../support/stand-ins/amp-stand-in';

const ID = 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789';

describe('describeWorkspace against the AMP stand-in (REST-JSON, SigV4, AWS error shapes)', () => {
  let standIn: AmpStandIn;
  const saved = { ...process.env };
  beforeAll(async () => {
    standIn = await new AmpStandIn('us-east-2').start();
    Object.assign(process.env, standIn.env());
  });
  afterAll(async () => {
    process.env = saved;
    await standIn.stop();
  });
  const sdk = () => new AmpClient({ region: 'us-east-2', maxAttempts: 1 });

  test('ACTIVE: the endpoint the stand-in serves, from a signed GET /workspaces/{id}', async () => {
    standIn.addWorkspace(ID);
    await expect(describeWorkspace(sdk(), ID, 'us-east-2')).resolves.toMatchObject({ remoteWriteUrl: `${standIn.url}/workspaces/${ID}/api/v1/remote_write` });
    expect(standIn.callsTo('DescribeWorkspace').at(-1)).toMatchObject({ method: 'GET', path: `/workspaces/${ID}`, signed: true, scope: { service: 'aps', region: 'us-east-2' } });
  });

  test('404 ResourceNotFoundException, 403 AccessDeniedException, and a bad signature, each as the SDK sees AWS', async () => {
    await expect(describeWorkspace(sdk(), 'ws-missing', 'us-east-2')).rejects.toThrow('AMP workspace ws-missing does not exist in us-east-2');
    standIn.denied.add('DescribeWorkspace');
    await expect(describeWorkspace(sdk(), ID, 'us-east-2')).rejects.toThrow(/not readable.*aps:DescribeWorkspace/);
    standIn.denied.clear();
    const wrongSecret = new AmpClient({ region: 'us-east-2', maxAttempts: 1, credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'wrong' } });
    await expect(describeWorkspace(wrongSecret, ID, 'us-east-2')).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    standIn.workspaces.get(ID)!.status = 'CREATING';
    await expect(describeWorkspace(sdk(), ID, 'us-east-2')).rejects.toThrow('is CREATING, not ACTIVE');
  });
});
