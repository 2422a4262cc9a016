import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../../../contract/errors';
import { sanitizeLabelValue } from '../../../../contract/naming';
import type { FamilyInfo } from '../../catalog/catalog';
import { buildLabels, type Label } from '../../series';

const MetricSchema = z
  .object({
    /** The OTel metric name as CloudWatch's PromQL API serves it. */
    source: z.string().min(1),
    /** The Prometheus name written. Counters end in `_total`. */
    name: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name'),
    type: z.enum(['counter', 'gauge', 'histogram']),
    scale: z.number().positive().default(1),
    help: z.string().min(1),
    /** Labels every series of this source gets (`engine: vllm`): two engines' metrics become one Prometheus family. */
    /**
     * A histogram's `le` bounds: exponential ones, `scale * 2^(k * 2^-exponent)` for k from `lowest` to `highest`, so
     * that every bucket CloudWatch serves at this exponent or finer falls within exactly one of them.
     */
    buckets: z.object({ exponent: z.number().int().min(-4).max(8), lowest: z.number().int(), highest: z.number().int() }).strict().optional(),
    constLabels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name'), z.string().min(1)).default({}),
  })
  .strict()
  .refine((m) => (m.type === 'counter') === m.name.endsWith('_total'), { message: 'a counter name ends in _total, a gauge or histogram name does not' })
  .refine((m) => m.type !== 'histogram' || !/_(bucket|sum|count)$/.test(m.name), { message: 'a histogram is named by its family: the bridge adds _bucket, _sum and _count' })
  .refine((m) => (m.type === 'histogram') === (m.buckets !== undefined), { message: 'a histogram needs buckets (and only a histogram has them)' })
  .refine((m) => m.buckets === undefined || (m.buckets.lowest <= m.buckets.highest && m.buckets.highest - m.buckets.lowest < 64), { message: 'buckets: lowest at most highest, and fewer than 64 of them' });

export const PromQlMappingSchema = z
  .object({
    labels: z.record(z.string().min(1), z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name')),
    split: z.array(z.string().min(1)),
    metrics: z.array(MetricSchema).min(1),
  })
  .strict();

export type PromQlMapping = z.output<typeof PromQlMappingSchema>;
export type PromQlMetric = PromQlMapping['metrics'][number];

/** Beside this file in a checkout, beside the bundle's index.js in the Lambda (the build copies it there). */
const MAPPING_PATH = join(__dirname, 'promql-metrics.yaml');

export function loadPromQlMapping(path = MAPPING_PATH): PromQlMapping {
  const parsed = PromQlMappingSchema.safeParse(parseYaml(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new ConfigError(`PromQL metric mapping ${path} is invalid: ${parsed.error.message}`);
  const sources = new Set<string>();
  const families = new Map<string, PromQlMetric>();
  let previous: PromQlMetric | undefined;
  for (const metric of parsed.data.metrics) {
    if (sources.has(metric.source)) throw new ConfigError(`PromQL metric mapping ${path}: two entries read ${metric.source}`);
    sources.add(metric.source);
    // Several sources may write one family (vLLM's and SGLang's, an engine's old and new name): one type, one HELP.
    const family = families.get(metric.name);
    // The text exposition writes a family's series together: its entries are read one after the other.
    if (family && previous?.name !== metric.name) throw new ConfigError(`PromQL metric mapping ${path}: the entries that write ${metric.name} (${family.source}, ${metric.source}) must follow one another`);
    if (family && family.type !== metric.type) throw new ConfigError(`PromQL metric mapping ${path}: ${metric.name} is a ${family.type} (${family.source}) and a ${metric.type} (${metric.source})`);
    if (family && family.help !== metric.help) throw new ConfigError(`PromQL metric mapping ${path}: ${family.source} and ${metric.source} write ${metric.name} with different help texts; a family has one HELP`);
    if (family && JSON.stringify(family.buckets) !== JSON.stringify(metric.buckets)) throw new ConfigError(`PromQL metric mapping ${path}: ${family.source} and ${metric.source} write ${metric.name} with different buckets; sum by (le) needs one set`);
    families.set(metric.name, metric);
    previous = metric;
  }
  return parsed.data;
}

/** HELP and TYPE of each family the mapping writes (the loader made every entry of one name agree on both). */
export function describeFamilies(mapping: PromQlMapping): FamilyInfo[] {
  const families = new Map(mapping.metrics.map((m) => [m.name, { family: m.name, type: m.type, help: m.help }]));
  return [...families.values()];
}

/** A source series' labels (without `__name__`) as the Prometheus labels of `metric`, with the bridge's base labels. */
export function prometheusLabels(
  mapping: PromQlMapping,
  metric: PromQlMetric,
  source: Readonly<Record<string, string>>,
  baseLabels: Readonly<Record<string, string>>,
  maxLabelValueLength: number,
): Label[] {
  const labels: Record<string, string> = { ...baseLabels, ...metric.constLabels };
  for (const [sourceName, value] of Object.entries(source)) {
    const target = mapping.labels[sourceName];
    if (target !== undefined && value !== '') labels[target] = sanitizeLabelValue(value, maxLabelValueLength);
  }
  return buildLabels(metric.name, labels);
}

/** The identity of a source series within one metric: its labels but `__name__`, sorted (functions drop the name). */
export function sourceIdentity(source: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.entries(source)
      .filter(([name]) => name !== '__name__')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
