import { spawn, type ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { RecordingReceiver } from './recording-receiver';

export const REPO_ROOT = join(__dirname, '..', '..', '..');

export interface BridgeRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the real CLI (`inferwatch bridge ...`) as a child process, through tsx. */
export function spawnBridge(args: readonly string[], env: Record<string, string>): { child: ChildProcess; done: Promise<BridgeRun> } {
  return spawnCli(['bridge', ...args], env);
}

/** Runs `inferwatch <args>` (any command) to completion. */
export async function runCli(args: readonly string[], env: Record<string, string>): Promise<BridgeRun> {
  return spawnCli(args, env).done;
}

function spawnCli(args: readonly string[], env: Record<string, string>): { child: ChildProcess; done: Promise<BridgeRun> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli/main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // A chunk may end inside a multi-byte character (label values in Japanese): decode as text, not chunk by chunk.
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<BridgeRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export async function runBridge(args: readonly string[], env: Record<string, string>): Promise<BridgeRun> {
  return spawnBridge(args, env).done;
}

/** Forwards a request that is not a remote write (a query) to the same path on the target's host. */
async function forwardOther(target: string, body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', target);
  const upstream = await fetch(url, { method: req.method, headers: { 'content-type': String(req.headers['content-type'] ?? 'application/x-www-form-urlencoded') }, body: req.method === 'GET' ? undefined : body });
  res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(await upstream.text());
}

/** A remote-write proxy in front of a real receiver: writes are forwarded by `forward`, anything else (queries) as it is. */
abstract class ForwardingProxy extends RecordingReceiver {
  constructor(protected readonly target: string) {
    super();
  }

  protected override other(body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    return forwardOther(this.target, body, req, res);
  }

  /** Stores the request in the real receiver; returns its answer. */
  protected async forward(body: Buffer, req: IncomingMessage): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
    const upstream = await fetch(this.target, { method: 'POST', headers, body });
    return { status: upstream.status, text: await upstream.text() };
  }
}

/**
 * A remote-write proxy that forwards to a real receiver and, once armed, SIGKILLs the bridge the moment
 * the receiver has stored its request: the crash between remote write and state commit.
 */
export class KillAfterWriteProxy extends ForwardingProxy {
  victim: ChildProcess | undefined;

  get writesForwarded(): number {
    return this.bodies.length;
  }

  protected override async respond(body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { status } = await this.forward(body, req);
    if (this.victim) {
      this.victim.kill('SIGKILL');
      req.socket.destroy();
      return;
    }
    res.writeHead(status).end();
  }
}

/**
 * A remote-write proxy that forwards to a real receiver, and for the first `lose` requests drops the connection
 * after the receiver has stored the request: a response lost on the way back, which the sender retries.
 */
export class LoseResponseProxy extends ForwardingProxy {
  constructor(
    target: string,
    private lose: number,
  ) {
    super(target);
  }

  protected override async respond(body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { status, text } = await this.forward(body, req);
    if (this.lose > 0) {
      this.lose -= 1;
      req.socket.destroy();
      return;
    }
    res.writeHead(status).end(text);
  }
}
