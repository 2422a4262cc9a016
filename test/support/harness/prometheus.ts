import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's `prometheus` on PATH, installing it with apt when missing and allowed (root); else a clear error. */
export function ensurePrometheus(log: (line: string) => void): void {
  if (spawnSync('prometheus', ['--version']).status === 0) return;
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) {
    throw new Error('Prometheus is not installed: run `sudo apt-get update && sudo apt-get install -y prometheus` (Debian/Ubuntu), or put a prometheus binary on PATH');
  }
  log('installing Debian\'s prometheus package (apt-get) ...');
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'prometheus']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed with exit code ${result.status}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface PromSeries {
  readonly metric: Record<string, string>;
  /** [epoch ms, value] */
  readonly values: Array<[number, number]>;
}

/** Debian's Prometheus, started on 127.0.0.1 with the remote-write receiver, in a throwaway data directory. */
export class LocalPrometheus {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'inferwatch-prom-'));
  private output = '';
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get remoteWriteUrl(): string {
    return `${this.url}/api/v1/write`;
  }

  /** Starts with `configText` as prometheus.yml (default: no scrape jobs, only the remote-write receiver). */
  async start(port?: number, extraArgs: string[] = [], configText = 'global:\n  scrape_interval: 1m\nscrape_configs: []\n'): Promise<this> {
    this.port = port ?? (await freePort());
    const config = join(this.dir, 'prometheus.yml');
    writeFileSync(config, configText);
    this.process = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--web.enable-remote-write-receiver',
        '--log.level=warn',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.process.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.process.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) throw new Error(`prometheus exited with ${this.process.exitCode}:\n${this.output}`);
      try {
        if ((await fetch(`${this.url}/-/ready`)).ok) return this;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`prometheus did not become ready on ${this.url}:\n${this.output}`);
  }

  /**
   * Replaces prometheus.yml and reloads it (SIGHUP). Scrape only after remote-writing the past: once the head holds
   * a scraped sample at now, Prometheus refuses samples more than about an hour older (out of bounds).
   */
  reload(configText: string): void {
    if (!this.process || this.process.exitCode !== null) throw new Error('prometheus is not running');
    writeFileSync(join(this.dir, 'prometheus.yml'), configText);
    this.process.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    if (this.process && this.process.exitCode === null) {
      const exited = new Promise((resolve) => this.process?.once('exit', resolve));
      this.process.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async api<T>(path: string, params: Record<string, string>): Promise<T> {
    const response = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`PromQL ${JSON.stringify(params)} failed: ${body.error}`);
    return body.data;
  }

  /** Instant vector at `timeMs`. */
  async query(promql: string, timeMs: number): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>('/api/v1/query', {
      query: promql,
      time: String(timeMs / 1000),
    });
    if (data.resultType !== 'vector') throw new Error(`expected a vector from ${promql}, got ${data.resultType}`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Raw samples of a range selector, e.g. `metric{...}[30m]`, evaluated at `timeMs`. */
  async rawSamples(selectorWithRange: string, timeMs: number): Promise<PromSeries[]> {
    const data = await this.api<{ resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>('/api/v1/query', {
      query: selectorWithRange,
      time: String(timeMs / 1000),
    });
    if (data.resultType !== 'matrix') throw new Error(`expected a matrix from ${selectorWithRange}, got ${data.resultType}`);
    return data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number]) }));
  }

  /**
   * Every sample the bridge forwarded (its own `inferwatch_bridge_*` series aside) over the 3 hours before `timeMs`,
   * keyed by each series' sorted labels: two receivers fed the same way compare equal.
   */
  async forwardedSamples(timeMs: number): Promise<Map<string, PromSeries['values']>> {
    const series = await this.rawSamples('{__name__=~".+",__name__!~"inferwatch_bridge_.*"}[3h]', timeMs);
    return new Map(series.map((s) => [JSON.stringify(Object.entries(s.metric).sort()), s.values]));
  }

  /** Range query; returns the matrix. */
  async queryRange(promql: string, startMs: number, endMs: number, stepSeconds: number): Promise<PromSeries[]> {
    const data = await this.api<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>('/api/v1/query_range', {
      query: promql,
      start: String(startMs / 1000),
      end: String(endMs / 1000),
      step: String(stepSeconds),
    });
    return data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number]) }));
  }

  async seriesNames(): Promise<string[]> {
    return this.api<string[]>('/api/v1/label/__name__/values', {});
  }
}
