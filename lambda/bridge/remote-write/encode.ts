import * as protobuf from 'protobufjs/light';
import * as snappy from 'snappyjs';
import descriptor from './prompb.json';
import type { TimeSeries } from '../series';

/** prompb.WriteRequest from Prometheus' remote-write 1.0 protocol (types.proto / remote.proto, the fields it sends). */
const WriteRequest = protobuf.Root.fromJSON(descriptor).lookupType('prometheus.WriteRequest');

/** Encodes a remote-write 1.0 request body: protobuf WriteRequest, snappy block format. */
export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  const message = WriteRequest.fromObject({
    timeseries: series.map((s) => ({ labels: s.labels, samples: s.samples })),
  });
  return snappy.compress(WriteRequest.encode(message).finish());
}

/** Decodes a request body (for tests and journal inspection). */
export function decodeWriteRequest(body: Uint8Array): Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }> {
  const decoded = WriteRequest.toObject(WriteRequest.decode(snappy.uncompress(body)), { longs: Number, defaults: true }) as {
    timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }>;
  };
  return decoded.timeseries;
}

export function countSamples(series: readonly TimeSeries[]): number {
  return series.reduce((n, s) => n + s.samples.length, 0);
}

/**
 * Splits series into requests of at most `maxSamples` samples. A series longer than that is split across
 * consecutive requests in timestamp order, so requests sent in order never step back in time for a series.
 */
export function splitIntoBatches(series: readonly TimeSeries[], maxSamples: number): TimeSeries[][] {
  const batches: TimeSeries[][] = [];
  let current: TimeSeries[] = [];
  let room = maxSamples;
  for (const s of series) {
    let offset = 0;
    while (offset < s.samples.length) {
      const take = Math.min(room, s.samples.length - offset);
      current.push({ ...s, samples: s.samples.slice(offset, offset + take) });
      offset += take;
      room -= take;
      if (room === 0) {
        batches.push(current);
        current = [];
        room = maxSamples;
      }
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * One group of requests per timestamp, oldest first. Used when the bridge starts without state: the receiver may
 * hold some of these periods already, and Prometheus rejects a whole request for one out-of-order sample, so
 * stored periods must fail alone instead of taking new ones down with them.
 */
export function splitByTimestamp(series: readonly TimeSeries[], maxSamples: number): TimeSeries[][] {
  const byTimestamp = new Map<number, TimeSeries[]>();
  for (const s of series) {
    for (const sample of s.samples) {
      const group = byTimestamp.get(sample.timestamp) ?? [];
      group.push({ ...s, samples: [sample] });
      byTimestamp.set(sample.timestamp, group);
    }
  }
  return [...byTimestamp.keys()].sort((a, b) => a - b).flatMap((timestamp) => splitIntoBatches(byTimestamp.get(timestamp) ?? [], maxSamples));
}
