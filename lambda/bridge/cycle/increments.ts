import type { RejectReason } from '../remote-write/client';
import { BILLING_READINGS, type ApiCallCounter, type SelfMetricInput } from '../self-metrics';
import type { TranslateStats } from '../translate';

const REJECT_REASONS: readonly RejectReason[] = ['out_of_order', 'duplicate', 'too_old', 'series_limit', 'bad_request'];

/** This cycle's additions to the bridge's own counters; zero increments create the counters at 0. */
export function cycleIncrements(calls: ApiCallCounter, stats: TranslateStats, forbidden: number): SelfMetricInput['increments'] {
  return [
    ...[...calls.calls].map(([key, by]) => {
      const [service, api] = key.split(':') as [string, string];
      return { name: `inferwatch_bridge_${service}_requests_total`, labels: { api }, by };
    }),
    { name: 'inferwatch_bridge_cloudwatch_metrics_requested_total', labels: { billing: BILLING_READINGS.perStatistic }, by: calls.metricsRequested },
    { name: 'inferwatch_bridge_cloudwatch_metrics_requested_total', labels: { billing: BILLING_READINGS.perMetricFiveStats }, by: calls.metricsRequestedFiveStats },
    ...(['cloudwatch', 'sagemaker'] as const).map((target) => ({ name: 'inferwatch_bridge_retries_total', labels: { target }, by: calls.retries.get(target) ?? 0 })),
    ...(['counter', 'gauge', 'quantile', 'late'] as const).map((kind) => ({ name: 'inferwatch_bridge_revisions_total', labels: { kind }, by: stats.revisions[kind] })),
    ...(['counter', 'late'] as const).map((kind) => ({ name: 'inferwatch_bridge_revision_lateness_seconds_total', labels: { kind }, by: stats.lateness[kind] })),
    { name: 'inferwatch_bridge_samples_dropped_total', labels: { reason: 'non_finite' }, by: stats.nonFinite },
    { name: 'inferwatch_bridge_samples_dropped_total', labels: { reason: 'forbidden' }, by: forbidden },
    // Write results are added after the write; these create the counters at 0 on the first cycle.
    ...writeIncrements(0, {}, 0),
    { name: 'inferwatch_bridge_samples_skipped_total', labels: { reason: 'too_old' }, by: stats.tooOld.samples },
    { name: 'inferwatch_bridge_journal_replays_total', by: 0 },
  ];
}

export function writeIncrements(written: number, rejected: Partial<Record<RejectReason, number>>, alreadyStored: number): SelfMetricInput['increments'] {
  return [
    { name: 'inferwatch_bridge_samples_written_total', by: written },
    { name: 'inferwatch_bridge_samples_already_stored_total', by: alreadyStored },
    ...REJECT_REASONS.map((reason) => ({ name: 'inferwatch_bridge_samples_rejected_total', labels: { reason }, by: rejected[reason] ?? 0 })),
  ];
}
