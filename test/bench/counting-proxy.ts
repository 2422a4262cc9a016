import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A remote-write proxy in front of a real receiver that counts requests, body bytes and answers, and keeps no body:
 * a fleet-scale cycle sends hundreds of megabytes.
 */
export class CountingProxy {
  requests = 0;
  bytes = 0;
  /** Answers that were not 2xx, by status. */
  readonly refused = new Map<number, number>();
  private server: Server | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/api/v1/write`;
  }

  reset(): void {
    this.requests = 0;
    this.bytes = 0;
    this.refused.clear();
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
        if (isWrite) {
          this.requests += 1;
          this.bytes += body.length;
        }
        const headers: Record<string, string | number> = { 'content-length': body.length };
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
        const upstream = request({ host: target.hostname, port: target.port, path: isWrite ? target.pathname : req.url, method: req.method ?? 'POST', headers, agent: this.agent }, (answer) => {
          const status = answer.statusCode ?? 502;
          if (isWrite && (status < 200 || status > 299)) this.refused.set(status, (this.refused.get(status) ?? 0) + 1);
          res.writeHead(status, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', (error) => {
          this.refused.set(502, (this.refused.get(502) ?? 0) + 1);
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
