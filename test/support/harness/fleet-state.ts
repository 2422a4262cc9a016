import { seriesKeyOf } from '../../../lambda/bridge/state/series-state';
import { SeriesTable } from '../../../lambda/bridge/state/series-table';
import type { BridgeState } from '../../../lambda/bridge/state/state';

export const FLEET_T = 1_800_000_000_000;

/** The identity of the `i`th series of fleetState: what a plan hashes into its key. */
export function fleetIdentity(i: number): string {
  return `aws_sagemaker_x{endpoint_name="endpoint-${i}",variant_name="AllTraffic",account_id="123456789012",region="eu-west-1"}`;
}

/** A state as a fleet leaves it: 2 in 3 series counters, a few with a pending revision, a few without a baseline. */
export function fleetState(series: number): BridgeState {
  const table = new SeriesTable(series);
  for (let i = 0; i < series; i++) {
    const counter = i % 3 !== 0;
    table.set(seriesKeyOf(fleetIdentity(i)), {
      frontier: FLEET_T + (i % 5) * 60_000,
      counter,
      total: counter ? 1_000_000 + i * 17.5 : 0,
      pending: counter && i % 97 === 1 ? -3 : 0,
      window: counter ? 4321 + i : (i * 2654435761) >>> 0,
      count: counter ? 0 : 15,
      moment: counter ? 12.5 * i : 105,
      baseline: i % 50 !== 0,
    });
  }
  return { highWaterMark: FLEET_T + 5 * 60_000, revisionBase: FLEET_T - 5 * 60_000, series: table, selfCounters: { 'inferwatch_bridge_x_total{}': 3 } };
}
