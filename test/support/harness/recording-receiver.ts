import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest } from '../../../lambda/bridge/remote-write/encode';
import { closeServer, listenOnLoopback } from './local-server';

/** A remote-write receiver that accepts everything (204) and keeps the request bodies. */
export class RecordingReceiver {
  readonly bodies: Buffer[] = [];
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/api/v1/write`;
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      // Like a real receiver, only the write path takes remote write; anything else (a query) is answered apart.
      if (!/\/api\/v1\/(remote_)?write$/.test(new URL(req.url ?? '/', 'http://x').pathname)) return this.other(body, req, res);
      this.bodies.push(body);
      await this.respond(body, req, res);
    });
    await listenOnLoopback(this.server);
    return this;
  }

  /** Requests to other paths: 404, as Prometheus answers a path it does not serve. */
  protected async other(_body: Buffer, _req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.writeHead(404).end('404 page not found');
  }

  /** Accepts everything; subclasses answer otherwise. */
  protected async respond(_body: Buffer, _req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.writeHead(204).end();
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Every series received, decoded. */
  series(): ReturnType<typeof decodeWriteRequest> {
    return this.bodies.flatMap((body) => decodeWriteRequest(body));
  }
}
