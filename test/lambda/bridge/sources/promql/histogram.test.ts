import { histogramSeries, leBounds, periodValues } from '../../../../../lambda/bridge/sources/promql/histogram';
import { loadPromQlMapping } from '../../../../../lambda/bridge/sources/promql/mapping';
import { buildLabels } from '../../../../../lambda/bridge/series';

const buckets = { exponent: 0, lowest: -2, highest: 1 }; // le 0.25, 0.5, 1, 2

describe('PromQL histograms as Prometheus classic histograms', () => {
  test('le bounds are powers of 2^(2^-exponent), scaled to base units', () => {
    expect(leBounds(buckets, 1)).toEqual([0.25, 0.5, 1, 2]);
    expect(leBounds({ exponent: 1, lowest: 0, highest: 2 }, 1000)).toEqual([1000, 1000 * Math.SQRT2, 2000]);
  });

  test('served buckets at the exponent or finer are counted exactly in the le they lie under, cumulatively', () => {
    // Scale 1 buckets (2^(i/2)): (0.5, 0.707] and (0.707, 1] both lie under le 1; (1, 1.414] under le 2.
    const values = periodValues(buckets, {
      count: '10',
      sum: '7.5',
      buckets: [
        [3, '0', '0', '1'],
        [0, '0.5', '0.7071067811865476', '2'],
        [0, '0.7071067811865476', '1', '3'],
        [0, '1', '1.4142135623730951', '4'],
      ],
    });
    // le 0.25, 0.5, 1, 2, +Inf, _sum, _count
    expect(values).toEqual([1, 1, 6, 10, 10, 7.5, 10]);
  });

  test('a coarser served bucket is counted whole at the first le at or above its upper bound; beyond the last le only +Inf counts it', () => {
    const values = periodValues(buckets, {
      count: '5',
      sum: '30',
      buckets: [
        [0, '0.0625', '0.125', '1'], // below the lowest bound: in the first bucket
        [0, '0.25', '1', '2'], // scale -1: spans le 0.5 and 1, counted at 1
        [0, '4', '8', '2'], // above the highest: +Inf only
      ],
    });
    expect(values).toEqual([1, 1, 3, 3, 5, 30, 5]);
  });

  test('one source series becomes _bucket per le, +Inf, _sum and _count, with the source labels', () => {
    const ttft = loadPromQlMapping().metrics.find((m) => m.source === 'vllm:time_to_first_token_seconds');
    if (!ttft) throw new Error('no TTFT mapping');
    const series = histogramSeries(ttft, buildLabels(ttft.name, { engine: 'vllm', instance_id: 'i-1' }));
    const names = series.map((s) => Object.fromEntries(s.labels.map((l) => [l.name, l.value])));
    expect(names.at(0)).toEqual({ __name__: 'sagemaker_llm_time_to_first_token_seconds_bucket', engine: 'vllm', instance_id: 'i-1', le: '0.0009765625' });
    expect(names.slice(-3)).toEqual([
      { __name__: 'sagemaker_llm_time_to_first_token_seconds_bucket', engine: 'vllm', instance_id: 'i-1', le: '+Inf' },
      { __name__: 'sagemaker_llm_time_to_first_token_seconds_sum', engine: 'vllm', instance_id: 'i-1' },
      { __name__: 'sagemaker_llm_time_to_first_token_seconds_count', engine: 'vllm', instance_id: 'i-1' },
    ]);
    expect(series).toHaveLength(periodValues(ttft.buckets as typeof buckets, { count: '0', sum: '0' }).length);
  });
});
