/**
 * `npm run bench:profile`: where a fleet cycle's CPU goes. Runs the fleet bench (test/bench/fleet-bench.ts) at one size
 * with every bridge process under `node --cpu-prof`, then prints the top functions by self time of the steady full
 * read's profile (every class due; `--cycle counters` for the steady counters-only cycle, `--cycle first` for the
 * first), grouped by function and by module. The `.cpuprofile` files
 * stay in the directory printed (open them in Chrome DevTools' Performance tab for the call tree).
 *
 *   npm run bench:profile                                   # 10,000 variants, steady full read, top 10
 *   npm run bench:profile -- --variants 1000 --top 25
 *   npx tsx test/bench/profile.ts --summarize <file.cpuprofile>   # an existing profile
 *
 * Profiling costs the process some CPU of its own (a few percent): read the CPU seconds from `npm run bench`, and the
 * shares from here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../contract/errors';

const REPO_ROOT = join(__dirname, '..', '..');

/** The fleet bench's cycles at one size, in the order it runs them (after the idle process). */
const CYCLES = ['first', 'counters', 'full'] as const;

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

/** V8's `.cpuprofile` (the DevTools protocol's Profiler.Profile). */
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  /** Sampled time, idle excluded, ms. */
  readonly busyMs: number;
  readonly idleMs: number;
  readonly functions: SelfTime[];
  readonly modules: SelfTime[];
}

/** Where a script lives, short: `protobufjs`, `@smithy/core`, `lambda/bridge/translate.ts`, `node:internal/...`. */
export function moduleOf(url: string): string {
  if (url === '') return '(native or V8)';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf(`node_modules${sep}`);
  if (nm >= 0) {
    const parts = path.slice(nm + 'node_modules/'.length).split(sep);
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? path);
  }
  if (path.startsWith(REPO_ROOT)) return relative(REPO_ROOT, path).replace(/^dist\//, '').replace(/\.js$/, '.ts');
  return path;
}

function functionOf(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  return `${name} ${moduleOf(frame.url)}:${frame.lineNumber + 1}`;
}

function top(table: Map<string, number>, busyMs: number, n: number): SelfTime[] {
  return [...table]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => ({ name, ms, share: ms / busyMs }));
}

/** Self time by function and by module; each sample's time is the delta to the next one. */
export function summarize(profile: CpuProfile, n = 10): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = frames.get(profile.samples[i] as number);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const fn = functionOf(frame);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us / 1000);
    const module = frame.url === '' ? frame.functionName : moduleOf(frame.url);
    byModule.set(module, (byModule.get(module) ?? 0) + us / 1000);
  }
  const busyMs = busyUs / 1000;
  return { busyMs, idleMs: idleUs / 1000, functions: top(byFunction, busyMs, n), modules: top(byModule, busyMs, n) };
}

export function formatSummary(summary: ProfileSummary, title: string): string {
  const rows = (list: SelfTime[]) => list.map((row, i) => `| ${i + 1} | \`${row.name}\` | ${row.ms.toFixed(0)} | ${(row.share * 100).toFixed(1)} % |`);
  return [
    `${title}: ${(summary.busyMs / 1000).toFixed(1)} s sampled busy (idle ${(summary.idleMs / 1000).toFixed(1)} s)`,
    '',
    '| # | function (self time) | ms | share |',
    '| --- | --- | --- | --- |',
    ...rows(summary.functions),
    '',
    '| # | module (self time) | ms | share |',
    '| --- | --- | --- | --- |',
    ...rows(summary.modules),
  ].join('\n');
}

function load(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

function main(): void {
  const program = new Command('bench:profile')
    .option('--variants <n>', 'fleet size', '10000')
    .option('--cycle <which>', `${CYCLES.join(', ')} (steady counters-only, or the full read at the CPU share)`, 'full')
    .option('--top <n>', 'rows to print', '10')
    .option('--summarize <file>', 'only summarize an existing .cpuprofile')
    .parse(process.argv);
  const opts = program.opts<{ variants: string; cycle: string; top: string; summarize?: string }>();
  if (!(CYCLES as readonly string[]).includes(opts.cycle)) throw new UsageError(`--cycle must be one of ${CYCLES.join(', ')}, not ${opts.cycle}`);
  const n = Number(opts.top);
  if (opts.summarize) {
    process.stdout.write(`${formatSummary(summarize(load(opts.summarize), n), opts.summarize)}\n`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'inferwatch-cpu-prof-'));
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fleet-bench.ts'), '--sizes', opts.variants, '--outage-size', '0', '--no-in-process', '--out', join(dir, 'RESULTS.md')], {
    cwd: REPO_ROOT,
    env: { ...process.env, BENCH_CPU_PROF_DIR: dir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`the fleet bench failed (exit ${run.status ?? run.signal})`);
  // In the order the bench runs them: the idle process, the first cycle, the steady counters-only cycle, the steady
  // cycle at the CPU share (5 minutes later: every class due, the full read).
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  const file = profiles[CYCLES.indexOf(opts.cycle as (typeof CYCLES)[number]) + 1];
  if (profiles.length !== CYCLES.length + 1 || !file) throw new Error(`expected ${CYCLES.length + 1} profiles in ${dir} (the idle process and ${CYCLES.join(', ')}), found ${profiles.length}`);
  process.stdout.write(`${formatSummary(summarize(load(file), n), `${Number(opts.variants).toLocaleString('en')} variants, ${opts.cycle} cycle (${file})`)}\n`);
  process.stdout.write(`\nThe bench's report (CPU seconds there include the profiler's own): ${join(dir, 'RESULTS.md')}\n`);
}

if (require.main === module) main();
