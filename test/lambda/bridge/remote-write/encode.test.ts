import * as snappy from 'snappyjs';
import { BatchBuilder } from '../../../../lambda/bridge/remote-write/batcher';
import { Catalog, loadDefaultCatalog } from '../../../../lambda/bridge/catalog/catalog';
import { allFamilies, familyLookup } from '../../../../lambda/bridge/families';
import { decodeMetadataRequest, decodeWriteRequest, encodeMetadataRequest, encodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import { ExpositionWriter, toExposition, UNDESCRIBED } from '../../../../lambda/bridge/remote-write/exposition';
import { buildLabels, type TimeSeries } from '../../../../lambda/bridge/series';

const series = (name: string, n: number, labels: Record<string, string> = {}): TimeSeries => ({
  labels: buildLabels(name, labels),
  samples: Array.from({ length: n }, (_, i) => ({ timestamp: 1_800_000_000_000 + i * 60_000, value: i + 0.5 })),
  kind: 'gauge',
});

describe('remote-write encoding', () => {
  test('labels are sorted by name, __name__ included, empty values left out', () => {
    expect(buildLabels('m', { zeta: '1', alpha: '2', empty: '' }).map((l) => l.name)).toEqual(['__name__', 'alpha', 'zeta']);
  });

  test('round-trips through protobuf and snappy block format with millisecond int64 timestamps', () => {
    const body = encodeWriteRequest([series('aws_x', 3, { endpoint_name: '東京' })]);
    // Snappy block format starts with the uncompressed length as a varint, not the framing format's stream identifier.
    expect(Buffer.from(body.subarray(0, 4)).toString('latin1')).not.toBe('\xff\x06\x00\x00');
    expect(snappy.uncompress(body).length).toBeGreaterThan(0);
    expect(decodeWriteRequest(body)).toEqual([
      {
        labels: [
          { name: '__name__', value: 'aws_x' },
          { name: 'endpoint_name', value: '東京' },
        ],
        samples: [
          { value: 0.5, timestamp: 1_800_000_000_000 },
          { value: 1.5, timestamp: 1_800_000_060_000 },
          { value: 2.5, timestamp: 1_800_000_120_000 },
        ],
      },
    ]);
  });

  // The builder knows a series by its object, as the cycle's one object per query.
  const identities = new Map<ReturnType<typeof series>, { labels: ReturnType<typeof series>['labels']; kind: 'gauge' }>();
  const add = (builder: BatchBuilder, s: ReturnType<typeof series>, from = 0, to = s.samples.length) => {
    const identity = identities.get(s) ?? { labels: s.labels, kind: 'gauge' as const };
    identities.set(s, identity);
    builder.add(identity, s.samples.slice(from, to));
  };

  test('requests hold at most maxSamples; one series goes on in the next request in time order; one add is never split', () => {
    const builder = new BatchBuilder(4, 'stream');
    const [a, b, c] = [series('a', 3), series('b', 5), series('c', 1)];
    add(builder, a);
    add(builder, b, 0, 1);
    add(builder, b, 1, 3);
    add(builder, b, 3, 5);
    add(builder, c);
    builder.close();
    const batches = builder.drain();
    expect(batches.map((x) => x.series.map((s) => `${s.labels[0]?.value}:${s.samples.length}`))).toEqual([['a:3', 'b:1'], ['b:4'], ['c:1']]);
    expect(batches.map((x) => x.samples)).toEqual([4, 4, 1]);
    const times = batches.flatMap((x) => x.series).filter((s) => s.labels[0]?.value === 'b').flatMap((s) => s.samples.map((x) => x.timestamp));
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  test('after lost state, one group of requests per timestamp, oldest first', () => {
    const grouped = (max: number) => {
      const builder = new BatchBuilder(max, 'byTimestamp');
      add(builder, series('a', 3));
      add(builder, series('b', 2));
      builder.close();
      return builder.drain();
    };
    expect(grouped(1).map((x) => x.series.map((s) => `${s.labels[0]?.value}@${(s.samples[0]?.timestamp ?? 0) - 1_800_000_000_000}`))).toEqual([['a@0'], ['b@0'], ['a@60000'], ['b@60000'], ['a@120000']]);
    expect(grouped(10).map((x) => x.series.length)).toEqual([2, 2, 1]);
  });

  test('the text exposition escapes label values and keeps timestamps', () => {
    const text = toExposition([{ ...series('m', 1, { path: 'a"b\\c\nd' }), kind: 'counter' }]);
    expect(text).toBe(`# HELP m ${UNDESCRIBED}\n# TYPE m counter\nm{path="a\\"b\\\\c\\nd"} 0.5 1800000000000\n`);
  });

  test('a summary is one family: _sum and _count lines inside it, HELP from the catalog, escaped', () => {
    const lookup = familyLookup(new Catalog(loadDefaultCatalog(), 'inferwatch', 'neuron_monitor', 'summary'));
    const latency = (name: string, labels: Record<string, string>, kind: 'counter' | 'gauge'): TimeSeries => ({ ...series(name, 1, { endpoint_name: 'e', ...labels }), kind });
    let out = '';
    const writer = new ExpositionWriter((text) => (out += text), lookup);
    // The plan's order: every _sum series, then every _count, then each quantile across dimension sets.
    writer.add([latency('aws_sagemaker_model_latency_seconds_sum', {}, 'counter'), latency('aws_sagemaker_model_latency_seconds_count', {}, 'counter')]);
    writer.add([latency('aws_sagemaker_model_latency_seconds', { quantile: '0.5' }, 'gauge'), latency('aws_sagemaker_model_latency_seconds', { quantile: '0.99' }, 'gauge')]);
    writer.add([{ ...series('aws_sagemaker_invocations_total', 1), kind: 'counter' }]);
    expect(out.split('\n').filter((l) => l.startsWith('#'))).toEqual([
      '# HELP aws_sagemaker_model_latency_seconds CloudWatch AWS/SageMaker ModelLatency, statistics Sum, SampleCount, p50, p90, p99; CloudWatch unit Microseconds, multiplied by 0.000001',
      '# TYPE aws_sagemaker_model_latency_seconds summary',
      '# HELP aws_sagemaker_invocations_total CloudWatch AWS/SageMaker Invocations, statistic Sum, summed per period into a running total; CloudWatch unit None',
      '# TYPE aws_sagemaker_invocations_total counter',
    ]);
    expect(out).toContain('aws_sagemaker_model_latency_seconds_count{endpoint_name="e"} 0.5 1800000000000\n');
    expect(toExposition([series('x', 1)], () => ({ family: 'x', type: 'gauge', help: 'a\\b\nc' }))).toContain('# HELP x a\\\\b\\nc\n');
  });

  test('metadata requests carry each family with its type and HELP (prompb.MetricMetadata)', () => {
    const summaries = decodeMetadataRequest(encodeMetadataRequest(allFamilies(new Catalog(loadDefaultCatalog(), 'inferwatch', 'neuron_monitor', 'summary'))));
    expect(summaries).toContainEqual({ type: 'SUMMARY', metricFamilyName: 'aws_sagemaker_model_latency_seconds', help: expect.stringContaining('ModelLatency') as unknown, unit: '' });
    const catalog = new Catalog(loadDefaultCatalog());
    const metadata = decodeMetadataRequest(encodeMetadataRequest(allFamilies(catalog)));
    expect(metadata).toContainEqual({ type: 'HISTOGRAM', metricFamilyName: 'aws_sagemaker_model_latency_seconds', help: expect.stringContaining('ModelLatency, statistics TC(:le) per bucket') as unknown, unit: '' });
    expect(metadata.map((m) => m.metricFamilyName)).not.toContain('aws_sagemaker_model_latency_seconds_bucket');
    const both = decodeMetadataRequest(encodeMetadataRequest(allFamilies(new Catalog(loadDefaultCatalog(), 'inferwatch', 'neuron_monitor', 'both'))));
    expect(both.filter((m) => m.metricFamilyName.startsWith('aws_sagemaker_model_latency')).map((m) => [m.type, m.metricFamilyName])).toEqual([
      ['SUMMARY', 'aws_sagemaker_model_latency_quantile_seconds'],
      ['HISTOGRAM', 'aws_sagemaker_model_latency_seconds'],
    ]);
    expect(metadata).toContainEqual({ type: 'COUNTER', metricFamilyName: 'inferwatch_bridge_samples_written_total', help: 'Samples the remote-write receiver accepted.', unit: '' });
    expect(metadata.map((m) => m.metricFamilyName)).not.toContain('aws_sagemaker_model_latency_seconds_sum');
    expect(decodeWriteRequest(encodeMetadataRequest(allFamilies(catalog)))).toEqual([]);
  });
});
