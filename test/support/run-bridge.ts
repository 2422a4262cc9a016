import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');

export interface BridgeRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the real CLI (`inferwatch bridge ...`) as a child process, through tsx. */
export function spawnBridge(args: readonly string[], env: Record<string, string>): { child: ChildProcess; done: Promise<BridgeRun> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'lambda/bridge/cli.ts'), 'bridge', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<BridgeRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export async function runBridge(args: readonly string[], env: Record<string, string>): Promise<BridgeRun> {
  return spawnBridge(args, env).done;
}

/**
 * A remote-write proxy that forwards to a real receiver and, once armed, SIGKILLs the bridge the moment
 * the receiver has stored its request: the crash between remote write and state commit.
 */
export class KillAfterWriteProxy {
  private server: Server | undefined;
  victim: ChildProcess | undefined;
  writesForwarded = 0;

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/api/v1/write`;
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
      const upstream = await fetch(this.target, { method: 'POST', headers, body: Buffer.concat(chunks) });
      await upstream.text();
      this.writesForwarded += 1;
      if (this.victim) {
        this.victim.kill('SIGKILL');
        req.socket.destroy();
        return;
      }
      res.writeHead(upstream.status);
      res.end();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
