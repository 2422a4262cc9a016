import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listenOnLoopback } from '../harness/local-server';

/**
 * The instance metadata service as an EC2 host sees it, on 127.0.0.1: IMDSv2 only (a GET without the session token
 * is 401, as on a host with `requireImdsv2`), the instance identity document the `ec2` resource detector reads, and
 * the instance profile's credentials the SDK's default chain falls back to. The AWS SDK reaches it through
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, the one variable the tests add to the host's environment: without it, the
 * collector would ask the link-local address, which is not this machine's.
 */
export class ImdsStandIn {
  private server: Server | undefined;
  readonly paths: string[] = [];
  private readonly token = 'imds-session-token';

  constructor(
    private readonly credentials: { accessKeyId: string; secretAccessKey: string },
    private readonly host: { accountId: string; region: string; instanceId: string },
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.paths.push(`${req.method} ${path}`);
      if (req.method === 'PUT' && path === '/latest/api/token') {
        const ttl = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
        if (typeof ttl !== 'string' || !/^\d+$/.test(ttl) || Number(ttl) < 1 || Number(ttl) > 21600) return void res.writeHead(400).end();
        return void res.writeHead(200, { 'content-type': 'text/plain', 'x-aws-ec2-metadata-token-ttl-seconds': ttl }).end(this.token);
      }
      if (req.headers['x-aws-ec2-metadata-token'] !== this.token) return void res.writeHead(401).end();
      const role = 'inferwatch-neuron-host';
      const answers: Record<string, string> = {
        '/latest/dynamic/instance-identity/document': JSON.stringify({
          accountId: this.host.accountId,
          architecture: 'x86_64',
          availabilityZone: `${this.host.region}a`,
          imageId: 'ami-0123456789abcdef0',
          instanceId: this.host.instanceId,
          instanceType: 'inf1.xlarge',
          pendingTime: '2026-12-01T00:00:00Z',
          privateIp: '10.0.0.12',
          region: this.host.region,
          version: '2017-09-30',
        }),
        '/latest/meta-data/hostname': `ip-10-0-0-12.${this.host.region}.compute.internal`,
        '/latest/meta-data/iam/security-credentials/': role,
        [`/latest/meta-data/iam/security-credentials/${role}`]: JSON.stringify({
          Code: 'Success',
          Type: 'AWS-HMAC',
          AccessKeyId: this.credentials.accessKeyId,
          SecretAccessKey: this.credentials.secretAccessKey,
          Token: 'instance-profile-session',
          Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
          LastUpdated: new Date().toISOString(),
        }),
      };
      const answer = answers[path];
      if (answer === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': path.startsWith('/latest/dynamic') || path.includes(`/${role}`) ? 'application/json' : 'text/plain' }).end(answer);
    });
    await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}
