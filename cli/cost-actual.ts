import type { RawQuery, RawSeries } from '../lambda/bridge/remote-write/query';
import { BILLING_READINGS } from '../lambda/bridge/self-metrics';
import type { BilledDay } from './cost-explorer';

const DAY_MS = 86_400_000;

/** A bill within this fraction of a reading's count follows that reading (CloudWatch rounds nothing per day). */
export const MATCH_TOLERANCE = 0.01;

/** `YYYY-MM-DD` of an epoch ms, UTC: Cost Explorer's days are UTC days. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** What the bridge counted on one UTC day, under each reading. */
export interface CountedDay {
  perStatistic: number;
  /** Undefined on days before the bridge counted this reading (older versions counted per statistic only). */
  perMetricFiveStats: number | undefined;
}

/**
 * Per-UTC-day increases of a counter's raw samples, exact (no extrapolation): each rise between two samples goes to
 * the day of the later one; a drop is a reset (a lost state), whose new value is the increase. The first sample
 * counts whole only when it falls after `from` (the series began inside the window): earlier ones are the baseline.
 */
export function dailyIncreases(series: RawSeries, from: number): Map<string, number> {
  const days = new Map<string, number>();
  let previous: number | undefined;
  for (const [t, value] of series.samples) {
    const rise = previous === undefined ? (t >= from ? value : 0) : value >= previous ? value - previous : value;
    previous = value;
    if (t < from || rise === 0) continue;
    days.set(utcDay(t), (days.get(utcDay(t)) ?? 0) + rise);
  }
  return days;
}

/** The bridge's own count of GetMetricData metrics in `region` per UTC day over `[from, to)`, from the receiver. */
export async function countedDays(query: RawQuery, region: string, from: number, to: number): Promise<Map<string, CountedDay>> {
  // A day more than asked, so that every series has a baseline sample before `from`.
  const seconds = Math.round((to - from + DAY_MS) / 1000);
  const series = await query(`inferwatch_bridge_cloudwatch_metrics_requested_total{region=${JSON.stringify(region)}}[${seconds}s]`, to - 1);
  const days = new Map<string, CountedDay>();
  for (const s of series) {
    // Before the billing label, the counter counted per statistic.
    const billing = s.metric.billing ?? BILLING_READINGS.perStatistic;
    for (const [day, rise] of dailyIncreases(s, from)) {
      const entry = days.get(day) ?? { perStatistic: 0, perMetricFiveStats: undefined };
      if (billing === BILLING_READINGS.perStatistic) entry.perStatistic += rise;
      else if (billing === BILLING_READINGS.perMetricFiveStats) entry.perMetricFiveStats = (entry.perMetricFiveStats ?? 0) + rise;
      days.set(day, entry);
    }
  }
  return days;
}

/** Production variants the bridge saw in `region` each UTC day over `[from, to)` (its SageMaker metadata). */
export async function variantsByDay(query: RawQuery, region: string, from: number, to: number): Promise<Map<string, number>> {
  const daysBack = Math.round((to - from) / DAY_MS);
  // A subquery at UTC midnights: each point counts the variants with metadata in the day before it.
  const promql = `count(count by (account_id, endpoint_name, variant_name) (last_over_time(aws_sagemaker_variant_weight{region=${JSON.stringify(region)}}[1d])))[${daysBack}d:1d]`;
  const series = await query(promql, to);
  const days = new Map<string, number>();
  for (const [t, value] of series[0]?.samples ?? []) if (t > from && t <= to) days.set(utcDay(t - DAY_MS), value);
  return days;
}

/** Which reading of "up to five statistics for the same metric in a single request" the bill follows. */
export type Verdict = 'per_statistic' | 'per_metric_5_stats' | 'undecided';

export interface Reconciliation {
  readonly rows: ReadonlyArray<{ day: string; billed: BilledDay | undefined; counted: CountedDay | undefined; variants: number | undefined }>;
  /** Final (not estimated) days on which the bridge ran and the bill has a figure: the days the verdict reads. */
  readonly compared: number;
  readonly billedMetrics: number;
  readonly countedPerStatistic: number;
  readonly countedFiveStats: number | undefined;
  readonly verdict: Verdict;
  readonly reason: string;
  /** USD the compared whole days cost, over their variant-days, times 30. Undefined without variant metadata. */
  readonly usdPerVariantMonth: number | undefined;
  /** Compared days after the first day the bridge ran (which may be partial): the days the measured price reads. */
  readonly wholeDays: number;
}

const near = (a: number, b: number) => Math.abs(a - b) <= MATCH_TOLERANCE * Math.max(b, 1);

function judge(billed: number, perStatistic: number, fiveStats: number | undefined): { verdict: Verdict; reason: string } {
  if (perStatistic === 0) return { verdict: 'undecided', reason: 'no final day on which the bridge ran has a Cost Explorer figure yet (days turn final about three days later)' };
  if (fiveStats === undefined) return { verdict: 'undecided', reason: 'the bridge did not count the five-statistics reading on these days (a version before the billing label)' };
  const [s, f] = [near(billed, perStatistic), near(billed, fiveStats)];
  if (s && f) return { verdict: 'undecided', reason: 'both readings give the same count here (no metric had more than one statistic): nothing to tell them apart' };
  if (s) return { verdict: 'per_statistic', reason: `the bill is within ${MATCH_TOLERANCE * 100}% of the per-statistic count` };
  if (f) return { verdict: 'per_metric_5_stats', reason: `the bill is within ${MATCH_TOLERANCE * 100}% of the count per metric with up to five statistics` };
  if (billed > perStatistic) return { verdict: 'undecided', reason: 'the bill is above both counts: something else calls GetMetricData in this account and region (dashboards, other exporters)' };
  if (billed < fiveStats) return { verdict: 'undecided', reason: 'the bill is below both counts: check the region, and that Cost Explorer sees this account (a member account sees only its own costs)' };
  return { verdict: 'undecided', reason: 'the bill is between the two counts: another GetMetricData caller on top of the five-statistics reading, or a mix' };
}

/** The bill beside the bridge's count, day by day, and which reading the bill follows. */
export function reconcile(billed: readonly BilledDay[], counted: ReadonlyMap<string, CountedDay>, variants: ReadonlyMap<string, number>, days: readonly string[]): Reconciliation {
  const bill = new Map(billed.map((b) => [b.day, b]));
  const rows = days.map((day) => ({ day, billed: bill.get(day), counted: counted.get(day), variants: variants.get(day) }));
  const final = rows.filter((r) => r.billed && !r.billed.estimated && (r.counted?.perStatistic ?? 0) > 0);
  const sum = (f: (r: (typeof rows)[number]) => number) => final.reduce((n, r) => n + f(r), 0);
  const billedMetrics = sum((r) => r.billed?.metrics ?? 0);
  const countedPerStatistic = sum((r) => r.counted?.perStatistic ?? 0);
  const countedFiveStats = final.every((r) => r.counted?.perMetricFiveStats !== undefined) ? sum((r) => r.counted?.perMetricFiveStats ?? 0) : undefined;
  // The first day the bridge ran is most likely partial: the measured price reads the whole days after it.
  const whole = final.filter((r) => r.day !== days[0]);
  const variantDays = whole.reduce((n, r) => n + (r.variants ?? 0), 0);
  const usd = whole.reduce((n, r) => n + (r.billed?.usd ?? 0), 0);
  return {
    rows,
    compared: final.length,
    billedMetrics,
    countedPerStatistic,
    countedFiveStats,
    ...judge(billedMetrics, countedPerStatistic, countedFiveStats),
    usdPerVariantMonth: variantDays > 0 ? (usd / variantDays) * 30 : undefined,
    wholeDays: whole.length,
  };
}

/** The reconciliation as a table, the verdict under it. */
export function formatReconciliation(r: Reconciliation, region: string): string {
  const n = (v: number | undefined) => (v === undefined ? '-' : String(Math.round(v)));
  const table = [
    ['day (UTC)', 'billed metrics', 'USD', 'bridge per_statistic', 'bridge per_metric_5_stats', 'variants', ''],
    ...r.rows.map((row) => [
      row.day,
      n(row.billed?.metrics),
      row.billed ? row.billed.usd.toFixed(4) : '-',
      n(row.counted?.perStatistic),
      n(row.counted?.perMetricFiveStats),
      n(row.variants),
      row.billed?.estimated ? 'estimated' : '',
    ]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
  const lines = table.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  const perVariant =
    r.usdPerVariantMonth === undefined
      ? 'not measured (no whole final day with aws_sagemaker_variant_weight: wait a day, or turn sagemakerMetadata on)'
      : `$${r.usdPerVariantMonth.toFixed(3)} (${r.wholeDays} whole day(s))`;
  return [
    `GetMetricData in ${region}: Cost Explorer (usage type *-CW:GMD-Metrics) beside the bridge's own count`,
    '',
    ...lines,
    '',
    `compared ${r.compared} final day(s): billed ${n(r.billedMetrics)} metrics; the bridge counted ${n(r.countedPerStatistic)} per statistic, ${n(r.countedFiveStats)} per metric with up to five statistics`,
    `the bill follows: ${r.verdict} (${r.reason})`,
    `measured GetMetricData cost per variant-month: ${perVariant}`,
  ].join('\n');
}
