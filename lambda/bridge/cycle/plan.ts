import { holdStands } from '../state/state';
import { planWindow, type CycleWindow } from '../windows';
import { iso } from './iso';
import { UncommittedCycleError } from './uncommitted-cycle-error';
import type { CycleContext, CyclePlan } from './context';

/**
 * Plan: the window (every settled period not yet forwarded), what every source discovers and how it reads the
 * window, then the sample budget (a catch-up forwards what the budget allows; the next cycles carry on), then what
 * each source must know before its reads (idle variants' sentinels).
 * Undefined when no new period has settled.
 */
export async function plan(cycle: CycleContext): Promise<CyclePlan | undefined> {
  const { config, logger, previous, startedAt } = cycle;
  const periodMs = config.period * 1000;
  const writableFrom = Math.ceil((startedAt - config.remoteWrite.maxSampleAge * 1000) / periodMs) * periodMs;
  // Periods a partial answer left unread are read again, however far back: the frontiers wait there. So are the
  // windows of held series (their answer stopped before their frontier): they refer to `heldBase`.
  const heldBase = heldBaseOf(cycle);
  // Only a read whose every window refers to where it starts can take its too-old span in one datapoint (skipTo).
  const skippable = previous.highWaterMark !== undefined && heldBase === undefined && previous.rereadFrom === undefined;
  const ready = planWindow(startedAt, config, previous.highWaterMark, skippable ? writableFrom : undefined);
  if (!ready) {
    logger.info('no new settled period yet', { highWaterMark: iso(previous.highWaterMark) });
    return undefined;
  }
  await Promise.all(cycle.sources.map((source) => source.discover()));
  // The series' windows refer to the stored base: read from there, whatever the window (a recovered first cycle has one but no high-water mark).
  const readStart = Math.min(previous.revisionBase ?? ready.readStart, ready.start);
  const fetchStart = Math.min(readStart, previous.rereadFrom ?? Infinity, heldBase ?? Infinity);
  const sources = cycle.sources.map((source) => source.plan({ startedAt, readStart: fetchStart, previous, dryRun: cycle.options.dryRun }));
  const queries = sources.reduce((n, source) => n + source.queries, 0);
  const samplesPerPeriod = sources.reduce((n, source) => n + source.samplesPerPeriod, 0);
  const window = capByBudget(ready, samplesPerPeriod, periodMs, config.maxSamplesPerCycle, writableFrom);
  if (window.end < ready.end) {
    logger.info('catching up: this cycle forwards what its sample budget allows; the next cycles carry on', {
      budget: config.maxSamplesPerCycle,
      queries,
      forwardsUpTo: iso(window.end),
      readyUpTo: iso(ready.end),
    });
  }
  // While series are held the revision base stays, so that every window refers to it or to the held base.
  const nextBase = heldBase === undefined ? Math.max(readStart, window.end - config.revisionWindow * 1000) : readStart;
  const settings = { periodMs, readStart, fetchStart, heldBase, end: window.end, nextBase, writableFrom, skipTo: skippable ? skipToOf(readStart, window.start, nextBase, writableFrom, periodMs) : undefined };
  // Idle variants' sentinels and which classes of metric are due: only now is the span known.
  await Promise.all(sources.map((source) => source.prepare?.({ start: fetchStart, end: window.end }, settings))).catch((error: unknown) => {
    if (!(error instanceof Error)) throw error;
    const from = previous.highWaterMark === undefined ? 'the initial lookback' : new Date(previous.highWaterMark).toISOString();
    throw new UncommittedCycleError(`${error.message}. Nothing was committed: it had written nothing, and carries on from ${from}`, { cause: error });
  });
  const discovered = sources.reduce((n, source) => n + source.discovered, 0);
  return { window, ready, readStart, fetchStart, periodMs, writableFrom, settings, sources, queries: sources.reduce((n, source) => n + source.queries, 0), discovered };
}

/**
 * Where a read may stop reading its counters' too-old span coarsely and go on per period: the receiver refuses
 * everything before `writableFrom`, and the next revision base's window must be read per period. Undefined when
 * there is no such span past the high-water mark (nothing to skip).
 */
export function skipToOf(readStart: number, windowStart: number, nextBase: number, writableFrom: number, periodMs: number): number | undefined {
  const skipTo = Math.floor(Math.min(writableFrom, nextBase) / periodMs) * periodMs;
  return skipTo > windowStart && skipTo > readStart ? skipTo : undefined;
}

/**
 * The held series' base, while answers cut short keep some series held. A hold is let go once the cycles holding it
 * have written 3 hours of windows, so that reads stay bounded: those series have no baseline for a cycle, and a
 * revision CloudWatch made in it is not counted. The age is the hold's, not its base's: after a long outage the
 * comeback reads from a base hours old, and an answer cut then must still be read again from there (late data in it
 * is counted). Nor is it wall time: an outage that falls within a hold, when no cycle runs, adds no read to it.
 */
function heldBaseOf({ logger, previous, startedAt }: CycleContext): number | undefined {
  const heldBase = previous.heldBase;
  const written = previous.highWaterMark ?? startedAt;
  if (heldBase === undefined || holdStands(previous.heldSince ?? heldBase, written)) return heldBase;
  logger.warn('answers cut short (PartialData, no NextToken) held some series while 3 hours of windows were written: their revisions of the last cycle are not counted', { heldBase: iso(heldBase), heldSince: iso(previous.heldSince ?? heldBase) });
  return undefined;
}

/**
 * Ends the window early enough that the cycle writes at most `budget` samples (but always one period). Periods older
 * than the receiver accepts (before `writableFrom`) are only read (counters carry their sums), so they do not count.
 */
export function capByBudget(window: CycleWindow, queries: number, periodMs: number, budget: number, writableFrom = -Infinity): CycleWindow {
  const periods = Math.max(1, Math.floor(budget / Math.max(1, queries)));
  const writableStart = Math.max(window.start, writableFrom);
  return { ...window, end: Math.min(window.end, writableStart + periods * periodMs) };
}
