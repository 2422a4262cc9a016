import type { CycleContext, CyclePlan } from './context';
import type { Finished } from './finish';
import { iso } from './iso';
import type { Streamed } from './stream';
import type { CycleReport } from './types';

/** Report: what the cycle read, wrote and billed, logged once and returned. */
export function report(cycle: CycleContext, plan: CyclePlan, { writer }: Streamed, finished: Finished): CycleReport {
  const { calls, stats } = cycle;
  const { window } = plan;
  const result: CycleReport = {
    window,
    highWaterMark: window.end,
    replayedBatches: cycle.replayedBatches,
    metricsDiscovered: plan.discovered,
    queries: plan.queries,
    getMetricDataCalls: calls.count('cloudwatch', 'GetMetricData'),
    series: finished.series,
    samples: writer.samples,
    batches: writer.requests,
    written: writer.written,
    rejected: writer.rejected,
    alreadyStored: writer.alreadyStored,
    skippedTooOld: stats.tooOld.samples,
    expositionBytes: writer.expositionBytes,
  };
  cycle.logger.info('cycle done', {
    window: `[${iso(window.start)}, ${iso(window.end)})`,
    read: `[${iso(plan.fetchStart)}, ${iso(window.end)})`,
    metrics: plan.discovered,
    queries: plan.queries,
    getMetricDataCalls: result.getMetricDataCalls,
    sagemakerCalls: [...calls.calls].filter(([key]) => key.startsWith('sagemaker:')).reduce((n, [, c]) => n + c, 0),
    series: result.series,
    samples: result.samples,
    requests: result.batches,
    revisions: stats.revisions,
  });
  return result;
}

/** The report of a cycle that found no new settled period: nothing read, nothing written. */
export function nothingToDo(cycle: CycleContext): CycleReport {
  return {
    window: undefined,
    highWaterMark: cycle.previous.highWaterMark,
    replayedBatches: cycle.replayedBatches,
    metricsDiscovered: 0,
    queries: 0,
    getMetricDataCalls: 0,
    series: 0,
    samples: 0,
    batches: 0,
    written: 0,
    rejected: {},
    alreadyStored: 0,
    skippedTooOld: 0,
    expositionBytes: 0,
  };
}
