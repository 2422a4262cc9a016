import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listenOnLoopback } from '../harness/local-server';
import { SigV4Refusal, verifySigV4 } from './sigv4-verifier';

/** The verifier's refusals as STS's Query protocol names them ("Common Errors" of the STS API reference). */
const STS_ERROR_CODES: Readonly<Record<string, string>> = {
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  UnrecognizedClientException: 'InvalidClientTokenId',
  InvalidSignatureException: 'SignatureDoesNotMatch',
};

/**
 * STS's AssumeRole (Query protocol, form body, XML answer), on 127.0.0.1, reached through AWS_ENDPOINT_URL_STS. Like
 * AWS it recomputes the SigV4 signature (service `sts`, the region, the caller's key) from what arrived and refuses a
 * mismatch with 403; the session it hands out is the one it is given (the AMP stand-in's key, as the writer role's would be).
 */
export class StsStandIn {
  private server: Server | undefined;
  readonly calls: Array<{ action: string; roleArn: string; accessKey: string; region: string; service: string; valid: boolean }> = [];

  constructor(
    private readonly region: string,
    private readonly caller: { accessKeyId: string; secretAccessKey: string },
    /** What AssumeRole hands out: the credentials the assumed role's callee (e.g. the AMP stand-in) accepts. */
    private readonly session: { accessKeyId: string; secretAccessKey: string },
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const form = new URLSearchParams(body.toString('utf8'));
    const call = { action: form.get('Action') ?? '', roleArn: form.get('RoleArn') ?? '', accessKey: '', region: '', service: '', valid: false };
    this.calls.push(call);
    try {
      Object.assign(call, await verifySigV4(req, new URL(req.url ?? '/', 'http://sts'), body, { service: 'sts', region: this.region, credentials: this.caller }), { valid: true });
    } catch (error) {
      if (!(error instanceof SigV4Refusal)) throw error;
      res.writeHead(403, { 'content-type': 'text/xml' });
      return void res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>${STS_ERROR_CODES[error.code] ?? error.code}</Code><Message>${error.message}</Message></Error></ErrorResponse>`);
    }
    if (form.get('Action') !== 'AssumeRole' || !form.get('RoleArn') || !form.get('RoleSessionName')) {
      res.writeHead(400, { 'content-type': 'text/xml' });
      return void res.end('<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>AssumeRole needs RoleArn and RoleSessionName</Message></Error></ErrorResponse>');
    }
    const session = form.get('RoleSessionName');
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${this.session.accessKeyId}</AccessKeyId><SecretAccessKey>${this.session.secretAccessKey}</SecretAccessKey><SessionToken>writer-session</SessionToken><Expiration>${new Date(Date.now() + 3600_000).toISOString()}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAWRITER:${session}</AssumedRoleId><Arn>${form.get('RoleArn')?.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/${session}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>sts-${this.calls.length}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  }
}
