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
