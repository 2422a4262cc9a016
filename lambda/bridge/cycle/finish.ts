import { allFamilies } from '../families';
import { BatchBuilder } from '../remote-write/batcher';
import { encodeMetadataRequest } from '../remote-write/encode';
import { addToCounters, buildSelfMetrics } from '../self-metrics';
import type { TimeSeries } from '../series';
import type { SeriesTable } from '../state/series-table';
import { encodeState, type BridgeState } from '../state/state';
import type { CursorSettings } from '../translate';
import type { Claim, CycleContext, CyclePlan } from './context';
import { cycleIncrements, writeIncrements } from './increments';
import { iso } from './iso';
import { described, type Streamed } from './stream';

const SERIES_RETENTION_MS = 24 * 3600 * 1000;

/** The finish stage's result. */
export interface Finished {
  /** Series written this cycle: read, snapshot and self-metrics. */
  readonly series: number;
}

/**
 * Finish: carry the series this cycle did not read, write every source's snapshot (SageMaker metadata) and the
 * bridge's own metrics, then the remote-write metadata (types and HELP), and commit the state. A dry run commits
 * nothing.
 */
export async function finish(cycle: CycleContext, plan: CyclePlan, claim: Claim, streamed: Streamed): Promise<Finished> {
  const { config, deps, logger, options } = cycle;
  warnDropped(cycle);
  carryUnreadSeries(cycle.previous.series, plan.settings, plan.window.end - SERIES_RETENTION_MS);
  const tail = new BatchBuilder(config.remoteWrite.maxSamplesPerRequest, options.dryRun ? 'whole' : 'stream');
  const snapshotSeries = await addSnapshots(plan, cycle.previous, tail);
  const self = selfMetrics(cycle, plan, streamed, snapshotSeries);
  // Sorted by name: the text exposition needs each family together.
  for (const s of self.series.sort(byName)) addSeries(tail, s);
  tail.close();
  await streamed.writer.sendAll(tail.drain());
  if (!options.dryRun) {
    await deps.send(encodeMetadataRequest([...allFamilies(cycle.catalog), ...described(plan)])).catch((error: Error) => logger.warn('remote-write metadata not sent; types and HELP arrive with the next cycle', { error: error.message }));
    const { writer } = streamed;
    await commit(cycle, plan, claim, streamed, addToCounters(self.counters, deps.baseLabels, writeIncrements(writer.written, writer.rejected, writer.alreadyStored)));
  }
  return { series: streamed.seriesWritten + snapshotSeries + self.series.length };
}

function warnDropped({ config, logger, stats }: CycleContext): void {
  if (stats.nonFinite > 0) logger.warn('dropped NaN/Inf datapoints from CloudWatch', { count: stats.nonFinite });
  if (stats.tooOld.samples > 0) {
    logger.warn('datapoints older than the receiver accepts were not written; counters carry their sums into their next sample', {
      samples: stats.tooOld.samples,
      from: iso(stats.tooOld.from),
      to: iso(stats.tooOld.to),
      maxSampleAge: config.remoteWrite.maxSampleAge,
    });
  }
}

function addSeries(tail: BatchBuilder, s: TimeSeries): void {
  tail.add({ labels: s.labels, kind: s.kind }, s.samples);
}

/** Every source's snapshot, after the reads; returns how many of its series are current (not ended). */
async function addSnapshots({ sources, window, periodMs, writableFrom }: CyclePlan, previous: BridgeState, tail: BatchBuilder): Promise<number> {
  // The snapshot describes things as they are now: during a catch-up, at the oldest time the receiver accepts.
  const at = Math.max(window.end - periodMs, writableFrom);
  // One period after the previous cycle's snapshot, so an ended series stops right where it stopped.
  const endedAt = Math.min(Math.max(previous.highWaterMark ?? window.end - periodMs, writableFrom), at);
  let current = 0;
  for (const source of sources) {
    const snapshot = await source.snapshot?.({ at, endedAt });
    if (!snapshot) continue;
    for (const s of snapshot.current) {
      addSeries(tail, s);
      current += 1;
    }
    for (const s of snapshot.ended) addSeries(tail, s);
  }
  return current;
}

function selfMetrics(cycle: CycleContext, plan: CyclePlan, { seriesWritten, forbidden }: Streamed, snapshotSeries: number): ReturnType<typeof buildSelfMetrics> {
  const { deps, previous } = cycle;
  return buildSelfMetrics(
    {
      timestamp: deps.now(),
      baseLabels: deps.baseLabels,
      collectSeconds: (deps.now() - cycle.startedAt) / 1000,
      lastWriteSeconds: previous.lastWriteMs === undefined ? undefined : previous.lastWriteMs / 1000,
      lagSeconds: (deps.now() - plan.window.end) / 1000,
      seriesActive: seriesWritten + snapshotSeries,
      queries: plan.queries,
      increments: cycleIncrements(cycle.calls, cycle.stats, forbidden),
    },
    previous.selfCounters,
  );
}

/** The conditional write that ends the cycle: what every source keeps, the high-water mark, the series' states. */
async function commit(cycle: CycleContext, plan: CyclePlan, claim: Claim, streamed: Streamed, selfCounters: Record<string, number>): Promise<void> {
  const { deps, logger, previous } = cycle;
  const { writer } = streamed;
  const committed: BridgeState = {
    highWaterMark: plan.window.end,
    revisionBase: plan.settings.nextBase,
    // Only when the next cycle's own read would start after the unread periods.
    rereadFrom: streamed.missingFrom < plan.settings.nextBase ? streamed.missingFrom : undefined,
    heldBase: streamed.held ? (plan.settings.heldBase ?? plan.readStart) : undefined,
    // A hold that goes on keeps where it began; a new one begins at this cycle's window end (its high-water mark).
    heldSince: streamed.held ? (plan.settings.heldBase !== undefined ? (previous.heldSince ?? plan.settings.heldBase) : plan.window.end) : undefined,
    series: previous.series,
    lastWriteMs: writer.sendMs,
    sagemaker: previous.sagemaker,
    selfCounters,
    lastJournal: claim.journalId,
  };
  for (const source of plan.sources) source.commit?.(committed);
  await deps.store.save(encodeState(committed), cycle.version);
  // Committed: the lease may go. Should this fail, the state's lastJournal already tells the next cycle so.
  await deps.store.saveLease(undefined, claim.leaseVersion).catch((error: Error) => logger.warn('could not release the journal lease after the commit; the next cycle takes it over', { journal: claim.journalId, error: error.message }));
  await deps.store.clearJournal(claim.journalId, writer.records).catch((error: Error) => logger.warn('could not remove the committed journal', { journal: claim.journalId, error: error.message }));
  logger.info('cycle committed', {
    highWaterMark: iso(plan.window.end),
    written: writer.written,
    alreadyStored: writer.alreadyStored,
    rejected: writer.rejected,
    requests: writer.requests,
    stateSeries: previous.series.size,
  });
}

/**
 * Series this cycle did not read (not listed by ListMetrics this time) keep their totals for the retention, so a
 * brief absence is not a counter reset. Their windows referred to the old base: still right if nothing they
 * forwarded is at or after the new base, otherwise unknown until they are read again.
 */
export function carryUnreadSeries(table: SeriesTable, settings: CursorSettings, forgetBefore: number): void {
  table.sweepUnplanned((state) => {
    if (state.frontier < forgetBefore) return false;
    const nothingSinceBase = state.frontier < settings.nextBase;
    if (nothingSinceBase) {
      state.window = 0;
      state.count = 0;
    }
    state.baseline = nothingSinceBase;
    state.held = false;
    return true;
  });
}

function byName(a: TimeSeries, b: TimeSeries): number {
  const x = a.labels[0]?.value ?? '';
  const y = b.labels[0]?.value ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
