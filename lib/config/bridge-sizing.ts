import { expectedSeries, type FleetSize } from './series-limits';

/**
 * Series one bridge shard was measured to carry at 512 MB (153 MiB heap): 10,000 variants with histogram latency
 * (`npm run bench`: steady cycle 298 MiB RSS; README "Measured"), counted by the series-limit formula, which counts
 * more series a variant than the bench fleet has. Memory per series is about constant, so a shard's measured
 * capacity scales with the function's memory.
 */
export const MEASURED_SERIES_PER_SHARD_AT_512_MIB = expectedSeries({ variants: 10_000, neuronHosts: 0, latency: 'histogram' });

export interface ShardSizing {
  readonly fleet: FleetSize;
  readonly shards: number;
  readonly memoryMiB: number;
}

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
    `set "${workloadKey}.bridge.shards" to ${shardsNeeded} or more, or "${workloadKey}.bridge.memoryMiB" to ${Math.min(memoryNeeded, 10240)}, or latency: summary (27 series a variant instead of 45)`
  );
}
