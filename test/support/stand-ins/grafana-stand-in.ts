import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOnLoopback } from '../harness/local-server';

/** Grafana's HTTP API, recording requests; replies are scripted per "METHOD path", defaulting to 200 {}. */
export class GrafanaStandIn {
  readonly requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders; body: unknown }> = [];
  readonly replies = new Map<string, Array<{ status: number; body?: unknown }>>();
  /** When set, any other bearer token gets Grafana's 401, as a service-account token that expired does. */
  token: string | undefined;
  private server: Server | undefined;
  get url() {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }
  reply(route: string, ...replies: Array<{ status: number; body?: unknown }>) {
    this.replies.set(route, replies);
  }
  async start() {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString();
      this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined });
      const unauthorized = this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`;
      const reply = unauthorized ? { status: 401, body: { message: 'Invalid API key' } } : (this.replies.get(`${req.method} ${req.url}`)?.shift() ?? { status: 200, body: {} });
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body ?? {}));
    });
    await listenOnLoopback(this.server);
    return this;
  }
  async stop() {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}
