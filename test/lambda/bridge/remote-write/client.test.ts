import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ampRegion,
  basicAuth,
  bearerAuth,
  classifyRejection,
  noAuth,
  parseRetryAfter,
  RemoteWriteClient,
  RemoteWriteError,
  sigv4Auth,
  type RemoteWriteClientOptions,
} from '../../../../lambda/bridge/remote-write/client';

type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'hang-up';

/** A receiver that answers each request with the next scripted reply and records what it got. */
class ScriptedReceiver {
  readonly requests: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
  private server: Server | undefined;
  constructor(private readonly replies: Reply[]) {}
  get url() {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/api/v1/write`;
  }
  async start() {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      this.requests.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const reply = this.replies.shift() ?? { status: 204 };
      if (reply === 'hang-up') {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? '');
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    return this;
  }
  async stop() {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

const body = new Uint8Array([1, 2, 3]);

function client(url: string, overrides: Partial<RemoteWriteClientOptions> = {}) {
  const sleeps: number[] = [];
  const c = new RemoteWriteClient({
    url,
    authorize: noAuth(),
    timeoutMs: 2000,
    maxAttempts: 5,
    deadline: () => Date.now() + 60_000,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 1,
    ...overrides,
  });
  return { c, sleeps };
}

describe('RemoteWriteClient', () => {
  test('sends the remote-write 1.0 headers and body', async () => {
    const receiver = await new ScriptedReceiver([{ status: 204 }]).start();
    const result = await client(receiver.url).c.send(body);
    await receiver.stop();
    expect(result).toEqual({ status: 'ok', attempts: 1 });
    expect(receiver.requests[0]?.headers).toMatchObject({
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': expect.stringMatching(/^inferwatch-bridge\//),
    });
    expect([...(receiver.requests[0]?.body ?? [])]).toEqual([1, 2, 3]);
  });

  test('retries 5xx, 429 and dropped connections with exponential backoff, honouring Retry-After', async () => {
    const receiver = await new ScriptedReceiver([{ status: 503 }, 'hang-up', { status: 429, headers: { 'retry-after': '7' } }, { status: 500 }, { status: 200 }]).start();
    const retries: string[] = [];
    const { c, sleeps } = client(receiver.url, { onRetry: (i) => retries.push(i.cause) });
    const result = await c.send(body);
    await receiver.stop();
    expect(result).toEqual({ status: 'ok', attempts: 5 });
    expect(sleeps).toEqual([250, 500, 7000, 2000]);
    expect(retries[0]).toContain('HTTP 503');
    expect(retries[1]).toContain('network error');
  });

  test('a 400 is not retried: it is returned with the receiver reason, classified', async () => {
    const receiver = await new ScriptedReceiver([{ status: 400, body: 'out of order sample' }]).start();
    const result = await client(receiver.url).c.send(body);
    await receiver.stop();
    expect(result).toEqual({ status: 'rejected', reason: 'out_of_order', message: 'out of order sample', attempts: 1 });
  });

  test("AMP's series-limit 429 is a rejection, not retried; its ingestion-rate 429 is retried", async () => {
    const limit = 'user=123456789012_ws-1: per-labelset series limit of 4000 for {account_id="123456789012"} exceeded';
    const receiver = await new ScriptedReceiver([{ status: 429, body: limit }, { status: 429, body: 'ingestion rate limit (6666.6) exceeded while adding 499 samples' }, { status: 204 }]).start();
    const { c, sleeps } = client(receiver.url);
    expect(await c.send(body)).toEqual({ status: 'rejected', reason: 'series_limit', message: limit, attempts: 1 });
    expect(sleeps).toEqual([]);
    expect(await c.send(body)).toEqual({ status: 'ok', attempts: 2 });
    await receiver.stop();
    expect(classifyRejection('per-user series limit (local limit: 0 global limit: 3000000) exceeded')).toBe('series_limit');
  });

  test('other 4xx fail at once with the status, the reason and a hint', async () => {
    const receiver = await new ScriptedReceiver([{ status: 403, body: 'User is not authorized to perform: aps:RemoteWrite' }]).start();
    const error = await client(receiver.url)
      .c.send(body)
      .catch((e: unknown) => e);
    await receiver.stop();
    expect(error).toBeInstanceOf(RemoteWriteError);
    expect((error as RemoteWriteError).status).toBe(403);
    expect((error as Error).message).toMatch(/HTTP 403: User is not authorized.*aps:RemoteWrite on this workspace/);
    expect(receiver.requests).toHaveLength(1);
  });

  test('gives up when the next wait would pass the deadline, or after maxAttempts', async () => {
    const receiver = await new ScriptedReceiver([{ status: 503 }, { status: 503 }, { status: 503 }]).start();
    const tight = client(receiver.url, { deadline: () => Date.now() + 1000 });
    await expect(tight.c.send(body)).rejects.toThrow(/gave up after 1 attempt\(s\): HTTP 503/);
    const few = client(receiver.url, { maxAttempts: 2 });
    await expect(few.c.send(body)).rejects.toThrow(/gave up after 2 attempt\(s\)/);
    await receiver.stop();
  });

  test('network errors are retried, then reported', async () => {
    const { c, sleeps } = client('http://127.0.0.1:1/api/v1/write', { maxAttempts: 3 });
    await expect(c.send(body)).rejects.toThrow(/gave up after 3 attempt\(s\): network error/);
    expect(sleeps).toHaveLength(2);
  });
});

describe('authorizers', () => {
  const request = { url: new URL('https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write'), headers: { 'Content-Type': 'application/x-protobuf' }, body };

  test('SigV4 signs for service aps in the workspace region, payload hashed', async () => {
    const headers = await sigv4Auth('eu-west-1', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' })(request);
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/aps\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/);
    expect(headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(headers['Content-Type']).toBe('application/x-protobuf');
  });

  test('basic and bearer', async () => {
    expect((await basicAuth('user', 'pa:ss')(request)).Authorization).toBe(`Basic ${Buffer.from('user:pa:ss').toString('base64')}`);
    expect((await bearerAuth('tok')(request)).Authorization).toBe('Bearer tok');
  });

  test('AMP URLs are recognised by host', () => {
    expect(ampRegion(request.url.toString())).toBe('eu-west-1');
    expect(ampRegion('http://127.0.0.1:9090/api/v1/write')).toBeUndefined();
  });
});

describe('helpers', () => {
  test.each([
    ['out of order sample', 'out_of_order'],
    ['duplicate sample for timestamp', 'duplicate'],
    ['out of bounds', 'too_old'],
    ['err: sample timestamp too old', 'too_old'],
    ['invalid label', 'bad_request'],
  ])('classifies %j as %s', (message, reason) => expect(classifyRejection(message)).toBe(reason));

  test('Retry-After as seconds or HTTP date', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});
