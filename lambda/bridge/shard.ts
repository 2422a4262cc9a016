import { createHash } from 'node:crypto';
import type { DiscoveredMetric } from './cloudwatch/discovery';

/** A stable shard for an endpoint name: the same on every runtime and every deploy. */
export function shardOf(endpointName: string, count: number): number {
  if (count <= 1) return 0;
  return createHash('sha256').update(endpointName).digest().readUInt32BE(0) % count;
}

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export function endpointInShard(endpointName: string, shard: Shard): boolean {
  return shardOf(endpointName, shard.count) === shard.index;
}

/** Metrics of an endpoint belong to its shard; metrics of no endpoint (Neuron hosts) belong to shard 0. */
export function metricInShard(metric: DiscoveredMetric, shard: Shard): boolean {
  const endpoint = metric.dimensions.find((d) => d.Name === 'EndpointName')?.Value;
  return endpoint === undefined ? shard.index === 0 : endpointInShard(endpoint, shard);
}
