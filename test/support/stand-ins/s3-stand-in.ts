import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listenOnLoopback } from '../harness/local-server';

/** An identity-policy statement, as IAM stores it (values already resolved: no CloudFormation intrinsics). */
export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * A local S3 (REST, path-style or virtual-hosted) for one bucket, that authorizes every request against the
 * caller's identity policy the way S3 does, errors included:
 *
 * - GetObject needs `s3:GetObject` on the object. A missing key answers 404 `NoSuchKey` only when the caller
 *   also has `s3:ListBucket` on the bucket; otherwise 403 `AccessDenied`, so that the caller learns nothing
 *   about which keys exist. That check carries no `s3:prefix` (it is not a ListObjects request), so a
 *   ListBucket grant conditioned on a prefix does not count;
 * - PutObject needs `s3:PutObject`. `If-None-Match: *` on an existing key answers 412 `PreconditionFailed`.
 *   `If-Match` also needs `s3:GetObject`, answers 412 on another ETag, and on a missing key the same
 *   404-or-403 as GetObject.
 * - DeleteObjects (`POST /?delete`) needs a Content-MD5 or checksum header (400 otherwise), and `s3:DeleteObject` on
 *   each key: a key without it is an `AccessDenied` entry in a 200 answer, not a failed request. A missing key
 *   counts as deleted; `Quiet` leaves the deleted keys out of the answer.
 *
 * Signatures are not checked: the policy under test stands for the caller.
 */
export class S3StandIn {
  readonly objects = new Map<string, StoredObject>();
  readonly requests: Array<{ method: string; key: string; status: number }> = [];
  private server: Server | undefined;

  constructor(
    readonly bucket: string,
    private readonly policy: readonly PolicyStatement[],
    private readonly partition = 'aws',
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.error(res, 500, 'InternalError', String(error), ''));
    });
    await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Whether the policy allows `action` on `resource`, given the request's condition keys. An explicit Deny wins. */
  allows(action: string, resource: string, context: Readonly<Record<string, string>> = {}): boolean {
    const applies = (s: PolicyStatement) =>
      [s.Action].flat().some((a) => glob(a.toLowerCase()).test(action.toLowerCase())) && [s.Resource].flat().some((r) => glob(r).test(resource)) && conditionHolds(s.Condition, context);
    if (this.policy.some((s) => s.Effect === 'Deny' && applies(s))) return false;
    return this.policy.some((s) => s.Effect === 'Allow' && applies(s));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const host = (req.headers.host ?? '').split(':')[0] ?? '';
    let path = decodeURIComponent(url.pathname).replace(/^\//, '');
    if (!host.startsWith(`${this.bucket}.`)) {
      const [bucket, ...rest] = path.split('/');
      if (bucket !== this.bucket) return this.error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', path);
      path = rest.join('/');
    }
    const key = path;
    const objectArn = `arn:${this.partition}:s3:::${this.bucket}/${key}`;
    const missingKey = () =>
      // Without ListBucket, S3 will not say whether the key exists.
      this.allows('s3:ListBucket', `arn:${this.partition}:s3:::${this.bucket}`)
        ? this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.', key)
        : this.error(res, 403, 'AccessDenied', 'Access Denied', key);
    const body = await readBody(req);

    if (req.method === 'GET' && key !== '') {
      if (!this.allows('s3:GetObject', objectArn)) return this.error(res, 403, 'AccessDenied', 'Access Denied', key);
      const object = this.objects.get(key);
      if (!object) return missingKey();
      this.record(req, key, 200);
      res.writeHead(200, { ETag: object.etag, 'Content-Length': object.body.length, 'Content-Type': 'application/octet-stream' }).end(object.body);
      return;
    }
    if (req.method === 'PUT' && key !== '') {
      const ifMatch = req.headers['if-match'];
      const ifNoneMatch = req.headers['if-none-match'];
      if (!this.allows('s3:PutObject', objectArn) || (ifMatch !== undefined && !this.allows('s3:GetObject', objectArn))) {
        return this.error(res, 403, 'AccessDenied', 'Access Denied', key);
      }
      const current = this.objects.get(key);
      if (ifNoneMatch !== undefined && ifNoneMatch !== '*') return this.error(res, 501, 'NotImplemented', 'If-None-Match accepts only *', key);
      if (ifNoneMatch === '*' && current) return this.error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', key);
      if (ifMatch !== undefined && !current) return missingKey();
      if (ifMatch !== undefined && current?.etag !== ifMatch) return this.error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', key);
      const content = isAwsChunked(req) ? decodeAwsChunked(body) : body;
      const etag = `"${createHash('md5').update(content).digest('hex')}"`;
      this.objects.set(key, { body: content, etag });
      this.record(req, key, 200);
      res.writeHead(200, { ETag: etag, 'Content-Length': 0 }).end();
      return;
    }
    if (req.method === 'POST' && key === '' && url.searchParams.has('delete')) {
      const checksummed = req.headers['content-md5'] !== undefined || Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-'));
      if (!checksummed) return this.error(res, 400, 'InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*', key);
      const xml = body.toString('utf8');
      const quiet = /<Quiet>\s*true\s*<\/Quiet>/.test(xml);
      const results = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map(([, escaped]) => {
        const name = xmlUnescape(escaped ?? '');
        if (!this.allows('s3:DeleteObject', `arn:${this.partition}:s3:::${this.bucket}/${name}`)) return `<Error><Key>${xmlEscape(name)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`;
        this.objects.delete(name);
        return quiet ? '' : `<Deleted><Key>${xmlEscape(name)}</Key></Deleted>`;
      });
      this.record(req, key, 200);
      const answer = `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${results.join('')}</DeleteResult>`;
      res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(answer) }).end(answer);
      return;
    }
    return this.error(res, 501, 'NotImplemented', `${req.method} ${url.pathname} is not part of this stand-in`, key);
  }

  private record(req: IncomingMessage, key: string, status: number): void {
    this.requests.push({ method: req.method ?? '', key, status });
  }

  private error(res: ServerResponse, status: number, code: string, message: string, key: string): void {
    this.requests.push({ method: res.req.method ?? '', key, status });
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Key>${key}</Key><RequestId>STANDIN</RequestId><HostId>STANDIN</HostId></Error>`;
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) }).end(xml);
  }
}

function xmlUnescape(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, entity: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[entity] ?? '');
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** IAM wildcards: `*` any run of characters, `?` one. */
function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** A condition on a key the request does not carry is false (no `...IfExists` operators here), as in IAM. */
function conditionHolds(condition: PolicyStatement['Condition'], context: Readonly<Record<string, string>>): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    for (const [name, expected] of Object.entries(entries)) {
      const actual = context[name];
      if (actual === undefined) return false;
      const values = [expected].flat();
      if (operator === 'StringEquals' && !values.includes(actual)) return false;
      if (operator === 'StringLike' && !values.some((v) => glob(v).test(actual))) return false;
      if (operator !== 'StringEquals' && operator !== 'StringLike') throw new Error(`S3StandIn: condition operator ${operator} is not implemented`);
    }
  }
  return true;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function isAwsChunked(req: IncomingMessage): boolean {
  return String(req.headers['content-encoding'] ?? '').includes('aws-chunked') || String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
}

/** The SDK streams checksummed uploads as `aws-chunked`: `<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n\r\n`. */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new Error('aws-chunked body ends without a final chunk');
    const size = parseInt(body.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) throw new Error('aws-chunked body has a malformed chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}
