import * as snappy from 'snappyjs';
import { BatchBuilder } from '../../../../lambda/bridge/remote-write/batcher';
import { decodeWriteRequest, encodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import { toExposition } from '../../../../lambda/bridge/remote-write/exposition';
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
    expect(text).toBe('# TYPE m counter\nm{path="a\\"b\\\\c\\nd"} 0.5 1800000000000\n');
  });
});
