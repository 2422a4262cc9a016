import { DEFAULT_GET_METRIC_DATA_TPS, defaultSampleBudget } from './bridge-config';

/**
 * What one bridge shard can carry, from CPU as well as memory, written once for the synth-time sizing check
 * (lib/config/bridge-sizing.ts), `inferwatch cost` (the Lambda's bill) and the README's arithmetic.
 *
 * Lambda gives a function CPU in proportion to its memory: the equivalent of one vCPU at 1,769 MB ("Configure Lambda
 * function memory", AWS Lambda developer guide), so a cycle that needs C CPU-seconds takes at least C / (MB / 1,769)
 * seconds of wall. The coefficients are `npm run bench` figures (test/bench/RESULTS.md, histograms, one process per
 * cycle on this repository's x86 machine; Lambda's Arm cores are not faster per core, so they are not discounted).
 */

/** Lambda's documented ratio: one vCPU at 1,769 MB, linear in memory. */
export const LAMBDA_MB_PER_VCPU = 1769;

/** The bridge function's memory when `workloads[].bridge.memoryMiB` is not set: see `variantsPerShardByCpu` and docs/measured.md (Lambda sizing) for why. */
export const DEFAULT_BRIDGE_MEMORY_MIB = 1024;

/** The share of the function's timeout a cycle may use: the rest is headroom for a slow AWS or receiver. */
export const TIMEOUT_SHARE = 0.5;

/**
 * CPU-seconds a cycle spends, measured (`npm run bench`; docs/measured.md has the runs), kept as an upper bound:
 * - `fixedSeconds`: node starting and loading the bridge (the idle process: 0.5 s);
 * - `steadyPerVariant`: a steady cycle (5 new periods, the 10-minute revision window read again) per real-time
 *   variant: 3.8 ms at 1,000 variants (4.3 CPU-s), 3.4-3.6 ms at 5,000 (17.5 and 18.5 CPU-s), before the CPU cuts of
 *   issue 23; since then 1.6-2.0 ms at 5,000 and 10,000 (8.7-10.1 and 16.0-17.6 CPU-s, test/bench/RESULTS.md);
 * - `catchUpPerVariant`: a catch-up cycle after a 6 h outage per variant, beside what it writes: it reads the hours
 *   too old for the receiver, whose counters carry their sums: 3.9 ms at 5,000 variants (19.6-20.1 CPU-s a cycle);
 * - `perSampleWritten`: each sample a catch-up cycle writes within its sample budget: 2.6 µs (1,000 variants, a 1 h
 *   outage caught up in one cycle of 1.79 M samples: 8.4 CPU-s against 4.3 for the steady cycle's 0.19 M).
 * The bridge now spends about half of this (a 6 h catch-up at 10,000 variants: 28.8 CPU-s where the model says 66.5);
 * the coefficients stay at the higher figures, so the sizing check errs towards smaller shards, and the bench checks
 * the estimate against a measured 6 h catch-up near the check's limit (test/bench/fleet-bench.ts, `sizingTargets`).
 */
export const MEASURED_CPU_SECONDS = {
  fixedSeconds: 0.5,
  steadyPerVariant: 0.0038,
  catchUpPerVariant: 0.004,
  perSampleWritten: 0.0000026,
} as const;

/**
 * GetMetricData calls a cycle makes per real-time variant with histogram latency, measured (`npm run bench`,
 * 2026-12-05; each at the per-window minimum of 500 queries a call): a steady cycle 370 calls at 5,000 variants; the
 * first catch-up cycle after a 6 h outage, which reads the hours too old for the receiver at a coarse period beside
 * its last hour, 689 at 5,000 and 1,377 at 10,000. The bridge starts at most `getMetricDataTps` calls a second, so a
 * cycle's wall is at least its calls over that rate, whatever its CPU share.
 */
export const MEASURED_GET_METRIC_DATA_CALLS = {
  steadyPerVariant: 0.074,
  catchUpPerVariant: 0.1378,
} as const;

/** Samples one real-time variant yields per period with histogram latency (the series-limit formula's count, an upper bound). */
export const SAMPLES_PER_VARIANT_PERIOD = 45;

export function cpuShare(memoryMiB: number): number {
  return memoryMiB / LAMBDA_MB_PER_VCPU;
}

export interface CycleEstimate {
  readonly variants: number;
  readonly memoryMiB: number;
  readonly share: number;
  readonly steadyCpuSeconds: number;
  /** GetMetricData calls of a steady cycle, and the seconds they take at `getMetricDataTps` at least. */
  readonly steadyCalls: number;
  readonly steadyCallSeconds: number;
  /** The larger of the CPU-seconds at the share and the calls' seconds. */
  readonly steadyWallSeconds: number;
  /** The sample budget a catch-up cycle forwards at this memory (`maxSamplesPerCycle`'s default unless given). */
  readonly sampleBudget: number;
  readonly catchUpCpuSeconds: number;
  readonly catchUpCalls: number;
  readonly catchUpCallSeconds: number;
  readonly catchUpWallSeconds: number;
  /** Periods one catch-up cycle forwards: more than the schedule's minutes, or a backlog never shrinks. */
  readonly catchUpPeriods: number;
}

/** What a shard's cycle estimate depends on beside its variants and memory. */
export interface CycleOptions {
  /** `bridge.config.maxSamplesPerCycle` when set. @default the bridge's budget for the memory */
  readonly maxSamplesPerCycle?: number;
  /** `bridge.config.getMetricDataTps` when set. @default 25 */
  readonly getMetricDataTps?: number;
}

/** A steady and a catch-up cycle of one shard of `variants`, at the CPU share of `memoryMiB` and its GetMetricData rate. */
export function cycleEstimate(input: { readonly variants: number; readonly memoryMiB: number } & CycleOptions): CycleEstimate {
  const cpu = MEASURED_CPU_SECONDS;
  const tps = input.getMetricDataTps ?? DEFAULT_GET_METRIC_DATA_TPS;
  const steadyCalls = Math.ceil(MEASURED_GET_METRIC_DATA_CALLS.steadyPerVariant * input.variants);
  const catchUpCalls = Math.ceil(MEASURED_GET_METRIC_DATA_CALLS.catchUpPerVariant * input.variants);
  const share = cpuShare(input.memoryMiB);
  const sampleBudget = input.maxSamplesPerCycle ?? defaultSampleBudget({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(input.memoryMiB) }, 0);
  const samplesPerPeriod = Math.max(1, input.variants * SAMPLES_PER_VARIANT_PERIOD);
  const written = Math.min(sampleBudget, samplesPerPeriod * 60);
  const steadyCpuSeconds = cpu.fixedSeconds + cpu.steadyPerVariant * input.variants;
  const catchUpCpuSeconds = cpu.fixedSeconds + cpu.catchUpPerVariant * input.variants + cpu.perSampleWritten * written;
  return {
    variants: input.variants,
    memoryMiB: input.memoryMiB,
    share,
    steadyCpuSeconds,
    steadyCalls,
    steadyCallSeconds: steadyCalls / tps,
    steadyWallSeconds: Math.max(steadyCpuSeconds / share, steadyCalls / tps),
    sampleBudget,
    catchUpCpuSeconds,
    catchUpCalls,
    catchUpCallSeconds: catchUpCalls / tps,
    catchUpWallSeconds: Math.max(catchUpCpuSeconds / share, catchUpCalls / tps),
    catchUpPeriods: Math.floor(sampleBudget / samplesPerPeriod),
  };
}

/**
 * The most real-time variants one shard keeps within `TIMEOUT_SHARE` of its timeout at the CPU share of its memory and
 * its GetMetricData rate, in a steady cycle and in each catch-up cycle, and whose catch-up forwards at least twice the
 * schedule's periods a cycle. (Memory is counted apart, by lib/config/bridge-sizing.ts.)
 */
export function variantsPerShardByCpu(input: { readonly memoryMiB: number; readonly timeoutSeconds: number; readonly scheduleMinutes: number } & CycleOptions): number {
  const fits = (variants: number) => {
    const e = cycleEstimate({ ...input, variants });
    const limit = input.timeoutSeconds * TIMEOUT_SHARE;
    return e.steadyWallSeconds <= limit && e.catchUpWallSeconds <= limit && e.catchUpPeriods >= 2 * input.scheduleMinutes;
  };
  let low = 0;
  let high = 1_000_000;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}
