/**
 * Two builds of the bridge on the same steady cycle, alternately, for a before/after comparison on a shared machine:
 * one stand-in fleet (50 ms latency), one first cycle, then the steady cycle run again and again from a copy of the
 * state the first cycle left, each run against a fresh Prometheus (the same samples twice would be refused as out of
 * order), each build in turn. Prints per run the bridge process's own CPU (user + system, from the bench preload) and
 * peak RSS; the stand-in runs in this process, not in the bridge's.
 *
 *   npx tsx test/bench/steady-pair.ts --roots /tmp/before,. --variants 10000 --runs 4
 *
 * `--read full` (the default) is the bench's "steady, at the CPU share" cycle: a counters-only cycle 5 minutes after
 * the first, then the measured one 5 minutes later, when the latency and utilization classes (read every 10 minutes)
 * are due as well. `--read counters` measures the cycle 5 minutes after the first, counters only. `--node-flags`
 * adds V8 flags to the measured runs (e.g. `--trace-gc`, whose lines go to `--log <dir>`); `;` separates one set per
 * root, so that one build can be paired with itself under other flags (`--roots .,. --node-flags ';--max-semi-space-size=8'`).
 *
 * A root is a checkout with `npm run build` done (dist/cli/main.js and dist/test/bench/preload.js) and node_modules;
 * `git archive <commit> | tar -x -C /tmp/before` and a node_modules symlink make one of an older commit. The first
 * cycle runs with the last root.
 */
import { spawn } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../contract/errors';
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

/** The CloudWatchBridge construct's default function: 1,024 MB, its heap 30 % of it (as `npm run bench` runs it). */
const MEMORY_MIB = 1024;
const HEAP_MIB = 307;

interface Launch {
  readonly env: NodeJS.ProcessEnv;
  readonly work: string;
  readonly nodeFlags: readonly string[];
  /** A file for the child's stdout (e.g. `--trace-gc` lines); discarded when absent. */
  readonly log?: string;
}

async function runBridge(root: string, args: readonly string[], launch: Launch): Promise<Run> {
  const usageFile = join(launch.work, `usage-${Date.now()}.json`);
  const started = Date.now();
  const out = launch.log ? openSync(launch.log, 'w') : 'ignore';
  const node = [`--max-old-space-size=${HEAP_MIB}`, ...launch.nodeFlags, '-r', join(root, 'dist/test/bench/preload.js'), join(root, 'dist/cli/main.js'), ...args];
  const child = spawn(process.execPath, node, { env: { ...launch.env, BENCH_USAGE_FILE: usageFile }, stdio: ['ignore', out, 'ignore'] });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (typeof out === 'number') closeSync(out);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as UsageReport;
  return { code, cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6, rssMiB: usage.maxRSS / 1024, wallS: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const opts = new Command('steady-pair')
    .requiredOption('--roots <list>', 'built checkouts, comma-separated')
    .option('--variants <n>', 'fleet size', '10000')
    .option('--runs <n>', 'steady runs in all (the roots in turn)', '4')
    .option('--read <which>', 'full (every class due) or counters', 'full')
    .option('--node-flags <flags>', 'V8 flags for the measured runs, space-separated; one set per root separated by ;', '')
    .option('--log <dir>', "keep each measured run's stdout there")
    .parse(process.argv)
    .opts<{ roots: string; variants: string; runs: string; read: string; nodeFlags: string; log?: string }>();
  if (opts.read !== 'full' && opts.read !== 'counters') throw new UsageError(`--read must be full or counters, not ${opts.read}`);
  const roots = opts.roots.split(',').map((r) => resolve(r));
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-steady-pair-'));
  const standIn = await new AwsStandIn(fleetOf(Number(opts.variants)), { latencyMs: 50, recordBodies: false }).start();
  const state = join(work, 'state');
  const saved = join(work, 'saved');
  const config = join(work, 'inferwatch.yaml');
  const env = { ...process.env, ...standIn.env(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(MEMORY_MIB) };
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
  const plain: Launch = { env, work, nodeFlags: [] };
  const flagSets = opts.nodeFlags.split(';').map((set) => set.split(' ').filter((flag) => flag !== ''));
  if (flagSets.length !== 1 && flagSets.length !== roots.length) throw new UsageError(`--node-flags has ${flagSets.length} sets for ${roots.length} roots: give one, or one per root`);
  if (opts.log) mkdirSync(opts.log, { recursive: true });
  try {
    mkdirSync(state);
    const last = roots[roots.length - 1] as string;
    // One Prometheus for the cycles that lead up to the measured one: each later cycle writes only newer samples.
    await withPrometheus(async () => {
      print(`first, ${last}`, await runBridge(last, args(t0), plain));
      if (opts.read === 'full') print(`counters-only, ${last}`, await runBridge(last, args(t0 + 5 * MINUTE), plain));
    });
    const at = t0 + (opts.read === 'full' ? 10 : 5) * MINUTE;
    cpSync(state, saved, { recursive: true });
    for (let i = 0; i < Number(opts.runs); i++) {
      const root = roots[i % roots.length] as string;
      const nodeFlags = flagSets[flagSets.length === 1 ? 0 : i % roots.length] as string[];
      rmSync(state, { recursive: true });
      cpSync(saved, state, { recursive: true });
      const log = opts.log ? join(opts.log, `run-${i}.log`) : undefined;
      print(`steady (${opts.read} read), ${root} ${nodeFlags.join(' ')}`, await withPrometheus(() => runBridge(root, args(at), { ...plain, nodeFlags, log })));
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
