/**
 * `npm run bench`: the built CLI (`node dist/cli/main.js bridge --once --now ...`) as a black box, one child
 * process per cycle, against a stand-in fleet of N endpoint variants (50 ms of CloudWatch and SageMaker latency, AWS's
 * page and rate limits) and a real Prometheus behind a counting proxy. Per cycle: wall, CPU, peak RSS (from a preload
 * that reports process.resourceUsage() on exit), GetMetricData calls against the minimum, SageMaker calls, state size,
 * bytes written to the state directory, remote-write bytes. Then the peers (encoder, GetMetricData serde, CloudWatch bill, cold init) and
 * the in-process figures of test/bench/bench.ts. Targets are issue 8's; each figure is marked PASS or MISS.
 *
 *   npm run bench                                   # sizes 100,1000,10000; outages 1h,6h at 5,000 variants, 6h at 10,000
 *   npm run bench -- --sizes 100,1000 --outage-size 0 --sizing-outage-size 0   # quick
 *   npm run bench -- --out test/bench/RESULTS.md
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { Catalog } from '../../lambda/bridge/catalog/catalog';
import { formatLatencyModeCosts, latencyModeCosts } from '../../cli/cost';
import { DEFAULT_LATENCY_MODE } from '../../contract/latency';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { fleetOf } from '../support/stand-ins/fleet';
import { ensurePrometheus, LocalPrometheus } from '../support/harness/prometheus';
import { CountingProxy } from './counting-proxy';
import { cloudWatchBill, coldInit, compareEncoders, compareGetMetricDataSerde, lastLine, renderSerdeRows, type SerdeRow } from './peers';
import type { UsageReport } from './preload';
import { createCpuCap, lambdaCpuShare, wallAtShare, type CpuCap } from './cpu-share';
import { cycleEstimate, DEFAULT_BRIDGE_MEMORY_MIB, variantsPerShardByCpu } from '../../contract/bridge-capacity';
import { DEFAULT_GET_METRIC_DATA_TPS } from '../../contract/bridge-config';
import { setRawCacheSize } from '../support/stand-ins/fleet';
import { lambdaBill } from '../../cli/cost-lambda';

const REPO_ROOT = join(__dirname, '..', '..');
const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const PRELOAD = join(REPO_ROOT, 'dist', 'test', 'bench', 'preload.js');
const MINUTE = 60_000;
const MiB = 1024 * 1024;
const SETTLE_SECONDS = 120;
const CYCLE_MINUTES = 5;
/**
 * The function the bench stands for: `--memory` (the CloudWatchBridge construct's default unless given), its heap of
 * 30% of it as the construct's NODE_OPTIONS sets (BENCH_HEAP_MIB overrides), its sample budget (the child sees
 * AWS_LAMBDA_FUNCTION_MEMORY_SIZE, as in Lambda), its CPU share (1,769 MB = one vCPU) and its timeout.
 */
const lambda = { memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB, heapMiB: Math.floor(DEFAULT_BRIDGE_MEMORY_MIB * 0.3), timeoutSeconds: 240, cap: undefined as CpuCap | undefined };
/** Hard limit: a cycle past it is recorded as FAILED. */
const CYCLE_TIMEOUT_MS = 10 * MINUTE;

interface Options {
  sizes: number[];
  outageSize: number;
  outages: number[];
  /** A 6 h outage at this many variants, near what the sizing check lets one shard carry at the memory (0: none). */
  sizingOutageSize: number;
  latency: number;
  out?: string;
  inProcess: boolean;
  memoryMiB: number;
}

export interface CycleResult {
  readonly scenario: string;
  readonly label: string;
  readonly variants: number;
  readonly now: number;
  readonly failed?: string;
  readonly wallMs: number;
  /** How the cycle ran: under the Lambda's CPU share (a cgroup quota), or unconstrained. */
  readonly capped?: string;
  readonly cpuMs: number;
  readonly rssMiB: number;
  readonly stateBytesWritten: number;
  readonly stateBytesRead: number;
  readonly stateDirBytes: number;
  readonly stateFileBytes: number;
  readonly stateFile: string;
  readonly getMetricDataCalls: number;
  readonly getMetricDataMinimum: number;
  readonly throttled: number;
  readonly queries: number;
  readonly distinctQueries: number;
  /** Metric Streams' extra updates a minute (1 per 5 percentile or TC statistics of a metric). */
  readonly streamExtraUpdates: number;
  readonly datapoints: number;
  readonly listMetricsCalls: number;
  readonly sagemakerCalls: { list: number; describe: number; config: number };
  readonly peakInFlight: number;
  readonly remoteWriteRequests: number;
  readonly remoteWriteBytes: number;
  /** First attempts the receiver refused, by status ("4×400"): samples it did not take. */
  readonly remoteWriteRefused: string;
  /** Requests refused on a first attempt. */
  readonly requestsRefused: number;
  /** Requests sent again (the bridge's retries after a lost answer, or a journal replay). */
  readonly remoteWriteRetries: number;
  /** Retries the receiver refused: with 400 (out of order), an earlier attempt was stored; the bridge counts them as already stored. */
  readonly retriesRefused: number;
  /** Samples the bridge found already stored by a retry (its summary line). */
  readonly alreadyStored: number;
  readonly samplesLanded: number;
  readonly readEnd: number;
  readonly summary: string;
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function alignDown(value: number, step: number): number {
  return Math.floor(value / step) * step;
}

/**
 * Total bytes under the state directory, and its main state file: the largest file with "state" in its name outside a
 * journal, else the largest file.
 */
function dirBytes(dir: string): { total: number; largest: number; largestName: string } {
  let total = 0;
  const best = { state: { size: -1, name: '' }, other: { size: -1, name: '' } };
  if (!existsSync(dir)) return { total, largest: 0, largestName: '' };
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const size = statSync(full).size;
        total += size;
        const kind = /state/i.test(entry.name) && !/journal/i.test(relative(dir, full)) ? best.state : best.other;
        if (size > kind.size) Object.assign(kind, { size, name: relative(dir, full) });
      }
    }
  };
  walk(dir);
  const main = best.state.size >= 0 ? best.state : best.other;
  return { total, largest: Math.max(0, main.size), largestName: main.name };
}

/** Peak RSS of a running process from /proc (KiB), for cycles that die before the preload can report. */
function peakRssKiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderrTail: string;
  readonly wallMs: number;
  readonly polledRssKiB: number;
  readonly timedOut: boolean;
}

/** Runs the built CLI under the preload with the hard limits; keeps only the tail of its output. */
async function runCli(args: readonly string[], env: NodeJS.ProcessEnv, cap?: CpuCap): Promise<ChildRun> {
  const started = performance.now();
  // `npm run bench:profile` (test/bench/profile.ts): every cycle writes a V8 CPU profile there.
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const node = [`--max-old-space-size=${lambda.heapMiB}`, ...profile, '-r', PRELOAD, CLI, ...args];
  const { command, args: argv } = cap ? cap.wrap(process.execPath, node) : { command: process.execPath, args: node };
  const child = spawn(command, argv, { cwd: REPO_ROOT, env: { ...env, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(lambda.memoryMiB) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-16_384)));
  let polledRssKiB = 0;
  const poll = setInterval(() => (polledRssKiB = Math.max(polledRssKiB, peakRssKiB(child.pid ?? 0))), 200);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, CYCLE_TIMEOUT_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearInterval(poll);
  clearTimeout(timer);
  return { code, signal, stderrTail: tail, wallMs: performance.now() - started, polledRssKiB, timedOut };
}

function readUsage(file: string): UsageReport | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as UsageReport;
  } catch {
    return undefined;
  }
}

/** Idle: node with the CLI loaded and no cycle (`bridge --help`), under the same flags and preload. */
async function idleProcess(work: string): Promise<{ rssMiB: number; cpuMs: number }> {
  const usageFile = join(work, 'idle-usage.json');
  await runCli(['bridge', '--help'], { ...process.env, BENCH_USAGE_FILE: usageFile });
  const usage = readUsage(usageFile);
  return { rssMiB: (usage?.maxRSS ?? 0) / 1024, cpuMs: ((usage?.userCPUTime ?? 0) + (usage?.systemCPUTime ?? 0)) / 1000 };
}

/**
 * Samples Prometheus appended. Its refusals are counted by the proxy instead: Prometheus's out-of-order and
 * out-of-bounds counters count one sample per refused request (its remote-write handler stops at the first), and they
 * cannot tell a retry of a stored request from data refused.
 */
async function prometheusAppended(prometheus: LocalPrometheus): Promise<number> {
  const text = await (await fetch(`${prometheus.url}/metrics`)).text();
  let appended = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('prometheus_tsdb_head_samples_appended_total')) appended += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return appended;
}

/** One fleet: a stand-in, a fresh Prometheus behind a counting proxy, a state directory; cycles run one by one. */
class FleetRun {
  readonly standIn: AwsStandIn;
  private readonly prometheus = new LocalPrometheus();
  private proxy: CountingProxy | undefined;
  private readonly work = mkdtempSync(join(tmpdir(), 'inferwatch-fleet-bench-'));
  private readonly stateDir = join(this.work, 'state');
  private readonly configFile = join(this.work, 'inferwatch.yaml');
  private cycles = 0;

  constructor(
    readonly scenario: string,
    readonly variants: number,
    latencyMs: number,
  ) {
    this.standIn = new AwsStandIn(fleetOf(variants), { latencyMs, recordBodies: false });
  }

  async start(): Promise<this> {
    await this.standIn.start();
    await this.prometheus.start();
    this.proxy = await new CountingProxy(this.prometheus.remoteWriteUrl).start();
    mkdirSync(this.stateDir, { recursive: true });
    writeFileSync(this.configFile, `accountId: "123456789012"\nsettle: ${SETTLE_SECONDS}\nremoteWrite:\n  url: ${this.proxy.url}\n`);
    return this;
  }

  async stop(): Promise<void> {
    await this.proxy?.stop();
    await this.prometheus.stop();
    await this.standIn.stop();
    rmSync(this.work, { recursive: true, force: true });
  }

  /** One cycle; `capped` runs it at the Lambda's CPU share (when the machine allows a cgroup; else the model applies). */
  async cycle(now: number, label: string, capped = false): Promise<CycleResult> {
    const cap = capped && lambda.cap?.mode !== 'model' ? lambda.cap : undefined;
    const proxy = this.proxy as CountingProxy;
    this.standIn.resetCounts();
    proxy.reset();
    const before = await prometheusAppended(this.prometheus);
    const usageFile = join(this.work, `usage-${++this.cycles}.json`);
    const run = await runCli(['bridge', '--once', '--now', String(now), '--config', this.configFile, '--state-dir', this.stateDir], {
      ...process.env,
      ...this.standIn.env(),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      BENCH_USAGE_FILE: usageFile,
      BENCH_STATE_DIR: this.stateDir,
    }, cap);
    const usage = readUsage(usageFile);
    const after = await prometheusAppended(this.prometheus);
    const state = dirBytes(this.stateDir);
    const s = this.standIn;
    const queries = s.metricsRequested;
    const failed = run.timedOut
      ? `killed after ${CYCLE_TIMEOUT_MS / MINUTE} min`
      : run.code !== 0
        ? `exit ${run.code ?? run.signal}: ${lastLine(run.stderrTail)}`
        : undefined;
    const summary = /inferwatch: (.*)$/m.exec(run.stderrTail.split('\n').filter((l) => l.startsWith('inferwatch: ')).pop() ?? '')?.[1] ?? '';
    const result: CycleResult = {
      scenario: this.scenario,
      label,
      variants: this.variants,
      now,
      ...(failed ? { failed } : {}),
      wallMs: run.wallMs,
      ...(cap ? { capped: cap.mode } : {}),
      cpuMs: usage ? (usage.userCPUTime + usage.systemCPUTime) / 1000 : NaN,
      rssMiB: (usage?.maxRSS ?? run.polledRssKiB) / 1024,
      stateBytesWritten: usage?.bytesWritten ?? NaN,
      stateBytesRead: usage?.bytesRead ?? NaN,
      stateDirBytes: state.total,
      stateFileBytes: state.largest,
      stateFile: state.largestName,
      getMetricDataCalls: s.counts.get('GetMetricData') ?? 0,
      getMetricDataMinimum: s.cloudwatch.getMetricDataMinimum(),
      throttled: [...s.throttled.values()].reduce((a, b) => a + b, 0),
      queries,
      distinctQueries: s.distinctQueries.size,
      streamExtraUpdates: s.streamExtraUpdates(),
      datapoints: s.datapointsServed,
      listMetricsCalls: s.counts.get('ListMetrics') ?? 0,
      sagemakerCalls: { list: s.counts.get('ListEndpoints') ?? 0, describe: s.counts.get('DescribeEndpoint') ?? 0, config: s.counts.get('DescribeEndpointConfig') ?? 0 },
      peakInFlight: s.peakInFlight,
      remoteWriteRequests: proxy.requests,
      remoteWriteBytes: proxy.bytes,
      remoteWriteRefused: [...proxy.refused].map(([status, n]) => `${n}×${status}`).join(' '),
      requestsRefused: [...proxy.refused.values()].reduce((a, b) => a + b, 0),
      remoteWriteRetries: proxy.retries,
      retriesRefused: [...proxy.refusedRetries.values()].reduce((a, b) => a + b, 0),
      alreadyStored: Number(/(\d+) samples found already stored by a retry/.exec(summary)?.[1] ?? 0),
      samplesLanded: after - before,
      readEnd: s.latestEndTime,
      summary,
    };
    log(`${this.scenario} ${label}: ${failed ? `FAILED (${failed})` : 'ok'}, ${(result.wallMs / 1000).toFixed(1)} s${cap ? ` at ${lambda.memoryMiB} MB's CPU share` : ''}, CPU ${(result.cpuMs / 1000).toFixed(1)} s, ${result.rssMiB.toFixed(0)} MiB, ${result.getMetricDataCalls} GetMetricData`);
    return result;
  }

  /** The bridge's own count of the series it keeps (its self-metric in Prometheus). */
  async seriesActive(atMs: number): Promise<number | undefined> {
    try {
      const samples = await this.prometheus.query('max(last_over_time(inferwatch_bridge_series_active[3h]))', atMs);
      return samples[0]?.value;
    } catch {
      return undefined;
    }
  }

  landedCheck(firstCycleEnd: number, readEnd: number): Promise<WindowCheck> {
    return windowCheck(this.prometheus, firstCycleEnd, readEnd);
  }

  readyAt(now: number): number {
    return alignDown(now - SETTLE_SECONDS * 1000, MINUTE);
  }
}

interface SizeResult {
  readonly variants: number;
  readonly metrics: number;
  readonly first: CycleResult;
  readonly steady: CycleResult;
  /** The next steady cycle, at the Lambda's CPU share. */
  readonly atShare: CycleResult;
  readonly series: number | undefined;
}

async function runSize(variants: number, latencyMs: number): Promise<SizeResult> {
  const run = await new FleetRun(`${variants.toLocaleString('en')} variants`, variants, latencyMs).start();
  try {
    // An hour back: Prometheus takes every timestamp, and the first cycle's lookback is all in the past.
    const t0 = alignDown(Date.now(), MINUTE) - 60 * MINUTE;
    const first = await run.cycle(t0, 'first');
    const steady = await run.cycle(t0 + CYCLE_MINUTES * MINUTE, 'steady');
    const atShare = await run.cycle(t0 + 2 * CYCLE_MINUTES * MINUTE, 'steady, at the CPU share', true);
    return { variants, metrics: run.standIn.metricCount, first, steady, atShare, series: await run.seriesActive(t0 + CYCLE_MINUTES * MINUTE) };
  } finally {
    await run.stop();
  }
}

interface OutageResult {
  readonly variants: number;
  readonly outageMinutes: number;
  readonly cycles: CycleResult[];
  /** The scheduled cycle after catching up (before the next outage), shown with the cycles but not part of the catch-up. */
  after?: CycleResult;
  readonly caughtUp: boolean;
  readonly note: string;
  /** The timings' minutes the stand-in computed before the first catch-up cycle, and how long that took (not in any cycle). */
  readonly precomputed: { readonly metricMinutes: number; readonly ms: number };
  /** What Prometheus holds of the periods the receiver still took when the catch-up began (PromQL), once caught up. */
  landed?: WindowCheck;
}

/** Series of a few always-present families that hold every period of [from, to) in Prometheus, of those present at all. */
interface WindowCheck {
  readonly from: number;
  readonly to: number;
  readonly periods: number;
  readonly complete: number;
  readonly series: number;
  /** When some are short: how many periods the series hold, and how many series hold that many (`count_values`). */
  readonly seen: string;
}

/**
 * Every period still inside the receiver's window (`maxSampleAge`, 50 min) when the first catch-up cycle ended (the
 * bridge skips, and counts, what ages past it while that cycle runs), to where the catch-up ended.
 */
async function windowCheck(prometheus: LocalPrometheus, firstCycleEnd: number, readEnd: number): Promise<WindowCheck> {
  const from = Math.ceil((firstCycleEnd - 3000 * 1000) / MINUTE) * MINUTE;
  const periods = Math.round((readEnd - from) / MINUTE);
  // Evaluated half a period before the end over exactly `periods` periods: no sample sits on either edge of the range.
  const at = readEnd - MINUTE / 2;
  const range = `[${periods * 60}s]`;
  let complete = 0;
  let series = 0;
  // One family a query: count_over_time drops the metric name, and the families' label sets overlap.
  for (const family of ['aws_sagemaker_invocations_total', 'aws_sagemaker_model_latency_seconds_bucket', 'aws_sagemaker_model_latency_seconds_count']) {
    complete += (await prometheus.query(`count(count_over_time(${family}${range}) == ${periods})`, at))[0]?.value ?? 0;
    series += (await prometheus.query(`count(count_over_time(${family}${range}))`, at))[0]?.value ?? 0;
  }
  const seen =
    complete === series
      ? ''
      : (await prometheus.query(`count_values("periods", count_over_time(aws_sagemaker_invocations_total${range}))`, at))
          .map((r) => `${r.metric.periods} periods: ${r.value}`)
          .join(', ');
  return { from, to: readEnd, periods, complete, series, seen };
}

/** One fleet through a first and a steady cycle, then each outage in turn, caught up by cycles 5 minutes apart. */
async function runOutages(variants: number, outagesMinutes: readonly number[], latencyMs: number): Promise<{ size: SizeResult; outages: OutageResult[] }> {
  const run = await new FleetRun(`${variants.toLocaleString('en')} variants, outages`, variants, latencyMs).start();
  try {
    const total = outagesMinutes.reduce((a, b) => a + b + 60, 60);
    const t0 = alignDown(Date.now(), MINUTE) - total * MINUTE;
    let now = t0;
    const first = await run.cycle(now, 'first');
    now += CYCLE_MINUTES * MINUTE;
    const steady = await run.cycle(now, 'steady');
    now += CYCLE_MINUTES * MINUTE;
    const atShare = await run.cycle(now, 'steady, at the CPU share', true);
    // As runSize counts them: the series the first cycle wrote, every class due.
    const size: SizeResult = { variants, metrics: run.standIn.metricCount, first, steady, atShare, series: await run.seriesActive(t0 + CYCLE_MINUTES * MINUTE) };
    const outages: OutageResult[] = [];
    for (const minutes of outagesMinutes) {
      const outageStart = now;
      now += minutes * MINUTE;
      // The stand-in draws the outage's raw latencies now, not while the catch-up waits on it (issue 23, item 5).
      const precomputeStarted = performance.now();
      const metricMinutes = run.standIn.cloudwatch.precomputeMinutes(outageStart - 30 * MINUTE, now);
      const precomputed = { metricMinutes, ms: performance.now() - precomputeStarted };
      const cycles: CycleResult[] = [];
      let caughtUp = false;
      let failedInARow = 0;
      let note = '';
      const maxCycles = Math.ceil(minutes / CYCLE_MINUTES) + 2;
      while (cycles.length < maxCycles) {
        const result = await run.cycle(now, `${minutes >= 60 ? `${minutes / 60} h` : `${minutes} min`} outage, cycle ${cycles.length + 1}`, true);
        cycles.push(result);
        if (result.failed) {
          failedInARow += 1;
          if (failedInARow >= 2) {
            note = `stopped after ${failedInARow} failed cycles in a row`;
            break;
          }
        } else {
          failedInARow = 0;
          if (result.readEnd >= run.readyAt(now)) {
            caughtUp = true;
            break;
          }
        }
        now += CYCLE_MINUTES * MINUTE;
      }
      if (!caughtUp && !note) note = `not caught up after ${cycles.length} cycles`;
      run.standIn.cloudwatch.clearPrecomputed();
      const outage: OutageResult = { variants, outageMinutes: minutes, cycles, caughtUp, note, precomputed };
      const last = cycles[cycles.length - 1];
      const first = cycles[0];
      if (caughtUp && first && last) outage.landed = await run.landedCheck(first.now + first.wallMs, last.readEnd);
      outages.push(outage);
      // A steady cycle between outages, as the schedule would run.
      now += CYCLE_MINUTES * MINUTE;
      if (outagesMinutes.indexOf(minutes) < outagesMinutes.length - 1) outage.after = await run.cycle(now, 'steady');
    }
    return { size, outages };
  } finally {
    await run.stop();
  }
}

/** The hand-written open-addressing table against the Map it replaced, at a 10,000-variant fleet's series count. */
function seriesTableFigures(): string {
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, 'series-table-heap.ts'), '392000'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : `FAILED: ${lastLine(run.stderr)}`;
}

async function inProcessFigures(): Promise<string> {
  const run = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'bench.ts')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8192)));
    child.on('close', (code) => resolve({ code, out, err }));
  });
  return run.code === 0 ? run.out.trim() : `FAILED: ${lastLine(run.err)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const fmt = {
  s: (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '–'),
  mib: (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–'),
  bytes: (n: number) => (!Number.isFinite(n) ? '–' : n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`),
  int: (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '–'),
  ratio: (n: number) => (Number.isFinite(n) ? `×${n.toFixed(2)}` : '–'),
};

function mark(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS';
}

function cpuShareNote(): string {
  const share = lambdaCpuShare(lambda.memoryMiB);
  const cap = lambda.cap;
  const how =
    cap && cap.mode !== 'model'
      ? `Cycles marked "at the CPU share" run in a ${cap.mode} cgroup with a CFS quota of ${share.toFixed(3)} CPU (${lambda.memoryMiB} MB / 1,769 MB a vCPU, as Lambda allots it); the others run unconstrained, and their "wall at the CPU share" is the model max(wall, CPU s / ${share.toFixed(3)}).`
      : `No cgroup was writable here (${cap?.reason ?? 'not tried'}): every "wall at the CPU share" is the model max(wall, CPU s / ${share.toFixed(3)}) (${lambda.memoryMiB} MB / 1,769 MB a vCPU, as Lambda allots it).`;
  return `${how} The machine's other load (the stand-in, Prometheus, other processes) shares the same cores, so a measured wall at the share is an upper bound.`;
}

function longestAtShare(o: OutageResult): number {
  const share = lambdaCpuShare(lambda.memoryMiB);
  return Math.max(...o.cycles.map((c) => (c.capped ? c.wallMs : wallAtShare(c.wallMs, c.cpuMs, share))));
}

function describeWindow(w: WindowCheck): string {
  const window = `${fmt.int(w.complete)} of ${fmt.int(w.series)} series hold all ${w.periods} periods from ${new Date(w.from).toISOString().slice(11, 16)} to ${new Date(w.to).toISOString().slice(11, 16)}`;
  return w.seen ? `${window} (invocations series by periods held: ${w.seen})` : window;
}

/** The Lambda's own bill per month for each size's steady cycle at the CPU share (cli/cost-lambda.ts prices). */
function lambdaSection(report: Report): string[] {
  const lines = ['## The Lambda\'s own bill per month', ''];
  lines.push(
    `Each size's steady cycle at ${lambda.memoryMiB} MB, every ${CYCLE_MINUTES} minutes for 30 days, one shard, Arm, us-east-1 on-demand list price, before the free tier. ` +
      'Billed duration: its CPU-seconds at the share (what Lambda, whose CPU is not shared with a stand-in or other load, would run it in, waits aside); the wall measured here at the share is beside it. ' +
      'Compare the CloudWatch bill below: the function is a rounding error beside it, and a CPU-bound cycle bills about the same GB-seconds at any memory size (twice the memory, half the wall).',
    '',
    '| variants | billed s a cycle (CPU s / share) | wall measured at the share s | GB-s a month | duration $ | requests $ | total $ a month |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  const share = lambdaCpuShare(lambda.memoryMiB);
  for (const size of [...report.sizes].sort((a, b) => a.variants - b.variants)) {
    const c = size.atShare;
    if (c.failed) {
      lines.push(`| ${fmt.int(size.variants)} | (failed) | | | | | |`);
      continue;
    }
    const seconds = c.cpuMs / share / 1000;
    const measured = c.capped ? c.wallMs : wallAtShare(c.wallMs, c.cpuMs, share);
    const bill = lambdaBill({ memoryMiB: lambda.memoryMiB, secondsPerInvocation: seconds, scheduleMinutes: CYCLE_MINUTES });
    lines.push(`| ${fmt.int(size.variants)} | ${seconds.toFixed(1)} | ${fmt.s(measured)} | ${fmt.int(bill.gbSecondsPerMonth)} | ${bill.durationUsd.toFixed(2)} | ${bill.requestsUsd.toFixed(2)} | ${(bill.durationUsd + bill.requestsUsd).toFixed(2)} |`);
  }
  lines.push('');
  return lines;
}

/**
 * Issue 23's steady targets at 10,000 variants, for both steady cycles: the counters-only one (most cycles) and the
 * full read (every class due, at the CPU share).
 */
function steadyTargets(k10: SizeResult | undefined): string[] {
  const measured = (c: CycleResult | undefined, text: (c: CycleResult) => string) => (c === undefined ? 'not run' : c.failed ? `FAILED (${text(c)})` : text(c));
  const passes = (c: CycleResult | undefined, test: (c: CycleResult) => boolean) => c !== undefined && !c.failed && test(c);
  const rss = (c: CycleResult) => `${fmt.mib(c.rssMiB)} MiB`;
  const small = (c: CycleResult) => c.rssMiB <= 256;
  return [
    `| 10,000 variants, steady (counters only; full read): peak RSS ≤ 256 MiB | ${measured(k10?.steady, rss)}; ${measured(k10?.atShare, rss)} | ${mark(k10 ? passes(k10.steady, small) && passes(k10.atShare, small) : undefined)} |`,
    `| 10,000 variants, steady full read (every class due, histograms): CPU ≤ 20 s | ${measured(k10?.atShare, (c) => `${fmt.s(c.cpuMs)} CPU-s`)} | ${mark(k10 ? passes(k10.atShare, (c) => c.cpuMs <= 20_000) : undefined)} |`,
  ];
}

/**
 * Issue 23, item 2: the sizing check's promise at a fleet near the most it lets one shard carry: every cycle of a 6 h
 * outage's catch-up within half the timeout at the CPU share, beside what the check's model estimates for it.
 */
function sizingTargets(outage: OutageResult | undefined): string[] {
  const half = (lambda.timeoutSeconds * 1000) / 2;
  const sizing = { memoryMiB: lambda.memoryMiB, timeoutSeconds: lambda.timeoutSeconds, scheduleMinutes: CYCLE_MINUTES };
  const allowed = variantsPerShardByCpu(sizing);
  if (!outage) return [`| 6 h outage near the sizing check's limit (${fmt.int(allowed)} variants a shard at ${lambda.memoryMiB} MB): every catch-up cycle at the CPU share ≤ half the timeout | not run | n/a |`];
  const estimate = cycleEstimate({ variants: outage.variants, memoryMiB: lambda.memoryMiB });
  const failed = outage.cycles.filter((c) => c.failed).length;
  const measured = `longest ${fmt.s(longestAtShare(outage))} s of ${outage.cycles.length} cycle(s)${failed ? `, ${failed} failed` : ''}${outage.caughtUp ? '' : `, ${outage.note}`}; the check estimates ${estimate.catchUpWallSeconds.toFixed(0)} s (${estimate.catchUpCpuSeconds.toFixed(0)} CPU-s at the share: ${(estimate.catchUpCpuSeconds / estimate.share).toFixed(0)} s; ${fmt.int(estimate.catchUpCalls)} calls at ${DEFAULT_GET_METRIC_DATA_TPS} a second: ${estimate.catchUpCallSeconds.toFixed(0)} s)`;
  return [
    `| 6 h outage at ${fmt.int(outage.variants)} variants (the sizing check allows ${fmt.int(allowed)} a shard at ${lambda.memoryMiB} MB): every catch-up cycle at the CPU share ≤ half the timeout, and the estimate at least the measured | ${measured} | ${mark(outage.caughtUp && failed === 0 && longestAtShare(outage) <= half && estimate.catchUpWallSeconds * 1000 >= longestAtShare(outage))} |`,
  ];
}

/** Issue 23's targets at the Lambda's CPU share: each steady cycle, and every catch-up cycle, within half the timeout. */
function shareTargets(sizes: readonly SizeResult[], six: OutageResult | undefined): string[] {
  const half = (lambda.timeoutSeconds * 1000) / 2;
  const atShareMs = (c: CycleResult) => (c.capped ? c.wallMs : wallAtShare(c.wallMs, c.cpuMs, lambdaCpuShare(lambda.memoryMiB)));
  const lines = [...sizes]
    .sort((a, b) => a.variants - b.variants)
    .map((size) => {
      const c = size.atShare;
      const measured = c.failed ? `FAILED (${c.failed})` : `${fmt.s(atShareMs(c))} s (${c.capped ?? 'model'}; CPU ${fmt.s(c.cpuMs)} s)`;
      return `| ${fmt.int(size.variants)} variants, steady at ${lambda.memoryMiB} MB's CPU share: wall ≤ half the ${lambda.timeoutSeconds} s timeout | ${measured} | ${mark(!c.failed && atShareMs(c) <= half)} |`;
    });
  if (six) {
    const landed = six.landed !== undefined && six.landed.series > 0 && six.landed.complete === six.landed.series;
    lines.push(
      `| 6 h outage: every catch-up cycle at the CPU share ≤ half the timeout; the receiver's window lands | longest ${fmt.s(longestAtShare(six))} s; ${six.landed ? describeWindow(six.landed) : 'not checked'} | ${mark(six.caughtUp && longestAtShare(six) <= half && landed)} |`,
    );
  }
  return lines;
}

function catchUpSection(outages: readonly OutageResult[]): string[] {
  if (outages.length === 0) return [];
  const lines: string[] = [];
  lines.push('## Catch-up after an outage', '');
  lines.push(`| outage | cycles | failed | caught up | max peak RSS MiB | longest cycle s (at the CPU share) | total wall s | samples landed (requests refused; retries found already stored) | the receiver's window in Prometheus | stand-in's timings precomputed | note |`);
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const o of outages) {
    const failed = o.cycles.filter((c) => c.failed).length;
    const rss = Math.max(...o.cycles.map((c) => c.rssMiB));
    const wall = o.cycles.reduce((n, c) => n + c.wallMs, 0);
    const landed = o.cycles.reduce((n, c) => n + c.samplesLanded, 0);
    const refused = o.cycles.reduce((n, c) => n + c.requestsRefused, 0);
    const stored = o.cycles.reduce((n, c) => n + c.retriesRefused, 0);
    lines.push(
      `| ${o.outageMinutes / 60} h at ${fmt.int(o.variants)} variants | ${o.cycles.length} | ${failed} | ${o.caughtUp ? 'yes' : 'no'} | ${fmt.mib(rss)} | ${fmt.s(longestAtShare(o))} | ${fmt.s(wall)} | ${fmt.int(landed)} (${fmt.int(refused)}; ${fmt.int(stored)}) | ${o.landed ? describeWindow(o.landed) : 'not checked (not caught up)'} | ${fmt.int(o.precomputed.metricMinutes)} metric-minutes in ${fmt.s(o.precomputed.ms)} s | ${o.note} |`,
    );
  }
  lines.push(
    '',
    `The receiver's window: from the end of the first catch-up cycle less \`maxSampleAge\` (50 min: older periods, and those that age past it while that cycle runs, are read and counted as skipped, their counts carried by the counters) to where the catch-up ended, every one-minute period of \`aws_sagemaker_invocations_total\` and \`aws_sagemaker_model_latency_seconds_bucket\`/\`_count\` counted in Prometheus with \`count_over_time\`.`,
  );
  lines.push('');
  return lines;
}

function cycleRow(r: CycleResult): string {
  const sm = r.sagemakerCalls;
  return [
    r.scenario,
    r.label,
    r.failed ? `**FAILED**: ${r.failed.replace(/\|/g, '\\|')}` : 'ok',
    fmt.s(r.wallMs),
    r.capped ? `**${fmt.s(r.wallMs)}** (${r.capped})` : `${fmt.s(wallAtShare(r.wallMs, r.cpuMs, lambdaCpuShare(lambda.memoryMiB)))} (model)`,
    fmt.s(r.cpuMs),
    fmt.mib(r.rssMiB),
    `${r.getMetricDataCalls} (${r.getMetricDataMinimum})${r.throttled ? `, ${r.throttled} throttled` : ''}`,
    fmt.int(r.queries),
    String(r.listMetricsCalls),
    String(r.peakInFlight),
    `${sm.list} / ${sm.describe} / ${sm.config}`,
    `${fmt.bytes(r.stateFileBytes)} / ${fmt.bytes(r.stateDirBytes)}`,
    `${fmt.bytes(r.stateBytesWritten)} / ${fmt.bytes(r.stateBytesRead)}`,
    `${fmt.bytes(r.remoteWriteBytes)} in ${r.remoteWriteRequests}${r.remoteWriteRefused ? ` (refused ${r.remoteWriteRefused})` : ''}${r.remoteWriteRetries ? ` (${r.remoteWriteRetries} retried, ${r.retriesRefused} found already stored: ${fmt.int(r.alreadyStored)} samples, none lost)` : ''}`,
    fmt.int(r.samplesLanded),
  ].join(' | ');
}

const CYCLE_HEADER = [
  '| fleet | cycle | outcome | wall s | wall s at the CPU share | CPU s | peak RSS MiB | GetMetricData calls (minimum) | queries | ListMetrics | AWS calls in flight (peak) | SageMaker List / Describe / Config | state file / dir | state written / read | remote write | samples landed |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

interface Report {
  readonly options: Options;
  readonly idle: { rssMiB: number; cpuMs: number };
  readonly sizes: SizeResult[];
  readonly outages: OutageResult[];
  readonly encoders: Awaited<ReturnType<typeof compareEncoders>>;
  readonly serde: readonly SerdeRow[];
  readonly cold: ReturnType<typeof coldInit>;
  readonly seriesTable: string;
  readonly inProcess: string | undefined;
  readonly minutes: number;
}

function render(report: Report): string {
  const { sizes, outages, idle, options } = report;
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  push('# `npm run bench`: the bridge at fleet scale', '');
  push(
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; Prometheus 2.x receiver; ${options.latency} ms injected latency on every CloudWatch and SageMaker call; ` +
      `CloudWatch limits as AWS documents them (ListMetrics 500 a page, GetMetricData ≤ 500 queries and ≤ 100,800 datapoints a response, 50 TPS). ` +
      `Each cycle is \`node dist/cli/main.js bridge --once --now …\`, a fresh process with \`--max-old-space-size=${lambda.heapMiB}\` and \`AWS_LAMBDA_FUNCTION_MEMORY_SIZE=${lambda.memoryMiB}\` (its sample budget), as the construct runs a ${lambda.memoryMiB} MB function; wall includes process start. ` +
      `${cpuShareNote()} ` +
      `Run took ${report.minutes.toFixed(1)} min.`,
    '',
  );
  push(
    `Reproduce: \`npm run bench\` (builds first; sizes ${options.sizes.join(', ')}${options.outageSize > 0 ? `, outages of ${options.outages.map((m) => `${m / 60} h`).join(' and ')} at ${options.outageSize} variants` : ''}${options.sizingOutageSize > 0 ? `, a 6 h outage at ${options.sizingOutageSize} variants` : ''}). ` +
      'Quick: `npm run bench -- --sizes 100,1000 --outage-size 0 --sizing-outage-size 0 --no-in-process`. Options: `--sizes`, `--outage-size`, `--outages` (minutes), `--sizing-outage-size`, `--latency`, `--memory` (the Lambda size: heap, sample budget, CPU share), `--out <file>` (or BENCH_SIZES, BENCH_OUTAGE_SIZE, BENCH_OUTAGES, BENCH_SIZING_OUTAGE_SIZE, BENCH_MEMORY_MIB); BENCH_HEAP_MIB overrides the heap.',
    '',
  );
  push(`Idle process (node + CLI loaded, \`bridge --help\`): peak RSS ${fmt.mib(idle.rssMiB)} MiB, CPU ${fmt.s(idle.cpuMs)} s.`, '');
  push('## Cycles', '');
  push(...CYCLE_HEADER);
  for (const size of sizes) push(`| ${cycleRow(size.first)} |`, `| ${cycleRow(size.steady)} |`, `| ${cycleRow(size.atShare)} |`);
  for (const outage of outages) for (const c of [...outage.cycles, ...(outage.after ? [outage.after] : [])]) push(`| ${cycleRow(c)} |`);
  push('');
  push(
    'GetMetricData minimum: the sum over the distinct (StartTime, EndTime) windows the cycle read of max(ceil(queries / 500), ceil(datapoints / 100,800)), queries counted by the stand-in on first pages: ' +
      'a call has one window, and classes read from their own base (latency, utilization) or the idle variants\' sentinels cannot share one. ' +
      'SageMaker: ListEndpoints / DescribeEndpoint / DescribeEndpointConfig calls. State file: the largest file with "state" in its name; dir: everything in the state directory. ' +
      'State written / read: bytes the CLI wrote to and read from files under the state directory (counted by the preload). Samples landed: `prometheus_tsdb_head_samples_appended_total` during the cycle.',
    '',
  );

  push('## Per size', '');
  push('| variants | CloudWatch metrics | series (bridge self-metric) | state file | B/series | steady: state written vs 2 × state + request bodies |');
  push('| --- | --- | --- | --- | --- | --- |');
  const perSeries = (size: SizeResult) => (size.series ? size.steady.stateFileBytes / size.series : NaN);
  const writtenOk = (c: CycleResult) => c.stateBytesWritten <= 2 * c.stateFileBytes + c.remoteWriteBytes;
  for (const size of [...sizes].sort((a, b) => a.variants - b.variants)) {
    const s = size.steady;
    push(
      `| ${fmt.int(size.variants)} | ${fmt.int(size.metrics)} | ${fmt.int(size.series ?? NaN)} | ${s.stateFile || '–'}, ${fmt.bytes(s.stateFileBytes)} | ${fmt.int(perSeries(size))} | ${fmt.bytes(s.stateBytesWritten)} vs ${fmt.bytes(2 * s.stateFileBytes + s.remoteWriteBytes)} ${s.failed ? 'n/a' : mark(writtenOk(s))} |`,
    );
  }
  push('');

  push('## Growth', '');
  push('RSS above idle is peak RSS less the idle process. Linear would be ×10 for ×10 the fleet.', '');
  push('| from → to | cycle | wall | CPU | RSS above idle |');
  push('| --- | --- | --- | --- | --- |');
  const sorted = [...sizes].sort((a, b) => a.variants - b.variants);
  const growth = (a: CycleResult, b: CycleResult) => ({
    wall: b.wallMs / a.wallMs,
    cpu: b.cpuMs / a.cpuMs,
    rss: (b.rssMiB - idle.rssMiB) / (a.rssMiB - idle.rssMiB),
    valid: !a.failed && !b.failed,
  });
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as SizeResult;
    const b = sorted[i] as SizeResult;
    for (const cycle of ['first', 'steady'] as const) {
      const g = growth(a[cycle], b[cycle]);
      push(`| ${fmt.int(a.variants)} → ${fmt.int(b.variants)} | ${cycle} | ${g.valid ? fmt.ratio(g.wall) : 'failed'} | ${g.valid ? fmt.ratio(g.cpu) : 'failed'} | ${g.valid ? fmt.ratio(g.rss) : 'failed'} |`);
    }
  }
  push('');

  push(...catchUpSection(outages));
  push(...lambdaSection(report));

  push('## Targets (issue 8)', '');
  push('| target | measured | |');
  push('| --- | --- | --- |');
  const six = outages.find((o) => o.outageMinutes === 360 && o.variants === options.outageSize);
  const bySize = (n: number) => sizes.find((s) => s.variants === n);
  const k10 = bySize(10_000);
  const k1 = bySize(1_000);
  const ok = (c: CycleResult | undefined, test: (c: CycleResult) => boolean) => (c === undefined ? undefined : !c.failed && test(c));
  const describe = (c: CycleResult | undefined, text: (c: CycleResult) => string) => (c === undefined ? 'not run' : c.failed ? `FAILED (${text(c)})` : text(c));
  push(...steadyTargets(k10));
  push(`| 10,000 variants, steady: wall ≤ 30 s | ${describe(k10?.steady, (c) => `${fmt.s(c.wallMs)} s`)} | ${mark(ok(k10?.steady, (c) => c.wallMs <= 30_000))} |`);
  push(`| 10,000 variants, first: peak RSS ≤ 384 MiB | ${describe(k10?.first, (c) => `${fmt.mib(c.rssMiB)} MiB`)} | ${mark(ok(k10?.first, (c) => c.rssMiB <= 384))} |`);
  for (const cycle of ['first', 'steady'] as const) {
    if (!k1 || !k10) {
      push(`| 1,000 → 10,000, ${cycle}: wall and CPU ≤ ×11, RSS above idle ≤ ×10 | not run | n/a |`);
      continue;
    }
    const g = growth(k1[cycle], k10[cycle]);
    push(
      `| 1,000 → 10,000, ${cycle}: wall and CPU ≤ ×11, RSS above idle ≤ ×10 | ${g.valid ? `wall ${fmt.ratio(g.wall)}, CPU ${fmt.ratio(g.cpu)}, RSS ${fmt.ratio(g.rss)}` : 'a cycle failed'} | ${mark(g.valid && g.wall <= 11 && g.cpu <= 11 && g.rss <= 10)} |`,
    );
  }
  push(
    `| 6 h outage at ${fmt.int(options.outageSize || 5000)} variants: no failed cycle, ≤ 384 MiB every cycle | ${six ? `${six.cycles.filter((c) => c.failed).length} failed of ${six.cycles.length}, max ${fmt.mib(Math.max(...six.cycles.map((c) => c.rssMiB)))} MiB${six.caughtUp ? ', caught up' : `, ${six.note}`}` : 'not run'} | ${mark(six ? six.caughtUp && six.cycles.every((c) => !c.failed && c.rssMiB <= 384) : undefined)} |`,
  );
  const everyCycle = [...sizes.flatMap((s) => [s.first, s.steady, s.atShare]), ...outages.flatMap((o) => [...o.cycles, ...(o.after ? [o.after] : [])])];
  const refusedFirst = everyCycle.reduce((n, c) => n + c.requestsRefused, 0);
  const refusedRetries = everyCycle.reduce((n, c) => n + c.retriesRefused, 0);
  push(
    `| nothing refused by the receiver (first attempts; a refused retry of a stored request loses nothing) | ${fmt.int(refusedFirst)} requests refused; ${fmt.int(refusedRetries)} retries found already stored | ${mark(refusedFirst === 0)} |`,
  );
  push(...shareTargets(sizes, six));
  push(...sizingTargets(outages.find((o) => o.outageMinutes === 360 && o.variants === options.sizingOutageSize)));
  const largest = [...sizes].filter((s) => !s.steady.failed && s.series).sort((a, b) => b.variants - a.variants)[0];
  push(`| state ≤ 100 B/series | ${largest ? `${fmt.int(perSeries(largest))} B/series at ${fmt.int(largest.variants)} variants (${fmt.int(largest.series ?? NaN)} series)` : 'no steady cycle'} | ${mark(largest ? perSeries(largest) <= 100 : undefined)} |`);
  const steadies = sizes.map((s) => s.steady).filter((c) => !c.failed);
  push(`| bytes written per steady cycle ≤ 2 × state + request bodies | ${steadies.map((c) => `${fmt.int(c.variants)}: ${fmt.bytes(c.stateBytesWritten)} vs ${fmt.bytes(2 * c.stateFileBytes + c.remoteWriteBytes)}`).join('; ') || 'no steady cycle'} | ${mark(steadies.length ? steadies.every(writtenOk) : undefined)} |`);
  const all = [...sizes.flatMap((s) => [s.first, s.steady]), ...outages.flatMap((o) => o.cycles)].filter((c) => !c.failed);
  const atMinimum = all.filter((c) => c.getMetricDataCalls <= c.getMetricDataMinimum);
  push(`| GetMetricData calls at the minimum | ${atMinimum.length} of ${all.length} successful cycles | ${mark(all.length ? atMinimum.length === all.length : undefined)} |`);
  push(`| bundled handler cold init ≤ 250 ms | ${report.cold.error ? `FAILED: ${report.cold.error}` : `${report.cold.medianMs.toFixed(0)} ms median of ${report.cold.runsMs.length}, spread ${Math.min(...report.cold.runsMs).toFixed(0)}–${Math.max(...report.cold.runsMs).toFixed(0)} ms (${report.cold.runsMs.map((t) => t.toFixed(0)).join(', ')}), bundle ${fmt.bytes(report.cold.bundleBytes)}`} | ${mark(report.cold.error ? false : report.cold.medianMs <= 250)} |`);
  push('');

  push('## Remote-write encoder beside the `prometheus-remote-write` npm package', '');
  push(`The same ${fmt.int(report.encoders.samples)} samples (SageMaker-shaped series, 5 one-minute samples each) in requests of 2,000 samples; median of 5 rounds after a warm-up.`, '');
  push('| encoder | samples/s | bytes/sample (protobuf + snappy) |');
  push('| --- | --- | --- |');
  for (const row of report.encoders.rows) push(`| ${row.name} | ${fmt.int(row.samplesPerSecond)} | ${row.bytesPerSample.toFixed(2)} |`);
  push('');

  push(...renderSerdeRows(report.serde));
  push('## CloudWatch bill per month', '');
  push(
    'From the steady cycle of each size (queries as the stand-in counted them). GetMetricData $0.01 per 1,000 metrics requested; Metric Streams $0.003 per 1,000 metric updates (us-east-1 list prices, aws.amazon.com/cloudwatch/pricing). 30-day month.',
    '',
  );
  push('| variants | way | per month | $ per month |');
  push('| --- | --- | --- | --- |');
  for (const size of sorted) {
    const s = size.steady;
    if (s.failed || s.queries === 0) {
      push(`| ${fmt.int(size.variants)} | (steady cycle failed) | | |`);
      continue;
    }
    for (const row of cloudWatchBill({ metricsRequestedPerCycle: s.queries, distinctQueries: s.distinctQueries, metrics: size.metrics, streamExtraUpdates: s.streamExtraUpdates, cycleMinutes: CYCLE_MINUTES })) {
      push(`| ${fmt.int(size.variants)} | ${row.name} | ${fmt.int(row.unitsPerMonth)} ${row.unit} | ${row.dollarsPerMonth.toFixed(2)} |`);
    }
  }
  push('');
  push('## Latency: histogram beside summary, per real-time variant and month', '');
  push(
    `The catalog's plan for one real-time variant in each \`latency\` mode, the bridge every ${CYCLE_MINUTES} minutes with 60 s periods (what \`inferwatch cost\` prints). The fleet runs above use the default, \`${DEFAULT_LATENCY_MODE}\`.`,
    '',
    '```text',
    formatLatencyModeCosts(latencyModeCosts((mode) => Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', mode), CYCLE_MINUTES, 60), DEFAULT_LATENCY_MODE),
    '```',
    '',
  );
  push('## Series state: SeriesTable beside a Map (test/bench/series-table-heap.ts)', '', report.seriesTable, '');
  if (report.inProcess !== undefined) {
    push('## In-process figures (test/bench/bench.ts)', '', report.inProcess, '');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const program = new Command('fleet-bench')
    .option('--sizes <list>', 'fleet sizes in endpoint variants, comma-separated', process.env.BENCH_SIZES ?? '100,1000,10000')
    .option('--outage-size <n>', 'fleet size for the outage catch-up runs (0: none)', process.env.BENCH_OUTAGE_SIZE ?? '5000')
    .option('--outages <list>', 'outages in minutes, comma-separated', process.env.BENCH_OUTAGES ?? '60,360')
    .option('--sizing-outage-size <n>', "a 6 h outage at this fleet size, near the sizing check's limit for one shard (0: none)", process.env.BENCH_SIZING_OUTAGE_SIZE ?? '10000')
    .option('--latency <ms>', 'injected CloudWatch and SageMaker latency', '50')
    .option('--memory <MB>', 'the Lambda memory size the cycles stand for: heap, sample budget and CPU share', process.env.BENCH_MEMORY_MIB ?? String(DEFAULT_BRIDGE_MEMORY_MIB))
    .option('--out <file>', 'also write the report to this file')
    .option('--no-in-process', 'skip the in-process figures of test/bench/bench.ts')
    .parse(process.argv);
  const raw = program.opts<{ sizes: string; outageSize: string; outages: string; sizingOutageSize: string; latency: string; memory: string; out?: string; inProcess: boolean }>();
  const list = (text: string) => text.split(',').map((v) => Number(v.trim())).filter((v) => Number.isInteger(v) && v > 0);
  const options: Options = {
    sizes: list(raw.sizes),
    outageSize: Number(raw.outageSize),
    outages: list(raw.outages),
    sizingOutageSize: Number(raw.sizingOutageSize),
    latency: Number(raw.latency),
    inProcess: raw.inProcess,
    memoryMiB: Number(raw.memory),
    ...(raw.out ? { out: raw.out } : {}),
  };
  if (!Number.isInteger(options.memoryMiB) || options.memoryMiB < 128 || options.memoryMiB > 10240) throw new Error(`--memory takes a Lambda memory size in MB, 128 to 10240 (got "${raw.memory}")`);
  lambda.memoryMiB = options.memoryMiB;
  lambda.heapMiB = Number(process.env.BENCH_HEAP_MIB ?? Math.floor(options.memoryMiB * 0.3));
  lambda.cap = createCpuCap(lambdaCpuShare(options.memoryMiB));
  log(`Lambda stand-in: ${lambda.memoryMiB} MB, heap ${lambda.heapMiB} MiB, CPU share ${lambdaCpuShare(lambda.memoryMiB).toFixed(3)} (${lambda.cap.mode}${lambda.cap.reason ? `: ${lambda.cap.reason}` : ''})`);
  // A catch-up reads up to 75 periods of every timing series (maxCycleSpan, the revision window, settle): keep them all drawn once.
  setRawCacheSize(Math.max(400_000, Math.max(options.outageSize, options.sizingOutageSize, ...options.sizes) * 4 * 80));
  if (!existsSync(CLI) || !existsSync(PRELOAD)) throw new Error(`${relative(REPO_ROOT, CLI)} or the preload is missing: run \`npm run build\` first (\`npm run bench\` does)`);
  ensurePrometheus(log);
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-bench-'));
  try {
    const idle = await idleProcess(work);
    log(`idle: ${idle.rssMiB.toFixed(0)} MiB`);
    const sizes: SizeResult[] = [];
    for (const variants of options.sizes) sizes.push(await runSize(variants, options.latency));
    let outages: OutageResult[] = [];
    if (options.outageSize > 0 && options.outages.length > 0) {
      const result = await runOutages(options.outageSize, options.outages, options.latency);
      sizes.push(result.size);
      outages = result.outages;
    }
    if (options.sizingOutageSize > 0) outages.push(...(await runOutages(options.sizingOutageSize, [360], options.latency)).outages);
    // Cold init first of the peers: the serde peer's large answers leave V8's background collector threads busy in
    // this process for a while, and its child processes' start-ups measured 180-770 ms behind them (165 ms alone).
    log('cold init');
    const cold = coldInit();
    log('encoders');
    const encoders = await compareEncoders();
    log('GetMetricData serde');
    const serde = await compareGetMetricDataSerde();
    log('series table');
    const seriesTable = seriesTableFigures();
    let inProcess: string | undefined;
    if (options.inProcess) {
      log('in-process figures (test/bench/bench.ts)');
      inProcess = await inProcessFigures();
    }
    const text = render({ options, idle, sizes, outages, encoders, serde, cold, seriesTable, inProcess, minutes: (performance.now() - started) / MINUTE });
    process.stdout.write(`${text}\n`);
    if (options.out) writeFileSync(options.out, `${text}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    lambda.cap?.dispose();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack}\n`);
  process.exit(1);
});
