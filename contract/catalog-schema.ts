import { z } from 'zod';
import { METRIC_NAME } from './naming';

// The catalog's entries as the bridge config's `catalog` key takes them: both synth and the bridge check them.

const Statistic = z
  .string()
  .regex(/^(Sum|SampleCount|Average|Minimum|Maximum|p\d{1,2}(\.\d+)?|tm\d{1,2}|IQM)$/, 'must be a CloudWatch statistic such as Sum, Average, Maximum, p99');

const MetricName = z.string().regex(METRIC_NAME, 'must be a valid Prometheus metric name');

export const CatalogMetricSchema = z
  .object({
    metric: z.string().min(1),
    aliases: z.array(z.string().min(1)).default([]),
    type: z.enum(['counter', 'gauge', 'summary']),
    name: MetricName,
    /** gauges only. @default Average */
    statistic: Statistic.optional(),
    /** @default 1 */
    scale: z.number().positive().default(1),
    /** summaries only. @default [0.5, 0.9, 0.99] */
    quantiles: z.array(z.number().gt(0).lt(1)).optional(),
    /**
     * summaries only: also (or instead, by the `latency` config key) a Prometheus histogram from CloudWatch's
     * `TC(:edge)`. Needs a metric CloudWatch offers percentile statistics for. @default false
     */
    histogram: z.boolean().optional(),
    /** Histogram bucket upper bounds, in seconds (after `scale`), ascending. @default DEFAULT_BUCKETS */
    buckets: z.array(z.number().positive().finite()).min(1).max(30).optional(),
    constLabels: z.record(z.string(), z.string()).default({}),
    /** The CloudWatch unit, for the HELP text. @default not stated */
    unit: z.string().min(1).optional(),
    /** What the value means when the CloudWatch name does not say it; starts the HELP text. @default none */
    help: z.string().min(1).optional(),
    /**
     * The only endpoint shape that publishes the metric (`streaming`: real-time endpoints that stream responses): the
     * cost estimate leaves it out of a real-time variant. @default every endpoint
     */
    shape: z.enum(['async', 'serverless', 'multi-model', 'inference-components', 'streaming']).optional(),
    /**
     * Seconds between the datapoints CloudWatch keeps for the metric, when it is a high-resolution metric (1, 5, 10
     * or 30): with the `highResolution` config key the bridge reads it at this period. @default 60 (standard resolution)
     */
    resolution: z.union([z.literal(1), z.literal(5), z.literal(10), z.literal(30)]).optional(),
  })
  .strict()
  .superRefine((metric, ctx) => {
    if (metric.type === 'counter' && !metric.name.endsWith('_total')) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `counter "${metric.name}" must end in _total` });
    }
    if (metric.type !== 'gauge' && metric.statistic !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['statistic'], message: 'only gauges take a statistic (counters read Sum, summaries read Sum, SampleCount and percentiles)' });
    }
    if (metric.type !== 'summary' && metric.quantiles !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['quantiles'], message: 'only summaries take quantiles' });
    }
    if (metric.type !== 'summary' && (metric.histogram !== undefined || metric.buckets !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [metric.histogram !== undefined ? 'histogram' : 'buckets'], message: 'only summaries (timings with Sum, SampleCount and percentiles) can be histograms' });
    }
    if (metric.buckets !== undefined && metric.histogram !== true) {
      ctx.addIssue({ code: 'custom', path: ['buckets'], message: 'buckets need "histogram: true"' });
    }
    const buckets = metric.buckets ?? [];
    if (buckets.some((edge, i) => i > 0 && edge <= (buckets[i - 1] as number))) {
      ctx.addIssue({ code: 'custom', path: ['buckets'], message: `bucket edges must be strictly ascending (got ${buckets.join(', ')})` });
    }
  });

export const CatalogNamespaceSchema = z
  .object({
    namespace: z.string().min(1),
    role: z.literal('neuron').optional(),
    prefix: z.string().regex(/^[a-z0-9_]+$/).optional(),
    defaultStatistics: z.array(Statistic).min(1).optional(),
    labels: z.record(z.string(), z.string()).default({}),
    metrics: z.array(CatalogMetricSchema).default([]),
  })
  .strict();

export type CatalogNamespace = z.output<typeof CatalogNamespaceSchema>;
export type CatalogMetric = z.output<typeof CatalogMetricSchema>;
