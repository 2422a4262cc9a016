import { S3Client } from '@aws-sdk/client-s3';
import { AwsRequestError, instrumentAwsClient } from '../../../../lambda/bridge/aws-calls';
import { S3StateStore } from '../../../../lambda/bridge/state/s3-state-store';
import { ConcurrentUpdateError } from '../../../../lambda/bridge/state/store';
import { S3StandIn } from '../../../support/stand-ins/s3-stand-in';

const bytes = new Uint8Array(Buffer.from('IWS2 state bytes'));

describe('S3StateStore through an instrumented client (the runtime\'s), against a local S3', () => {
  const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const at = (endpoint: string) =>
    new S3StateStore(
      instrumentAwsClient(new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }), quiet),
      'state-bucket',
      'inferwatch/bridge-state.json',
    );

  test('a missing object is still no state, a lost race still a ConcurrentUpdateError, a refusal an AwsRequestError naming the call', async () => {
    const everything = await new S3StandIn('state-bucket', [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'], Resource: '*' }]).start();
    try {
      const instrumented = at(everything.endpoint);
      expect(await instrumented.load()).toEqual({ bytes: undefined, version: undefined });
      await instrumented.save(bytes, undefined);
      await expect(instrumented.save(bytes, undefined)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    } finally {
      await everything.stop();
    }
    const readOnly = await new S3StandIn('state-bucket', [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' }]).start();
    try {
      const error = await at(readOnly.endpoint).save(bytes, undefined).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AwsRequestError);
      expect((error as Error).message).toMatch(/^S3 PutObject failed with HTTP 403 after \d attempt\(s\): AccessDenied: /);
    } finally {
      await readOnly.stop();
    }
  });
});
