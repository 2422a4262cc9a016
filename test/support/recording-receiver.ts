import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest } from '../../lambda/bridge/remote-write/encode';

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
      this.bodies.push(Buffer.concat(chunks));
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Every series received, decoded. */
  series(): ReturnType<typeof decodeWriteRequest> {
    return this.bodies.flatMap((body) => decodeWriteRequest(body));
  }
}
