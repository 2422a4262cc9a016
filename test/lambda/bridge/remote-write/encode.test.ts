import * as snappy from 'snappyjs';
import { decodeWriteRequest, encodeWriteRequest, splitByTimestamp, splitIntoBatches } from '../../../../lambda/bridge/remote-write/encode';
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

  test('batches hold at most maxSamples, and a long series continues in the next batch in time order', () => {
    const batches = splitIntoBatches([series('a', 3), series('b', 5), series('c', 1)], 4);
    expect(batches.map((b) => b.map((s) => `${s.labels[0]?.value}:${s.samples.length}`))).toEqual([['a:3', 'b:1'], ['b:4'], ['c:1']]);
    const b = batches.flat().filter((s) => s.labels[0]?.value === 'b').flatMap((s) => s.samples.map((x) => x.timestamp));
    expect(b).toEqual([...b].sort((x, y) => x - y));
  });

  test('after lost state, one group of requests per timestamp, oldest first', () => {
    const batches = splitByTimestamp([series('a', 3), series('b', 2)], 1);
    expect(batches.map((b) => b.map((s) => `${s.labels[0]?.value}@${(s.samples[0]?.timestamp ?? 0) - 1_800_000_000_000}`))).toEqual([['a@0'], ['b@0'], ['a@60000'], ['b@60000'], ['a@120000']]);
    expect(splitByTimestamp([series('a', 3), series('b', 2)], 10).map((b) => b.length)).toEqual([2, 2, 1]);
  });

  test('the text exposition escapes label values and keeps timestamps', () => {
    const text = toExposition([{ ...series('m', 1, { path: 'a"b\\c\nd' }), kind: 'counter' }]);
    expect(text).toBe('# TYPE m counter\nm{path="a\\"b\\\\c\\nd"} 0.5 1800000000000\n');
  });
});
