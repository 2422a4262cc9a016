import { formatLe } from '../../catalog/catalog';
import { buildLabels, type Label } from '../../series';
import type { NativeHistogram } from './client';
import type { PromQlMetric } from './mapping';

type Buckets = NonNullable<PromQlMetric['buckets']>;

/** The finite `le` bounds of a histogram entry, ascending, in base units. */
export function leBounds(buckets: Buckets, scale: number): number[] {
  return Array.from({ length: buckets.highest - buckets.lowest + 1 }, (_, k) => scale * 2 ** ((buckets.lowest + k) * 2 ** -buckets.exponent));
}

/**
 * The Prometheus series one source histogram series becomes, in the order `periodValues` fills them: a `_bucket`
 * per finite `le`, the `+Inf` bucket, `_sum`, `_count`. All counters: each period's delta is added to a total.
 */
export function histogramSeries(metric: PromQlMetric, labels: readonly Label[]): Array<{ labels: Label[]; scale: number }> {
  const rest: Record<string, string> = {};
  for (const label of labels) if (label.name !== '__name__') rest[label.name] = label.value;
  const buckets = leBounds(metric.buckets as Buckets, metric.scale).map((le) => buildLabels(`${metric.name}_bucket`, { ...rest, le: formatLe(le) }));
  return [
    ...buckets.map((l) => ({ labels: l, scale: 1 })),
    { labels: buildLabels(`${metric.name}_bucket`, { ...rest, le: '+Inf' }), scale: 1 },
    { labels: buildLabels(`${metric.name}_sum`, rest), scale: metric.scale },
    { labels: buildLabels(`${metric.name}_count`, rest), scale: 1 },
  ];
}

/**
 * One period's histogram (the sum of its OTel deltas, as CloudWatch serves it) as the values of `histogramSeries`:
 * each `_bucket{le}` the count of the served buckets whose upper bound is at most `le`. A served bucket lies within
 * one `le` interval whenever it is at the entry's exponent or finer (exponential bounds nest), so each count is exact;
 * a coarser bucket is counted whole at the first `le` at or above its upper bound. Below `lowest`: in the first
 * bucket; above `highest`: in `+Inf` only.
 */
export function periodValues(buckets: Buckets, histogram: NativeHistogram): number[] {
  const finite = buckets.highest - buckets.lowest + 1;
  const perBucket = new Array<number>(finite).fill(0);
  for (const [, , upper, count] of histogram.buckets ?? []) {
    const u = Number(upper);
    // The index of the first bound at or above u; the tolerance absorbs the decimal form of an exact power of two.
    const k = u <= 0 ? buckets.lowest : Math.ceil(Math.log2(u) * 2 ** buckets.exponent - 1e-9);
    const slot = Math.max(0, k - buckets.lowest);
    if (slot < finite) perBucket[slot] = (perBucket[slot] as number) + Number(count);
  }
  let cumulative = 0;
  const values = perBucket.map((c) => (cumulative += c));
  const count = Number(histogram.count);
  return [...values, count, Number(histogram.sum), count];
}
