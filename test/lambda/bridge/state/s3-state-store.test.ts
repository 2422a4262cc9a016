import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { S3StateStore } from '../../../../lambda/bridge/state/s3-state-store';
import { ConcurrentUpdateError, emptyState } from '../../../../lambda/bridge/state/state';

const s3 = mockClient(S3Client);
const store = new S3StateStore(new S3Client({ region: 'us-east-1' }), 'state-bucket', 'inferwatch/bridge-state.json');
const stream = (text: string) => sdkStreamMixin(Readable.from([Buffer.from(text)]));

beforeEach(() => s3.reset());

describe('S3StateStore', () => {
  test('no object yet: no document and no version', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
    expect(await store.load()).toEqual({ document: undefined, version: undefined });
  });

  test('loads the document with its ETag', async () => {
    const document = { committed: { ...emptyState(), highWaterMark: 42 } };
    s3.on(GetObjectCommand).resolves({ Body: stream(JSON.stringify(document)), ETag: '"abc"' });
    expect(await store.load()).toEqual({ document, version: '"abc"' });
  });

  test('a corrupt document counts as lost state, keeping the ETag for the next conditional write', async () => {
    s3.on(GetObjectCommand).resolves({ Body: stream('{"committed": 1'), ETag: '"bad"' });
    expect(await store.load()).toEqual({ document: undefined, version: '"bad"' });
  });

  test('the first save is If-None-Match: *, later saves If-Match the ETag read', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"v2"' });
    expect(await store.save({ committed: emptyState() }, undefined)).toBe('"v2"');
    expect(await store.save({ committed: emptyState() }, '"v2"')).toBe('"v2"');
    const calls = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(calls[0]).toMatchObject({ Bucket: 'state-bucket', Key: 'inferwatch/bridge-state.json', IfNoneMatch: '*', ContentType: 'application/json' });
    expect(calls[0]?.IfMatch).toBeUndefined();
    expect(calls[1]).toMatchObject({ IfMatch: '"v2"' });
    expect(JSON.parse(String(calls[1]?.Body))).toEqual({ committed: emptyState() });
  });

  test.each([412, 409])('HTTP %i on save means another cycle got there first', async (status) => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: status } }));
    await expect(store.save({ committed: emptyState() }, '"old"')).rejects.toBeInstanceOf(ConcurrentUpdateError);
  });

  test('other errors pass through', async () => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));
    await expect(store.save({ committed: emptyState() }, '"old"')).rejects.toThrow('Access Denied');
  });
});
