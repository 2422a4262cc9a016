import * as protobuf from 'protobufjs/light';
import * as snappy from 'snappyjs';
import descriptor from './prompb.json';
import type { FamilyInfo } from '../catalog/catalog';
import type { TimeSeries } from '../series';

/** prompb.WriteRequest from Prometheus' remote-write 1.0 protocol (types.proto / remote.proto, the fields it sends). */
const WriteRequest = protobuf.Root.fromJSON(descriptor).lookupType('prometheus.WriteRequest');

/** Encodes a remote-write 1.0 request body: protobuf WriteRequest, snappy block format. */
export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  // protobufjs encodes plain objects of the message's shape (numbers for int64 included) as they are: no
  // fromObject copy of every label and sample first. TimeSeries' extra `kind` is no field of the message.
  return snappy.compress(WriteRequest.encode({ timeseries: series }).finish());
}

const METRIC_TYPES: Record<FamilyInfo['type'], string> = { counter: 'COUNTER', gauge: 'GAUGE', summary: 'SUMMARY', histogram: 'HISTOGRAM' };

/**
 * A metadata-only remote-write 1.0 request: each family's type and HELP (prompb.MetricMetadata, WriteRequest field
 * 3), so a summary's or histogram's `_sum`/`_count` (and `_bucket`) are known as parts of one family. Sent apart from samples, once a cycle.
 */
export function encodeMetadataRequest(families: readonly FamilyInfo[]): Uint8Array {
  const message = WriteRequest.fromObject({
    metadata: families.map((f) => ({ type: METRIC_TYPES[f.type], metricFamilyName: f.family, help: f.help })),
  });
  return snappy.compress(WriteRequest.encode(message).finish());
}

export function decodeMetadataRequest(body: Uint8Array): Array<{ type: string; metricFamilyName: string; help: string; unit: string }> {
  const decoded = WriteRequest.toObject(WriteRequest.decode(snappy.uncompress(body)), { enums: String, defaults: true }) as {
    metadata: Array<{ type: string; metricFamilyName: string; help: string; unit: string }>;
  };
  return decoded.metadata;
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
