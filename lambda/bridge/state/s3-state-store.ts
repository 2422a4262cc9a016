import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { sdkError } from '../aws-calls';
import { decodeLease, encodeLease, type LoadedLease } from './lease';
import type { JournalHeader } from './state';
import { ConcurrentUpdateError, type LoadedState, type StateStore } from './store';

function isMissing(failure: unknown): boolean {
  const error = sdkError(failure);
  return error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey';
}

/**
 * State in one S3 object. Writes are conditional on the ETag read (`If-Match`), or on the object not
 * existing yet (`If-None-Match: *`), so of two overlapping cycles only one commits. Journal records are
 * objects of their own under `<key>.journal/<id>/`, and the journal lease is `<key>.lease`, written the same way.
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
      return { bytes: (await response.Body?.transformToByteArray()) ?? new Uint8Array(), version: response.ETag };
    } catch (error) {
      if (isMissing(error)) return { bytes: undefined, version: undefined };
      throw error;
    }
  }

  async save(bytes: Uint8Array, expectedVersion: string | undefined): Promise<string> {
    return this.putConditional(this.key, bytes, 'application/octet-stream', expectedVersion);
  }

  async loadLease(): Promise<LoadedLease> {
    const location = `s3://${this.bucket}/${this.leaseKey}`;
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.leaseKey }));
      return { journal: decodeLease((await response.Body?.transformToByteArray()) ?? new Uint8Array(), location), version: response.ETag };
    } catch (error) {
      if (isMissing(error)) return { journal: undefined, version: undefined };
      throw error;
    }
  }

  async saveLease(journal: JournalHeader | undefined, expectedVersion: string | undefined): Promise<string> {
    return this.putConditional(this.leaseKey, encodeLease(journal), 'application/json', expectedVersion);
  }

  private get leaseKey(): string {
    return `${this.key}.lease`;
  }

  /** PutObject with `If-Match` on the version read, or `If-None-Match: *` when there was none. */
  private async putConditional(key: string, bytes: Uint8Array, contentType: string, expectedVersion: string | undefined): Promise<string> {
    const location = `s3://${this.bucket}/${key}`;
    try {
      const response = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          ContentType: contentType,
          ...(expectedVersion === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
        }),
      );
      if (!response.ETag) throw new Error(`S3 returned no ETag for ${location}`);
      return response.ETag;
    } catch (failure) {
      const error = sdkError(failure);
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // 412: the precondition failed; 409: a concurrent conditional write to the same key is in flight.
      if (status === 412 || status === 409 || (error as { name?: string }).name === 'PreconditionFailed') throw new ConcurrentUpdateError(location);
      throw failure;
    }
  }

  private journalKey(id: string, seq: number): string {
    return `${this.key}.journal/${id}/${seq}`;
  }

  async appendJournal(id: string, seq: number, record: Uint8Array): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.journalKey(id, seq), Body: record, ContentType: 'application/octet-stream' }));
  }

  async readJournal(id: string, seq: number): Promise<Uint8Array | undefined> {
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.journalKey(id, seq) }));
      return (await response.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async clearJournal(id: string, records: number): Promise<void> {
    // DeleteObjects takes up to 1,000 keys a call.
    for (let from = 0; from < records; from += 1000) {
      const keys = Array.from({ length: Math.min(1000, records - from) }, (_, i) => ({ Key: this.journalKey(id, from + i) }));
      await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
    }
  }

  async moveAside(suffix: string): Promise<string | undefined> {
    const target = `${this.key}.${suffix}`;
    try {
      await this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: target, CopySource: `${this.bucket}/${encodeURIComponent(this.key).replace(/%2F/g, '/')}` }));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    return `s3://${this.bucket}/${target}`;
  }
}
