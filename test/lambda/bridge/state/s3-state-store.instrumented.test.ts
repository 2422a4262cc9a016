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

  test('the lease is an object of its own, written with If-None-Match then If-Match: a stale claim loses, the state is not touched', async () => {
    const s3 = await new S3StandIn('state-bucket', [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'], Resource: '*' }]).start();
    try {
      const store = at(s3.endpoint);
      expect(await store.loadLease()).toEqual({ journal: undefined, version: undefined });
      const journal = { id: 'j1', base: 1_800_000_000_000, leaseUntil: 1_800_000_240_000, holder: 'host/boot/7' };
      const claimed = await store.saveLease(journal, undefined);
      // A second run that read "no lease" loses with If-None-Match: *; one holding the old ETag loses with If-Match.
      await expect(store.saveLease(journal, undefined)).rejects.toBeInstanceOf(ConcurrentUpdateError);
      expect(await store.loadLease()).toEqual({ journal, version: claimed });
      const released = await store.saveLease(undefined, claimed);
      await expect(store.saveLease(journal, claimed)).rejects.toThrow('state at s3://state-bucket/inferwatch/bridge-state.json.lease was changed by another cycle');
      expect(await store.loadLease()).toEqual({ journal: undefined, version: released });
      expect([...s3.objects.keys()]).toEqual(['inferwatch/bridge-state.json.lease']);
      expect(s3.objects.get('inferwatch/bridge-state.json.lease')?.body.toString()).toBe('{}');
    } finally {
      await s3.stop();
    }
  });
});
