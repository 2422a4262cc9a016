import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { S3StateStore } from '../../../../lambda/bridge/state/s3-state-store';
import { ConcurrentUpdateError } from '../../../../lambda/bridge/state/store';

const s3 = mockClient(S3Client);
const store = new S3StateStore(new S3Client({ region: 'us-east-1' }), 'state-bucket', 'inferwatch/bridge-state.json');
const stream = (data: Buffer) => sdkStreamMixin(Readable.from([data]));
const bytes = new Uint8Array(Buffer.from('IWS2 state bytes'));

beforeEach(() => s3.reset());

describe('S3StateStore', () => {
  test('no object yet: no bytes and no version', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
    expect(await store.load()).toEqual({ bytes: undefined, version: undefined });
  });

  test('loads the bytes with their ETag', async () => {
    s3.on(GetObjectCommand).resolves({ Body: stream(Buffer.from(bytes)), ETag: '"abc"' });
    const loaded = await store.load();
    expect(Buffer.from(loaded.bytes as Uint8Array)).toEqual(Buffer.from(bytes));
    expect(loaded.version).toBe('"abc"');
  });

  test('the first save is If-None-Match: *, later saves If-Match the ETag read', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"v2"' });
    expect(await store.save(bytes, undefined)).toBe('"v2"');
    expect(await store.save(bytes, '"v2"')).toBe('"v2"');
    const calls = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(calls[0]).toMatchObject({ Bucket: 'state-bucket', Key: 'inferwatch/bridge-state.json', IfNoneMatch: '*' });
    expect(calls[0]?.IfMatch).toBeUndefined();
    expect(calls[1]).toMatchObject({ IfMatch: '"v2"' });
  });

  test.each([412, 409])('HTTP %i on save means another cycle got there first', async (status) => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: status } }));
    await expect(store.save(bytes, '"old"')).rejects.toBeInstanceOf(ConcurrentUpdateError);
  });

  test('other errors pass through', async () => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));
    await expect(store.save(bytes, '"old"')).rejects.toThrow('Access Denied');
  });

  test('journal records are objects beside the state; a missing one ends the journal; clearing deletes them in one call', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"r"' });
    s3.on(GetObjectCommand, { Key: 'inferwatch/bridge-state.json.journal/j1/0' }).resolves({ Body: stream(Buffer.from('r0')) });
    s3.on(GetObjectCommand, { Key: 'inferwatch/bridge-state.json.journal/j1/1' }).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    await store.appendJournal('j1', 0, bytes);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Key: 'inferwatch/bridge-state.json.journal/j1/0' });
    expect(Buffer.from((await store.readJournal('j1', 0)) as Uint8Array).toString()).toBe('r0');
    expect(await store.readJournal('j1', 1)).toBeUndefined();
    await store.clearJournal('j1', 2);
    expect(s3.commandCalls(DeleteObjectsCommand)[0]?.args[0].input.Delete?.Objects).toEqual([
      { Key: 'inferwatch/bridge-state.json.journal/j1/0' },
      { Key: 'inferwatch/bridge-state.json.journal/j1/1' },
    ]);
  });

  test('moveAside copies the state to a key beside it', async () => {
    s3.on(CopyObjectCommand).resolves({});
    expect(await store.moveAside('reset-1')).toBe('s3://state-bucket/inferwatch/bridge-state.json.reset-1');
    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toMatchObject({ CopySource: 'state-bucket/inferwatch/bridge-state.json', Key: 'inferwatch/bridge-state.json.reset-1' });
  });
});
