import { cycleEstimate, MEASURED_CPU_SECONDS, MEASURED_GET_METRIC_DATA_CALLS, TIMEOUT_SHARE, variantsPerShardByCpu, type CycleOptions } from '../../contract/bridge-capacity';
import { DEFAULT_GET_METRIC_DATA_TPS } from '../../contract/bridge-config';
import { expectedSeries, SELF_SERIES_PER_BRIDGE, SERIES_PER_VARIANT_BY_LATENCY, type FleetSize } from './series-limits';

/**
 * Series one bridge shard was measured to carry at 512 MB (153 MiB heap): 10,000 variants with histogram latency
 * (`npm run bench -- --memory 512 --sizes 10000`, 2026-12-05: first cycle 215 MiB RSS, steady 210-214 MiB; 298 MiB
 * before issue 23's memory cuts), counted by the series-limit formula, which counts
 * more series a variant than the bench fleet has. Memory per series is about constant, so a shard's measured
 * capacity scales with the function's memory.
 */
export const MEASURED_SERIES_PER_SHARD_AT_512_MIB = expectedSeries({ variants: 10_000, neuronHosts: 0, latency: 'histogram' });

/** A workload's shard as synth sees it; `CycleOptions` carries the bridge config keys the estimate reads. */
export interface ShardSizing extends CycleOptions {
  readonly fleet: FleetSize;
  readonly shards: number;
  readonly memoryMiB: number;
  /** The function's timeout. @default 240 */
  readonly timeoutSeconds?: number;
  /** Minutes between cycles. @default 5 */
  readonly scheduleMinutes?: number;
}

/** CloudWatch's default GetMetricData quota, per account and Region (CloudWatch service quotas; adjustable). */
export const GET_METRIC_DATA_QUOTA_TPS = 50;

/** What synth says about a shard's size: errors fail the synth, warnings are shown. */
export interface ShardSizingProblems {
  readonly errors: string[];
  readonly warnings: string[];
}

const MAX_MEMORY_MIB = 10_240;

/**
 * A warning when one shard would hold more series than a bridge of that memory was measured to carry (it runs out of
 * heap and commits nothing), naming the keys that fix it; undefined when the declared fleet fits.
 */
export function shardSizingWarning(sizing: ShardSizing, workloadKey: string): string | undefined {
  const perShard = expectedSeries(sizing.fleet) / sizing.shards;
  const capacity = (MEASURED_SERIES_PER_SHARD_AT_512_MIB * sizing.memoryMiB) / 512;
  if (perShard <= capacity) return undefined;
  const shardsNeeded = Math.ceil(expectedSeries(sizing.fleet) / capacity);
  const memoryNeeded = Math.ceil(((perShard / MEASURED_SERIES_PER_SHARD_AT_512_MIB) * 512) / 64) * 64;
  return (
    `${workloadKey}: ${sizing.fleet.variants.toLocaleString('en-US')} declared variants (${Math.round(perShard).toLocaleString('en-US')} series a shard with latency ` +
    `${sizing.fleet.latency ?? 'histogram'}) are more than a ${sizing.memoryMiB} MB bridge was measured to carry (${Math.round(capacity).toLocaleString('en-US')} series): ` +
    `set "${workloadKey}.bridge.shards" to ${shardsNeeded} or more, or "${workloadKey}.bridge.memoryMiB" to ${Math.min(memoryNeeded, MAX_MEMORY_MIB)}, or latency: summary (27 series a variant instead of 45)`
  );
}

/**
 * The sizing check at synth, memory and CPU both: the memory warning above, and, from the measured CPU-seconds
 * (contract/bridge-capacity.ts), whether a steady cycle and each catch-up cycle of one shard finish within half the
 * timeout at the CPU share Lambda gives the memory (1,769 MB = one vCPU), and whether a catch-up gains on the
 * schedule. Over half the timeout is a warning; over the whole timeout an error (such a shard never commits). A
 * shard's load counts its series in histogram variants (Neuron hosts and summaries count for less).
 */
export function shardSizingProblems(sizing: ShardSizing, workloadKey: string): ShardSizingProblems {
  const errors: string[] = [];
  const warnings: string[] = [];
  const memory = shardSizingWarning(sizing, workloadKey);
  if (memory) warnings.push(memory);
  const timeout = sizing.timeoutSeconds ?? 240;
  const schedule = sizing.scheduleMinutes ?? 5;
  const budget: CycleOptions = {
    ...(sizing.maxSamplesPerCycle !== undefined ? { maxSamplesPerCycle: sizing.maxSamplesPerCycle } : {}),
    ...(sizing.getMetricDataTps !== undefined ? { getMetricDataTps: sizing.getMetricDataTps } : {}),
  };
  const tps = sizing.getMetricDataTps ?? DEFAULT_GET_METRIC_DATA_TPS;
  if (sizing.shards * tps > GET_METRIC_DATA_QUOTA_TPS) {
    warnings.push(
      `${workloadKey}: ${sizing.shards} shards at ${tps} GetMetricData calls a second each start up to ${sizing.shards * tps} a second together, over CloudWatch's default quota of ${GET_METRIC_DATA_QUOTA_TPS} for the account and Region, so their cycles wait on Throttling retries: set "${workloadKey}.bridge.config.getMetricDataTps" to ${Math.floor((GET_METRIC_DATA_QUOTA_TPS / sizing.shards) * 100) / 100} or less, or raise the quota in Service Quotas and getMetricDataTps with it`,
    );
  }
  const variants = Math.ceil((expectedSeries(sizing.fleet) - SELF_SERIES_PER_BRIDGE) / SERIES_PER_VARIANT_BY_LATENCY.histogram / sizing.shards);
  const e = cycleEstimate({ variants, memoryMiB: sizing.memoryMiB, ...budget });
  const half = timeout * TIMEOUT_SHARE;
  const cpu = MEASURED_CPU_SECONDS;
  const fix = (callsToFit?: number) => {
    // A faster rate helps only as far as the shards together stay within the Region's quota.
    const tpsNeeded = callsToFit === undefined ? undefined : Math.ceil(callsToFit / half);
    const faster = tpsNeeded !== undefined && tpsNeeded * sizing.shards <= GET_METRIC_DATA_QUOTA_TPS ? `"${workloadKey}.bridge.config.getMetricDataTps" to ${tpsNeeded} or more` : undefined;
    const capacity = variantsPerShardByCpu({ memoryMiB: sizing.memoryMiB, timeoutSeconds: timeout, scheduleMinutes: schedule, ...budget });
    const memoryNeeded = memoryThatFits(variants, timeout, schedule, budget);
    const shards = capacity > 0 ? Math.ceil((variants * sizing.shards) / capacity) : undefined;
    const parts = [
      faster,
      memoryNeeded !== undefined ? `"${workloadKey}.bridge.memoryMiB" to ${memoryNeeded} or more` : undefined,
      shards !== undefined ? `"${workloadKey}.bridge.shards" to ${shards} or more` : undefined,
      `"${workloadKey}.bridge.timeoutSeconds" higher (below the schedule's ${schedule * 60} s)`,
    ];
    return `set ${parts.filter((part) => part !== undefined).join(', or ')}`;
  };
  const at = `at ${sizing.memoryMiB} MB's CPU share (${e.share.toFixed(2)} vCPU; 1,769 MB is one)`;
  const shard = `${variants.toLocaleString('en-US')} histogram variants a shard (${sizing.fleet.variants.toLocaleString('en-US')} declared over ${sizing.shards})`;
  const calls = MEASURED_GET_METRIC_DATA_CALLS;
  for (const [name, wall, cpuSeconds, basis, callCount, callsPerVariant] of [
    ['a steady cycle', e.steadyWallSeconds, e.steadyCpuSeconds, `${(cpu.steadyPerVariant * 1000).toFixed(1)} ms a variant`, e.steadyCalls, calls.steadyPerVariant],
    ['a catch-up cycle', e.catchUpWallSeconds, e.catchUpCpuSeconds, `${(cpu.catchUpPerVariant * 1000).toFixed(1)} ms a variant and ${(cpu.perSampleWritten * 1e6).toFixed(1)} µs for each of up to ${e.sampleBudget.toLocaleString('en-US')} samples`, e.catchUpCalls, calls.catchUpPerVariant],
  ] as const) {
    if (wall <= half) continue;
    const over = `over ${wall > timeout ? 'the whole' : 'half the'} ${timeout} s timeout`;
    const boundByCalls = callCount / tps > cpuSeconds / e.share;
    const message = boundByCalls
      ? `${workloadKey}: ${name} of ${shard} makes about ${callCount.toLocaleString('en-US')} GetMetricData calls (measured: ${callsPerVariant} a variant), ${wall.toFixed(0)} s at ${tps} calls a second ("getMetricDataTps"), ${over}: ${fix(callCount)}`
      : `${workloadKey}: ${name} of ${shard} needs about ${cpuSeconds.toFixed(0)} CPU-seconds (measured: ${basis}), ${wall.toFixed(0)} s ${at}, ${over}: ${fix()}`;
    (wall > timeout ? errors : warnings).push(message);
  }
  if (e.catchUpPeriods < 2 * schedule) {
    warnings.push(
      `${workloadKey}: a catch-up cycle of ${shard} forwards ${e.catchUpPeriods} one-minute periods (its sample budget, ${e.sampleBudget.toLocaleString('en-US')} samples), fewer than twice the ${schedule} minutes between cycles, so an outage's backlog shrinks slowly or never: ${fix()}`,
    );
  }
  return { errors, warnings };
}

/** The least memory (a multiple of 64 MB) at which the shard fits; undefined when even 10,240 MB does not. */
function memoryThatFits(variants: number, timeoutSeconds: number, scheduleMinutes: number, budget: CycleOptions): number | undefined {
  for (let memoryMiB = 128; memoryMiB <= MAX_MEMORY_MIB; memoryMiB += 64) {
    if (variantsPerShardByCpu({ memoryMiB, timeoutSeconds, scheduleMinutes, ...budget }) >= variants) return memoryMiB;
  }
  return undefined;
}
