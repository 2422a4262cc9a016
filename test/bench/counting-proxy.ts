import { createHash } from 'node:crypto';
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest } from '../../lambda/bridge/remote-write/encode';

/**
 * A remote-write proxy in front of a real receiver that counts requests, body bytes and answers, and keeps no body:
 * a fleet-scale cycle sends hundreds of megabytes. It keeps each body's digest, to tell a retry from a first attempt:
 * a request whose first attempt was stored but whose answer was lost (the bridge's timeout) is refused on its retry
 * (HTTP 400, out of order: its samples are already there), which loses nothing and is no refusal of data.
 */
export class CountingProxy {
  requests = 0;
  bytes = 0;
  /** Requests whose body was forwarded before (the bridge's retries, or a journal replay). */
  retries = 0;
  /** Answers that were not 2xx to a first attempt, by status: samples the receiver did not take. */
  readonly refused = new Map<number, number>();
  /** Answers that were not 2xx to a retry, by status: with 400, an earlier attempt was stored. */
  readonly refusedRetries = new Map<number, number>();
  /** Digests of every body forwarded, across `reset()`: a journal replay comes a cycle later. */
  private readonly seen = new Set<string>();
  private server: Server | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/api/v1/write`;
  }

  reset(): void {
    this.requests = 0;
    this.bytes = 0;
    this.retries = 0;
    this.refused.clear();
    this.refusedRetries.clear();
  }

  async start(): Promise<this> {
    const target = new URL(this.target);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        // Only remote writes are counted; other paths (the bridge's query after a loss of state) go to the same path upstream.
        const isWrite = (req.url ?? '').startsWith('/api/v1/write');
        let retry = false;
        if (isWrite) {
          this.requests += 1;
          this.bytes += body.length;
          const digest = createHash('sha1').update(body).digest('base64');
          // The bridge sends its families' metadata once a cycle, the same bytes each time: no samples, so no retry.
          // Only a body seen before is decoded, so the hundreds of megabytes of a catch-up are not.
          retry = this.seen.has(digest) && decodeWriteRequest(body).length > 0;
          if (retry) this.retries += 1;
          else this.seen.add(digest);
        }
        const count = (status: number) => {
          const into = retry ? this.refusedRetries : this.refused;
          into.set(status, (into.get(status) ?? 0) + 1);
        };
        const headers: Record<string, string | number> = { 'content-length': body.length };
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
        const upstream = request({ host: target.hostname, port: target.port, path: isWrite ? target.pathname : req.url, method: req.method ?? 'POST', headers, agent: this.agent }, (answer) => {
          const status = answer.statusCode ?? 502;
          if (isWrite && (status < 200 || status > 299)) count(status);
          res.writeHead(status, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', (error) => {
          if (isWrite) count(502);
          res.writeHead(502).end(error.message);
        });
        upstream.end(body);
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    this.agent.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
