import { randomBytes } from 'node:crypto';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Catalog } from './catalog/catalog';
import { discoverMetrics, type DiscoveryCache } from './cloudwatch/discovery';
import { fetchChunk } from './cloudwatch/fetch';
import { QueryPlan, type PlannedQuery } from './cloudwatch/plan';
import { forEachConcurrently, RateLimiter } from './concurrency';
import type { BridgeConfig } from './config';
import { allFamilies, familyLookup } from './families';
import type { BridgeLogger } from './logger';
import { BatchBuilder, type Batch } from './remote-write/batcher';
import type { RejectReason, SendResult } from './remote-write/client';
import { encodeMetadataRequest, encodeWriteRequest } from './remote-write/encode';
import type { RawQuery } from './remote-write/query';
import { ExpositionWriter } from './remote-write/exposition';
import { componentEndedKey, emptySageMakerCache, metadataSeries, refreshEndpointMetadata } from './sagemaker/metadata';
import { addToCounters, ApiCallCounter, buildSelfMetrics, type SelfMetricInput } from './self-metrics';
import { buildLabels, seriesKey, type Sample, type TimeSeries } from './series';
import { endpointInShard, metricInShard } from './shard';
import { currentHolder, decodeJournalRecord, encodeJournalRecord, holderIsDead } from './state/journal';
import { newSeriesState, seriesKeyOf } from './state/series-state';
import type { SeriesTable } from './state/series-table';
import { LeaseHeldError, type StateStore } from './state/store';
import { decodeState, emptyState, encodeState, type BridgeState } from './state/state';
import { emptyStats, SeriesCursor, type CursorSettings, type TranslateStats } from './translate';
import { alignDown, planWindow, type CycleWindow } from './windows';

/** Everything the cycle talks to, injected so tests drive it without globals. */
export interface CycleDeps {
  readonly cloudwatch: CloudWatchClient;
  /** Absent: no endpoint metadata series. */
  readonly sagemaker?: SageMakerClient;
  /** Reads endpoint tags (`endpointTags`); absent: no tag labels. */
  readonly tagging?: ResourceGroupsTaggingAPIClient;
  readonly store: StateStore;
  /** Sends one remote-write request body. */
  readonly send: (body: Uint8Array) => Promise<SendResult>;
  /** The cycle's clock (simulated in replays and tests). */
  readonly now: () => number;
  /** Epoch ms (wall clock) by which this cycle must have ended: the Lambda's deadline. Its journal lease ends there. */
  readonly deadline: () => number;
  readonly logger: BridgeLogger;
  readonly discoveryCache: DiscoveryCache;
  /** Labels on every series: `region`, and `account_id` when known. */
  readonly baseLabels: Readonly<Record<string, string>>;
  /** Where a dry run writes its text exposition. */
  readonly output?: (text: string) => void;
  /** The receiver's query API (raw samples), to take each series up where the receiver has it after a loss of state. */
  readonly receiverQuery?: RawQuery;
}

export interface CycleOptions {
  /** Write the text exposition to `output`; read no journal, write nothing, commit nothing. */
  readonly dryRun?: boolean;
  /** Move the stored state aside and start as if there were none. */
  readonly resetState?: boolean;
}

export interface CycleReport {
  readonly window: CycleWindow | undefined;
  /** Epoch ms: everything before it has been forwarded (after this cycle). */
  readonly highWaterMark: number | undefined;
  readonly replayedBatches: number;
  readonly metricsDiscovered: number;
  readonly queries: number;
  readonly getMetricDataCalls: number;
  readonly series: number;
  readonly samples: number;
  readonly batches: number;
  readonly written: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  /** Samples a retry found already stored: the first attempt was stored and its response lost. Nothing is missing. */
  readonly alreadyStored: number;
  /** Datapoints older than the receiver accepts: not written (counters carried their sums on). */
  readonly skippedTooOld: number;
  /** Bytes of text exposition written (dry run). */
  readonly expositionBytes: number;
}

const SERIES_RETENTION_MS = 24 * 3600 * 1000;
/** How long CloudWatch keeps datapoints of periods under a minute (GetMetricData, MetricStat Period). */
const HIGH_RESOLUTION_RETENTION_MS = 3 * 3600 * 1000;
/** SageMaker describing may go on this long even when the CloudWatch reads end sooner. */
const METADATA_MIN_MS = 10_000;
const ALREADY_STORED: ReadonlySet<RejectReason> = new Set(['out_of_order', 'duplicate']);
const REJECT_REASONS: readonly RejectReason[] = ['out_of_order', 'duplicate', 'too_old', 'series_limit', 'bad_request'];

/**
 * One bridge cycle: finish a journaled write left by a killed cycle, then discover -> plan -> and, one
 * GetMetricData call's worth of queries at a time (several at once): fetch a page -> translate -> journal each
 * request -> send it. State is committed only after every request was sent. Memory holds the per-series state
 * and the pages in flight, never the cycle's samples.
 */
export async function runCycle(config: BridgeConfig, catalog: Catalog, deps: CycleDeps, options: CycleOptions = {}): Promise<CycleReport> {
  const startedAt = deps.now();
  const { logger, store } = deps;
  let loaded = await store.load();
  if (options.resetState && !options.dryRun && loaded.bytes) {
    const aside = await store.moveAside(`reset-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    logger.warn('state reset on request: the old state was kept aside; counters restart', { state: store.location, keptAt: aside });
    loaded = { bytes: undefined, version: (await store.load()).version };
  }
  const stored = loaded.bytes ? decodeState(loaded.bytes, store.location) : undefined;
  let version = loaded.version;
  let replayedBatches = 0;
  if (stored?.journal && !options.dryRun) {
    const journal = stored.journal;
    if (Date.now() < journal.leaseUntil && !holderIsDead(journal.holder, { sameProcess: true })) {
      throw new LeaseHeldError(store.location, journal.holder, journal.leaseUntil);
    }
    replayedBatches = await replayJournal(stored, deps);
    stored.selfCounters = addToCounters(stored.selfCounters, deps.baseLabels, [{ name: 'inferwatch_bridge_journal_replays_total', by: 1 }]);
    version = await store.save(encodeState(stored), version);
    await store.clearJournal(journal.id, replayedBatches).catch((error: Error) => logger.warn('could not remove a replayed journal', { journal: journal.id, error: error.message }));
  }

  const previous: BridgeState = stored ?? emptyState();
  if (!stored) logger.info('no bridge state found: starting from the initial lookback', { state: store.location, initialLookback: config.initialLookback });
  const planned = planWindow(startedAt, config, previous.highWaterMark);
  const emptyReport = {
    highWaterMark: previous.highWaterMark,
    replayedBatches,
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
  if (!planned) {
    logger.info('no new settled period yet', { highWaterMark: iso(previous.highWaterMark) });
    return { window: planned, ...emptyReport };
  }

  const calls = new ApiCallCounter();
  const metrics = (await discoverMetrics(deps.cloudwatch, config.namespaces, deps.discoveryCache, startedAt, config.discoveryInterval * 1000, calls)).filter((metric) =>
    metricInShard(metric, config.shard),
  );
  // The series' windows refer to the stored base: read from there, whatever the window (a recovered first cycle has one but no high-water mark).
  const readStart = Math.min(previous.revisionBase ?? planned.readStart, planned.start);
  // CloudWatch keeps high-resolution datapoints 3 hours and answers a read that starts earlier with none: such a
  // cycle (a catch-up after a long outage) reads those metrics at the cycle's period.
  const highResolution = config.highResolution && readStart >= startedAt - HIGH_RESOLUTION_RETENTION_MS;
  if (config.highResolution && !highResolution) logger.info('this cycle reads high-resolution metrics at the configured period: CloudWatch keeps their datapoints 3 hours', { readFrom: iso(readStart), period: config.period });
  // The table marks what is planned: a Set of every planned key would cost a large fleet ~20 MB of heap.
  const plan = new QueryPlan(metrics, catalog, deps.baseLabels, config.maxLabelValueLength, { period: config.period, highResolution }, previous.series);
  // Once per name in the catalog's life (a warm Lambda, a CLI process): enough for a user to report it, never a flood.
  for (const [namespace, names] of catalog.takeUnlisted()) {
    logger.info('CloudWatch metrics that match no catalog entry: forwarded under generic names (report them, or add catalog entries)', { namespace, metrics: names });
  }
  const periodMs = config.period * 1000;
  const writableFrom = Math.ceil((startedAt - config.remoteWrite.maxSampleAge * 1000) / periodMs) * periodMs;
  const window = capByBudget(planned, plan.samplesPerPeriod, periodMs, config.maxSamplesPerCycle, writableFrom);
  if (window.end < planned.end) {
    logger.info('catching up: this cycle forwards what its sample budget allows; the next cycles carry on', {
      budget: config.maxSamplesPerCycle,
      queries: plan.size,
      forwardsUpTo: iso(window.end),
      readyUpTo: iso(planned.end),
    });
  }
  const settings: CursorSettings = {
    periodMs,
    readStart,
    end: window.end,
    nextBase: Math.max(readStart, window.end - config.revisionWindow * 1000),
    writableFrom,
  };

  // Without state, the receiver may hold some of these periods already: take each series up where it has it.
  let recovered = false;
  if (!stored && !options.dryRun && deps.receiverQuery) {
    recovered = await recoverFromReceiver(previous.series, plan, deps, { from: readStart - periodMs, to: window.end });
  }

  const journalId = `${alignDown(startedAt, 1000)}-${randomBytes(4).toString('hex')}`;
  const leaseUntil = deps.deadline();
  const claimed: BridgeState = { ...previous, journal: { id: journalId, base: readStart, leaseUntil, holder: currentHolder() } };
  if (!options.dryRun) version = await store.save(encodeState(claimed), version);

  const sagemaker = structuredClone(previous.sagemaker ?? emptySageMakerCache());
  // SageMaker metadata runs beside the CloudWatch reads: its calls wait on another API's quota.
  const wallStart = Date.now();
  let readsDone = false;
  const metadataDone = deps.sagemaker
    ? refreshEndpointMetadata(deps.sagemaker, sagemaker, {
        now: startedAt,
        refreshMs: config.sagemakerRefresh * 1000,
        concurrency: config.concurrency,
        limiter: new RateLimiter(config.sagemakerTps),
        maxDescribes: config.sagemakerMaxDescribes,
        // Describing never makes the cycle longer than its CloudWatch reads (or 10 s): the rest follows next cycle.
        timeUp: () => readsDone && Date.now() - wallStart > METADATA_MIN_MS,
        calls,
        logger,
        inShard: (name) => endpointInShard(name, config.shard),
        tags: deps.tagging && config.endpointTags.length > 0 ? { client: deps.tagging, keys: config.endpointTags, refreshMs: config.endpointTagsRefresh * 1000 } : undefined,
      })
    : Promise.resolve(undefined);
  // Awaited after the reads; a failure here must not go unhandled meanwhile.
  metadataDone.catch(() => {});

  // Endpoints, variants and inference components the previous cycles saw deleted: their CloudWatch series get a staleness marker.
  const ended = previous.sagemaker?.ended ?? {};
  const endedSeries = (query: PlannedQuery): boolean => {
    if (Object.keys(ended).length === 0) return false;
    const endpoint = query.metric.dimensions.find((d) => d.Name === 'EndpointName')?.Value;
    const variant = query.metric.dimensions.find((d) => d.Name === 'VariantName')?.Value;
    const component = query.metric.dimensions.find((d) => d.Name === 'InferenceComponentName')?.Value;
    if (component !== undefined && ended[componentEndedKey(component)] !== undefined) return true;
    return endpoint !== undefined && (ended[endpoint] !== undefined || (variant !== undefined && ended[`${endpoint}/${variant}`] !== undefined));
  };
  const stats = emptyStats();
  const writer = new RequestWriter(deps, journalId, leaseUntil, options.dryRun ? new ExpositionWriter(deps.output ?? (() => {}), familyLookup(catalog)) : undefined);
  // Updated in place (each series is read and written by one chunk only), so a large fleet's state is held once.
  const nextSeries = previous.series;
  const cloudwatchLimiter = new RateLimiter(config.getMetricDataTps);
  let forbidden = 0;
  let seriesWritten = 0;
  // Without state and without the receiver's answer, one request per period: periods the receiver holds fail alone.
  const mode = options.dryRun ? 'whole' : stored || recovered ? 'stream' : 'byTimestamp';

  try {
    await forEachConcurrently(plan.chunks(), options.dryRun ? 1 : config.concurrency, async (chunk) => {
      const batcher = new BatchBuilder(config.remoteWrite.maxSamplesPerRequest, mode);
      // One period per chunk: a high-resolution chunk's series step by their own period; the window stays the cycle's.
      const periodSeconds = chunk[0]?.periodSeconds ?? config.period;
      const chunkSettings = periodSeconds === config.period ? settings : { ...settings, periodMs: periodSeconds * 1000 };
      // Each query's own series, then the series its datapoints also feed; `outputsOf[q]` indexes both.
      const series = chunk.flatMap((query) => [query, ...query.also]);
      const outputsOf: number[][] = [];
      let next = 0;
      for (const query of chunk) {
        outputsOf.push(Array.from({ length: 1 + query.also.length }, (_, i) => next + i));
        next += 1 + query.also.length;
      }
      const cursors = series.map((s) => new SeriesCursor(previous.series.get(s.key), s.template.kind === 'counter', s.template.constLabels.quantile !== undefined, s.template.scale, chunkSettings, stats));
      const batchSeries = series.map((s) => ({ labels: s.labels, kind: s.template.kind, key: s.key }));
      const wrote = new Uint8Array(series.length);
      const out: Sample[] = [];
      // Each sample goes into the journal with the state it leaves its series in: a new counter's 0 baseline apart
      // from its first value, so that a replay that stops between the two never sends the baseline again.
      const add = (index: number) => {
        if (out.length === 0) return;
        const batch = batchSeries[index] as (typeof batchSeries)[number];
        const cursor = cursors[index] as SeriesCursor;
        const [first, second] = out;
        if (second && first) {
          batcher.add(batch, [first], cursor.baselineState(first.timestamp));
          batcher.add(batch, [second], cursor.journalState());
        } else {
          batcher.add(batch, out, cursor.journalState());
        }
        wrote[index] = 1;
      };
      const outcome = await fetchChunk(deps.cloudwatch, chunk, { start: readStart, end: window.end, periodSeconds }, cloudwatchLimiter, calls, logger, async (page) => {
        for (const { index, timestamps, values } of page) {
          for (const output of outputsOf[index] ?? []) {
            const cursor = cursors[output] as SeriesCursor;
            for (let i = 0; i < timestamps.length; i++) {
              out.length = 0;
              cursor.push((timestamps[i] as Date).getTime(), values[i] as number, out);
              add(output);
            }
          }
        }
        await writer.sendAll(batcher.drain());
      });
      forbidden += outcome.forbidden;
      for (const [index, query] of chunk.entries()) {
        for (const output of outputsOf[index] ?? []) {
          const cursor = cursors[output] as SeriesCursor;
          if (outcome.incomplete.has(index)) cursor.incomplete = true;
          out.length = 0;
          cursor.finish(out);
          if (endedSeries(query)) cursor.end(out);
          add(output);
          nextSeries.set((series[output] as PlannedQuery['also'][number]).key, cursor.finalState());
        }
      }
      batcher.close();
      await writer.sendAll(batcher.drain());
      seriesWritten += wrote.reduce((n, w) => n + w, 0);
    });
  } catch (error) {
    throw cycleFailure(error, writer, previous.highWaterMark, options.dryRun);
  }
  readsDone = true;
  for (const collision of plan.collisions) logger.warn('two CloudWatch metrics map to the same Prometheus series; the second is skipped', { metric: collision });
  if (stats.nonFinite > 0) logger.warn('dropped NaN/Inf datapoints from CloudWatch', { count: stats.nonFinite });
  if (stats.tooOld.samples > 0) {
    logger.warn('datapoints older than the receiver accepts were not written; counters carry their sums into their next sample', {
      samples: stats.tooOld.samples,
      from: iso(stats.tooOld.from),
      to: iso(stats.tooOld.to),
      maxSampleAge: config.remoteWrite.maxSampleAge,
    });
  }
  carryUnreadSeries(nextSeries, settings, window.end - SERIES_RETENTION_MS);
  const endedMetadata = await metadataDone;
  // Metadata describes the endpoints as they are now: during a catch-up, at the oldest time the receiver accepts.
  const metadataOptions = {
    timestamp: Math.max(window.end - periodMs, writableFrom),
    baseLabels: deps.baseLabels,
    maxLabelValueLength: config.maxLabelValueLength,
    tagKeys: config.endpointTags,
  };
  const tail = new BatchBuilder(config.remoteWrite.maxSamplesPerRequest, options.dryRun ? 'whole' : 'stream');
  let metadataCount = 0;
  if (deps.sagemaker) {
    for (const s of metadataSeries(sagemaker, metadataOptions)) {
      tail.add({ labels: s.labels, kind: s.kind }, s.samples);
      metadataCount += 1;
    }
  }
  // One period after the last metadata sample (the previous cycle's), so the series ends right where it stopped.
  const endedAt = Math.max(previous.highWaterMark ?? window.end - periodMs, settings.writableFrom);
  if (endedMetadata) for (const s of metadataSeries(endedMetadata, { ...metadataOptions, timestamp: Math.min(endedAt, metadataOptions.timestamp), stale: true })) tail.add({ labels: s.labels, kind: s.kind }, s.samples);

  const self = buildSelfMetrics(
    {
      timestamp: deps.now(),
      baseLabels: deps.baseLabels,
      collectSeconds: (deps.now() - startedAt) / 1000,
      lastWriteSeconds: previous.lastWriteMs === undefined ? undefined : previous.lastWriteMs / 1000,
      lagSeconds: (deps.now() - window.end) / 1000,
      seriesActive: seriesWritten + metadataCount,
      queries: plan.size,
      increments: cycleIncrements(calls, stats, forbidden),
    },
    previous.selfCounters,
  );
  // Sorted by name: the text exposition needs each family together.
  for (const s of self.series.sort(byName)) tail.add({ labels: s.labels, kind: s.kind }, s.samples);
  tail.close();
  await writer.sendAll(tail.drain());
  if (!options.dryRun) await deps.send(encodeMetadataRequest(allFamilies(catalog))).catch((error: Error) => logger.warn('remote-write metadata not sent; types and HELP arrive with the next cycle', { error: error.message }));

  const report = {
    window,
    highWaterMark: window.end,
    replayedBatches,
    metricsDiscovered: metrics.length,
    queries: plan.size,
    getMetricDataCalls: calls.count('cloudwatch', 'GetMetricData'),
    series: seriesWritten + metadataCount + self.series.length,
    samples: writer.samples,
    batches: writer.requests,
    written: writer.written,
    rejected: writer.rejected,
    alreadyStored: writer.alreadyStored,
    skippedTooOld: stats.tooOld.samples,
    expositionBytes: writer.expositionBytes,
  };
  logger.info('cycle done', {
    window: `[${iso(window.start)}, ${iso(window.end)})`,
    read: `[${iso(readStart)}, ${iso(window.end)})`,
    metrics: metrics.length,
    queries: plan.size,
    getMetricDataCalls: report.getMetricDataCalls,
    sagemakerCalls: [...calls.calls].filter(([key]) => key.startsWith('sagemaker:')).reduce((n, [, c]) => n + c, 0),
    series: report.series,
    samples: report.samples,
    requests: report.batches,
    revisions: stats.revisions,
  });
  if (options.dryRun) return report;

  const committed: BridgeState = {
    highWaterMark: window.end,
    revisionBase: settings.nextBase,
    series: nextSeries,
    lastWriteMs: writer.sendMs,
    sagemaker: deps.sagemaker ? sagemaker : previous.sagemaker,
    selfCounters: addToCounters(self.counters, deps.baseLabels, writeIncrements(writer.written, writer.rejected, writer.alreadyStored)),
  };
  await store.save(encodeState(committed), version);
  await store.clearJournal(journalId, writer.requests).catch((error: Error) => logger.warn('could not remove the committed journal', { journal: journalId, error: error.message }));
  logger.info('cycle committed', { highWaterMark: iso(window.end), written: writer.written, alreadyStored: writer.alreadyStored, rejected: writer.rejected, requests: writer.requests, stateSeries: nextSeries.size });
  return report;
}

/**
 * After a loss of state, asks the receiver for the newest sample it holds of every series this cycle writes, in
 * the span the cycle reads, and takes each series up there: the frontier is that sample's time, a counter's total
 * its value. Nothing the receiver holds is sent again and no counter restarts, so no period is counted twice or
 * lost. Series the receiver does not hold start as new. Returns false (and the cycle falls back to one request per
 * period) when the receiver cannot be asked.
 */
async function recoverFromReceiver(table: SeriesTable, plan: QueryPlan, deps: CycleDeps, span: { from: number; to: number }): Promise<boolean> {
  const query = deps.receiverQuery as RawQuery;
  const matchers = Object.entries(deps.baseLabels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(',');
  const range = `${Math.max(1, Math.ceil((span.to - span.from) / 1000))}s`;
  try {
    await forEachConcurrently(plan.families(), 4, async ({ name, counter }) => {
      const found = await query(`{__name__=${JSON.stringify(name)}${matchers ? `,${matchers}` : ''}}[${range}]`, span.to - 1);
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
    deps.logger.warn('no bridge state, and the receiver could not be asked what it holds: one request per period, and counters restart from 0', { error: (error as Error).message });
    table.clear();
    return false;
  }
  deps.logger.info('no bridge state: took each series up where the receiver has it', { series: table.size, from: new Date(span.from).toISOString() });
  return true;
}

/**
 * A failed cycle's last word says what happened: which call failed (the error's own message), what this cycle had
 * written and that it is journaled, and where the next cycle starts. Nothing was committed.
 */
function cycleFailure(error: unknown, writer: RequestWriter, highWaterMark: number | undefined, dryRun: boolean | undefined): Error {
  if (!(error instanceof Error) || dryRun) return error as Error;
  const kept =
    writer.requests > 0
      ? `it had written ${writer.samples} samples in ${writer.requests} request(s), journaled: the next cycle replays them first`
      : 'it had written nothing';
  error.message = `${error.message}. Nothing was committed: ${kept}, and carries on from ${highWaterMark === undefined ? 'the initial lookback' : new Date(highWaterMark).toISOString()}`;
  return error;
}

/**
 * Ends the window early enough that the cycle writes at most `budget` samples (but always one period). Periods older
 * than the receiver accepts (before `writableFrom`) are only read (counters carry their sums), so they do not count:
 * after a long outage, each cycle skips up to `maxCycleSpan` of them.
 */
export function capByBudget(window: CycleWindow, queries: number, periodMs: number, budget: number, writableFrom = -Infinity): CycleWindow {
  const periods = Math.max(1, Math.floor(budget / Math.max(1, queries)));
  const writableStart = Math.max(window.start, writableFrom);
  return { ...window, end: Math.min(window.end, writableStart + periods * periodMs) };
}

/**
 * Series this cycle did not read (not listed by ListMetrics this time) keep their totals for the retention, so a
 * brief absence is not a counter reset. Their windows referred to the old base: still right if nothing they
 * forwarded is at or after the new base, otherwise unknown until they are read again.
 */
function carryUnreadSeries(table: SeriesTable, settings: CursorSettings, forgetBefore: number): void {
  for (const [key, state] of table) {
    if (table.isPlanned(key)) continue;
    if (state.frontier < forgetBefore) {
      table.delete(key);
      continue;
    }
    const nothingSinceBase = state.frontier < settings.nextBase;
    table.set(key, { ...state, window: nothingSinceBase ? 0 : state.window, count: nothingSinceBase ? 0 : state.count, baseline: nothingSinceBase });
  }
  table.clearPlanned();
}

/**
 * Journals each request (its body and the state of its series) before sending it, sends with the chunk's lane
 * order kept (a series' samples always reach the receiver in time order), and counts the outcome. A 400 is
 * logged and counted (its samples are lost, and said so); any other failure leaves the journal for the next cycle.
 */
class RequestWriter {
  samples = 0;
  requests = 0;
  written = 0;
  sendMs = 0;
  readonly rejected: Partial<Record<RejectReason, number>> = {};
  alreadyStored = 0;
  private seq = 0;

  constructor(
    private readonly deps: CycleDeps,
    private readonly journalId: string,
    private readonly leaseUntil: number,
    private readonly exposition: ExpositionWriter | undefined,
  ) {}

  get expositionBytes(): number {
    return this.exposition?.bytes ?? 0;
  }

  async sendAll(batches: readonly Batch[]): Promise<void> {
    for (const batch of batches) await this.sendOne(batch);
  }

  private async sendOne(batch: Batch): Promise<void> {
    this.samples += batch.samples;
    this.requests += 1;
    if (this.exposition) {
      this.exposition.add(batch.series);
      return;
    }
    // Past the lease another cycle may take the journal over: stop before writing anything more.
    if (Date.now() >= this.leaseUntil) throw new Error(`the cycle ran past its deadline (${new Date(this.leaseUntil).toISOString()}); what it wrote is journaled and the next cycle finishes it`);
    const body = encodeWriteRequest(batch.series);
    await this.deps.store.appendJournal(this.journalId, this.seq++, encodeJournalRecord(body, batch.states));
    const started = Date.now();
    const result = await this.deps.send(body);
    this.sendMs += Date.now() - started;
    if (result.status === 'ok') {
      this.written += batch.samples;
    } else if (ALREADY_STORED.has(result.reason) && result.attempts > 1) {
      // An earlier attempt of this very request reached the receiver; only its answer was lost.
      this.alreadyStored += batch.samples;
      this.written += batch.samples;
      this.deps.logger.warn('a retried request was refused as already stored: an earlier attempt was stored and its response lost; nothing is missing', {
        reason: result.reason,
        attempts: result.attempts,
        samples: batch.samples,
      });
    } else {
      this.rejected[result.reason] = (this.rejected[result.reason] ?? 0) + batch.samples;
      this.deps.logger.error('remote write rejected a request (HTTP 400); its samples are dropped', { reason: result.reason, receiver: result.message, samples: batch.samples });
    }
  }
}

/**
 * Sends a killed cycle's journaled requests again, alone and in order, and adopts the state of their series. A
 * 2xx, or a 400 for an out-of-order or duplicate sample, means the request is stored; anything else is logged.
 */
async function replayJournal(state: BridgeState, deps: CycleDeps): Promise<number> {
  const journal = state.journal;
  if (!journal) return 0;
  deps.logger.warn('found a journaled write that was never committed (a cycle stopped after writing); replaying it before anything new', {
    journal: journal.id,
    holder: journal.holder,
  });
  let seq = 0;
  for (;;) {
    const bytes = await deps.store.readJournal(journal.id, seq);
    if (!bytes) break;
    const record = decodeJournalRecord(bytes, `${journal.id}/${seq}`);
    const result = await deps.send(record.body);
    if (result.status === 'rejected' && !ALREADY_STORED.has(result.reason)) {
      deps.logger.error('journal replay: receiver rejected a request; its samples are lost', { reason: result.reason, receiver: result.message });
    }
    for (const [key, series] of record.series) state.series.set(key, series);
    seq += 1;
  }
  state.revisionBase = journal.base;
  delete state.journal;
  return seq;
}

/** This cycle's additions to the bridge's own counters; zero increments create the counters at 0. */
function cycleIncrements(calls: ApiCallCounter, stats: TranslateStats, forbidden: number): SelfMetricInput['increments'] {
  return [
    ...[...calls.calls].map(([key, by]) => {
      const [service, api] = key.split(':') as [string, string];
      return { name: `inferwatch_bridge_${service}_requests_total`, labels: { api }, by };
    }),
    { name: 'inferwatch_bridge_cloudwatch_metrics_requested_total', by: calls.metricsRequested },
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

function writeIncrements(written: number, rejected: Partial<Record<RejectReason, number>>, alreadyStored: number): SelfMetricInput['increments'] {
  return [
    { name: 'inferwatch_bridge_samples_written_total', by: written },
    { name: 'inferwatch_bridge_samples_already_stored_total', by: alreadyStored },
    ...REJECT_REASONS.map((reason) => ({ name: 'inferwatch_bridge_samples_rejected_total', labels: { reason }, by: rejected[reason] ?? 0 })),
  ];
}

function byName(a: TimeSeries, b: TimeSeries): number {
  const x = a.labels[0]?.value ?? '';
  const y = b.labels[0]?.value ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
}
