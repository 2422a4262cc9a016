import { SERIES_PER_NEURON_HOST } from '../../contract/constants';
import { DEFAULT_LATENCY_MODE, type LatencyMode } from '../../contract/latency';

/**
 * Active-series limits per workload account (AMP `limitsPerLabelSet` on the `account_id` label set), derived from
 * the fleet size the rollout config declares. The formula, per account, over its workloads (regions):
 *
 *   limit = HEADROOM × Σ (SERIES_PER_VARIANT[latency] × variants + SERIES_PER_NEURON_HOST × neuronHosts + SELF_SERIES_PER_BRIDGE)
 *
 * rounded up to a whole thousand. The headroom lets a fleet grow, and blue/green deployments briefly double the
 * variants, before the limit bites; a runaway account (a label explosion, a forgotten load test) is stopped at a
 * few times its expected size instead of multiplying the workspace's bill.
 */

/**
 * Series one real-time production variant yields with the built-in catalog, by the bridge's `latency` mode: 5
 * counters, 6 utilisation gauges, the concurrency gauge, 5 metadata series, and the two latencies (ModelLatency,
 * OverheadLatency) as `summary` (3 quantiles + sum + count each), `histogram` (11 buckets + `+Inf` + sum + count
 * each) or `both` (histogram and quantiles).
 */
export const SERIES_PER_VARIANT_BY_LATENCY: Readonly<Record<LatencyMode, number>> = { summary: 27, histogram: 45, both: 51 };
export const SERIES_PER_VARIANT = SERIES_PER_VARIANT_BY_LATENCY[DEFAULT_LATENCY_MODE];
// Re-exported beside the formula that uses it, where its tests read it.
export { SERIES_PER_NEURON_HOST };
/** The bridge's own series per workload (gauges, and counters by api/reason/kind). */
export const SELF_SERIES_PER_BRIDGE = 30;
export const HEADROOM = 3;

export interface FleetSize {
  /** Production variants (endpoints × variants each). */
  readonly variants: number;
  /** Inferentia hosts enrolled for the collector. */
  readonly neuronHosts: number;
  /** The bridge's `latency` mode. @default DEFAULT_LATENCY_MODE (histogram) */
  readonly latency?: LatencyMode;
}

/** The formula above for one workload, before rounding. */
export function expectedSeries(fleet: FleetSize): number {
  return SERIES_PER_VARIANT_BY_LATENCY[fleet.latency ?? DEFAULT_LATENCY_MODE] * fleet.variants + SERIES_PER_NEURON_HOST * fleet.neuronHosts + SELF_SERIES_PER_BRIDGE;
}

/**
 * One limit per account: an explicit `activeSeriesLimit` counts as is, a workload without one counts
 * HEADROOM × its expected series; the account's limit is the sum, rounded up to a thousand.
 */
export function accountSeriesLimits(workloads: ReadonlyArray<{ readonly account: string; readonly fleet: FleetSize; readonly activeSeriesLimit?: number }>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const workload of workloads) {
    const limit = workload.activeSeriesLimit ?? HEADROOM * expectedSeries(workload.fleet);
    totals.set(workload.account, (totals.get(workload.account) ?? 0) + limit);
  }
  return new Map([...totals].map(([account, total]) => [account, Math.ceil(total / 1000) * 1000]));
}
