import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConcurrentUpdateError, parseStateDocument, type LoadedState, type StateDocument, type StateStore } from './state';

/**
 * State in one S3 object. Writes are conditional on the ETag read (`If-Match`), or on the object not
 * existing yet (`If-None-Match: *`), so of two overlapping cycles only one commits.
 */
export class S3StateStore implements StateStore {
  readonly location: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
  ) {
    this.location = `s3://${bucket}/${key}`;
  }

  async load(): Promise<LoadedState> {
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key }));
      const text = (await response.Body?.transformToString('utf8')) ?? '';
      return { document: parseStateDocument(text), version: response.ETag };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return { document: undefined, version: undefined };
      throw error;
    }
  }

  async save(document: StateDocument, expectedVersion: string | undefined): Promise<string> {
    try {
      const response = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Body: JSON.stringify(document),
          ContentType: 'application/json',
          ...(expectedVersion === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
        }),
      );
      if (!response.ETag) throw new Error(`S3 returned no ETag for ${this.location}`);
      return response.ETag;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // 412: the precondition failed; 409: a concurrent conditional write to the same key is in flight.
      if (status === 412 || status === 409 || (error as { name?: string }).name === 'PreconditionFailed') throw new ConcurrentUpdateError(this.location);
      throw error;
    }
  }
}
