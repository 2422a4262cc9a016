import { forEachConcurrently } from '../concurrency';
import { buildLabels, seriesKey } from '../series';
import type { SeriesFamily } from '../sources';
import { newSeriesState, seriesKeyOf } from '../state/series-state';
import type { CycleContext, CyclePlan } from './context';

/**
 * Recover: without state, the receiver may hold some of this cycle's periods already. Asks it for the newest
 * sample it holds of every series the plan writes, in the span the cycle reads, and takes each series up there:
 * the frontier is that sample's time, a counter's total its value. Nothing the receiver holds is sent again and no
 * counter restarts, so no period is counted twice or lost. Series the receiver does not hold start as new.
 * True when the series were taken up; false when there was state, nothing to ask, or the receiver could not be
 * asked (the cycle then writes one request per period).
 */
export async function recover(cycle: CycleContext, plan: CyclePlan): Promise<boolean> {
  const { deps, logger, previous } = cycle;
  const query = deps.receiverQuery;
  if (cycle.stored || cycle.options.dryRun || !query) return false;
  const table = previous.series;
  const from = plan.readStart - plan.periodMs;
  const to = plan.window.end;
  const matchers = Object.entries(deps.baseLabels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(',');
  const range = `${Math.max(1, Math.ceil((to - from) / 1000))}s`;
  try {
    await forEachConcurrently(families(plan), 4, async ({ name, counter }) => {
      const found = await query(`{__name__=${JSON.stringify(name)}${matchers ? `,${matchers}` : ''}}[${range}]`, to - 1);
      for (const series of found) {
        const last = series.samples[series.samples.length - 1];
        if (!last) continue;
        const labels: Record<string, string> = { ...series.metric };
        delete labels.__name__;
        const state = newSeriesState(counter);
        state.frontier = last[0];
        state.total = counter ? last[1] : 0;
        // What the receiver holds cannot be compared with CloudWatch's revisions: no baseline until the next cycle.
        state.baseline = false;
        table.set(seriesKeyOf(seriesKey(buildLabels(name, labels))), state);
      }
    });
  } catch (error) {
    logger.warn('no bridge state, and the receiver could not be asked what it holds: one request per period, and counters restart from 0', { error: (error as Error).message });
    table.clear();
    return false;
  }
  logger.info('no bridge state: took each series up where the receiver has it', { series: table.size, from: new Date(from).toISOString() });
  return true;
}

function* families(plan: CyclePlan): Iterable<SeriesFamily> {
  for (const source of plan.sources) yield* source.families();
}
