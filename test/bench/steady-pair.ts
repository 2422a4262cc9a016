/**
 * Two builds of the bridge on the same steady cycle, alternately, for a before/after comparison on a shared machine:
 * one stand-in fleet (50 ms latency), one first cycle, then the steady cycle run again and again from a copy of the
 * state the first cycle left, each run against a fresh Prometheus (the same samples twice would be refused as out of
 * order), each build in turn. Prints per run the bridge process's own CPU (user + system, from the bench preload) and
 * peak RSS; the stand-in runs in this process, not in the bridge's.
 *
 *   npx tsx test/bench/steady-pair.ts --roots /tmp/before,. --variants 10000 --runs 4
 *
 * A root is a checkout with `npm run build` done (dist/cli/main.js and dist/test/bench/preload.js) and node_modules;
 * `git archive <commit> | tar -x -C /tmp/before` and a node_modules symlink make one of an older commit. The first
 * cycle runs with the last root.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { fleetOf } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import type { UsageReport } from './preload';

const MINUTE = 60_000;

interface Run {
  readonly code: number | null;
  readonly cpuS: number;
  readonly rssMiB: number;
  readonly wallS: number;
}

async function runBridge(root: string, args: readonly string[], env: NodeJS.ProcessEnv, work: string): Promise<Run> {
  const usageFile = join(work, `usage-${Date.now()}.json`);
  const started = Date.now();
  const child = spawn(process.execPath, ['--max-old-space-size=153', '-r', join(root, 'dist/test/bench/preload.js'), join(root, 'dist/cli/main.js'), ...args], {
    env: { ...env, BENCH_USAGE_FILE: usageFile },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as UsageReport;
  return { code, cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6, rssMiB: usage.maxRSS / 1024, wallS: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const opts = new Command('steady-pair')
    .requiredOption('--roots <list>', 'built checkouts, comma-separated')
    .option('--variants <n>', 'fleet size', '10000')
    .option('--runs <n>', 'steady runs in all (the roots in turn)', '4')
    .parse(process.argv)
    .opts<{ roots: string; variants: string; runs: string }>();
  const roots = opts.roots.split(',').map((r) => resolve(r));
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-steady-pair-'));
  const standIn = await new AwsStandIn(fleetOf(Number(opts.variants)), { latencyMs: 50, recordBodies: false }).start();
  const state = join(work, 'state');
  const saved = join(work, 'saved');
  const config = join(work, 'inferwatch.yaml');
  const env = { ...process.env, ...standIn.env(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
  const args = (now: number) => ['bridge', '--once', '--now', String(now), '--config', config, '--state-dir', state];
  const print = (label: string, run: Run) => process.stdout.write(`${label}: exit ${run.code}, CPU ${run.cpuS.toFixed(1)} s, peak RSS ${run.rssMiB.toFixed(0)} MiB, wall ${run.wallS.toFixed(1)} s\n`);
  const withPrometheus = async <T>(body: () => Promise<T>): Promise<T> => {
    const prometheus = new LocalPrometheus();
    await prometheus.start();
    writeFileSync(config, `accountId: "123456789012"\nsettle: 120\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
    try {
      return await body();
    } finally {
      await prometheus.stop();
    }
  };
  try {
    mkdirSync(state);
    const last = roots[roots.length - 1] as string;
    print(`first, ${last}`, await withPrometheus(() => runBridge(last, args(t0), env, work)));
    cpSync(state, saved, { recursive: true });
    for (let i = 0; i < Number(opts.runs); i++) {
      const root = roots[i % roots.length] as string;
      rmSync(state, { recursive: true });
      cpSync(saved, state, { recursive: true });
      print(`steady, ${root}`, await withPrometheus(() => runBridge(root, args(t0 + 5 * MINUTE), env, work)));
    }
  } finally {
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`steady-pair failed: ${error.stack}\n`);
  process.exit(1);
});
