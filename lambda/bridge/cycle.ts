import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Catalog } from './catalog/catalog';
import { discoverMetrics, type DiscoveryCache } from './cloudwatch/discovery';
import { fetchMetricData } from './cloudwatch/fetch';
import { planQueries } from './cloudwatch/plan';
import type { BridgeConfig } from './config';
import type { BridgeLogger } from './logger';
import { countSamples, encodeWriteRequest, splitByTimestamp, splitIntoBatches } from './remote-write/encode';
import { toExposition } from './remote-write/exposition';
import type { RejectReason, SendResult } from './remote-write/client';
import { endpointMetadata, type EndpointConfigCache } from './sagemaker/metadata';
import { addToCounters, ApiCallCounter, buildSelfMetrics, type SelfMetricInput } from './self-metrics';
import { endpointInShard, metricInShard } from './shard';
import type { TimeSeries } from './series';
import { emptyState, type BridgeState, type StateDocument, type StateStore } from './state/state';
import { translate, type TranslateStats } from './translate';
import { planWindow, type CycleWindow } from './windows';

/** Everything the cycle talks to, injected so tests drive it without globals. */
export interface CycleDeps {
  readonly cloudwatch: CloudWatchClient;
  /** Absent: no endpoint metadata series. */
  readonly sagemaker?: SageMakerClient;
  readonly store: StateStore;
  /** Sends one remote-write request body. */
  readonly send: (body: Uint8Array) => Promise<SendResult>;
  readonly now: () => number;
  readonly logger: BridgeLogger;
  readonly discoveryCache: DiscoveryCache;
  readonly endpointConfigCache: EndpointConfigCache;
  /** Labels on every series: `region`, and `account_id` when known. */
  readonly baseLabels: Readonly<Record<string, string>>;
}

export interface CycleOptions {
  /** Compute and return the exposition; read no journal, write nothing, commit nothing. */
  readonly dryRun?: boolean;
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
  readonly rejected: Partial<Record<RejectReason, number>>;
  /** The text exposition of what was (or, in a dry run, would be) written. */
  readonly exposition: string;
}

const SERIES_RETENTION_MS = 24 * 3600 * 1000;

const ALREADY_STORED: ReadonlySet<RejectReason> = new Set(['out_of_order', 'duplicate']);
const REJECT_REASONS: readonly RejectReason[] = ['out_of_order', 'duplicate', 'too_old', 'bad_request'];

/**
 * One bridge cycle: finish a journaled write left by a crashed cycle, then discover -> plan -> GetMetricData
 * -> translate -> journal -> remote write -> commit. State is committed only after every batch was sent;
 * the journal makes the write idempotent across a crash between write and commit.
 */
export async function runCycle(config: BridgeConfig, catalog: Catalog, deps: CycleDeps, options: CycleOptions = {}): Promise<CycleReport> {
  const startedAt = deps.now();
  const { logger } = deps;
  let loaded = await deps.store.load();
  let replayedBatches = 0;

  if (loaded.document?.pending && !options.dryRun) {
    replayedBatches = await replayJournal(loaded.document, deps);
    const committed = { ...loaded.document.pending.next };
    committed.selfCounters = addToCounters(committed.selfCounters, deps.baseLabels, [{ name: 'inferwatch_bridge_journal_replays_total', by: 1 }]);
    const version = await deps.store.save({ committed }, loaded.version);
    loaded = { document: { committed }, version };
  }

  const previous: BridgeState = loaded.document?.committed ?? emptyState();
  if (!loaded.document) logger.info('no bridge state found: starting from the initial lookback', { state: deps.store.location, initialLookback: config.initialLookback });
  const window = planWindow(deps.now(), config, previous.highWaterMark);
  const empty = { highWaterMark: previous.highWaterMark, replayedBatches, metricsDiscovered: 0, queries: 0, getMetricDataCalls: 0, series: 0, samples: 0, batches: 0, rejected: {}, exposition: '' };
  if (!window) {
    logger.info('no new settled period yet', { highWaterMark: iso(previous.highWaterMark) });
    return { window, ...empty };
  }

  const calls = new ApiCallCounter();
  const metrics = (await discoverMetrics(deps.cloudwatch, config.namespaces, deps.discoveryCache, startedAt, config.discoveryInterval * 1000, calls)).filter((metric) =>
    metricInShard(metric, config.shard),
  );
  const plan = planQueries(metrics, catalog, deps.baseLabels, config.maxLabelValueLength);
  for (const collision of plan.collisions) logger.warn('two CloudWatch metrics map to the same Prometheus series; the second is skipped', { metric: collision });
  const fetched = await fetchMetricData(deps.cloudwatch, plan.queries, window, config.period, calls, logger);

  const translated = translate(
    plan.queries.map((query, index) => ({
      name: query.template.name,
      labels: query.labels,
      kind: query.template.kind,
      quantile: query.template.constLabels.quantile !== undefined,
      scale: query.template.scale,
      points: fetched.points[index] ?? [],
    })),
    window,
    previous,
    { periodMs: config.period * 1000, revisionWindowMs: config.revisionWindow * 1000, retentionMs: SERIES_RETENTION_MS },
  );
  if (translated.stats.nonFinite > 0) logger.warn('dropped NaN/Inf datapoints from CloudWatch', { count: translated.stats.nonFinite });

  const metadata = deps.sagemaker
    ? await endpointMetadata(deps.sagemaker, deps.endpointConfigCache, window.end - config.period * 1000, deps.baseLabels, config.maxLabelValueLength, calls, logger, (name) =>
        endpointInShard(name, config.shard),
      )
    : [];

  const { revisions } = translated.stats;
  const self = buildSelfMetrics(
    {
      timestamp: deps.now(),
      baseLabels: deps.baseLabels,
      collectSeconds: (deps.now() - startedAt) / 1000,
      lastWriteSeconds: previous.lastWriteMs === undefined ? undefined : previous.lastWriteMs / 1000,
      lagSeconds: (deps.now() - window.end) / 1000,
      seriesActive: translated.series.length + metadata.length,
      queries: plan.queries.length,
      increments: cycleIncrements(calls, translated.stats, fetched.forbidden),
    },
    previous.selfCounters,
  );

  const series: TimeSeries[] = [...translated.series, ...metadata, ...self.series];
  const samples = countSamples(series);
  // Without state the receiver may already hold some of these periods (lost state): then one request per period.
  const batches = loaded.document ? splitIntoBatches(series, config.remoteWrite.maxSamplesPerRequest) : splitByTimestamp(series, config.remoteWrite.maxSamplesPerRequest);
  const next: BridgeState = { ...translated.state, selfCounters: self.counters };
  const base = {
    window,
    highWaterMark: window.end,
    replayedBatches,
    metricsDiscovered: metrics.length,
    queries: plan.queries.length,
    getMetricDataCalls: calls.count('cloudwatch', 'GetMetricData'),
    series: series.length,
    samples,
    batches: batches.length,
    exposition: toExposition(series),
  };
  logger.info('cycle planned', {
    window: `[${iso(window.start)}, ${iso(window.end)})`,
    reread: iso(window.readStart),
    metrics: metrics.length,
    queries: plan.queries.length,
    getMetricDataCalls: base.getMetricDataCalls,
    series: series.length,
    samples,
    revisions,
  });
  if (options.dryRun) return { ...base, rejected: {} };

  const rejected = await writeAndCommit(batches, previous, next, loaded.version, startedAt, deps);
  return { ...base, rejected };
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
    { name: 'inferwatch_bridge_samples_dropped_total', labels: { reason: 'non_finite' }, by: stats.nonFinite },
    { name: 'inferwatch_bridge_samples_dropped_total', labels: { reason: 'forbidden' }, by: forbidden },
    // Write results are added after the write (writeAndCommit); these create the counters at 0 on the first cycle.
    ...writeIncrements(0, {}),
    { name: 'inferwatch_bridge_journal_replays_total', by: 0 },
  ];
}

function writeIncrements(written: number, rejected: Partial<Record<RejectReason, number>>): SelfMetricInput['increments'] {
  return [
    { name: 'inferwatch_bridge_samples_written_total', by: written },
    ...REJECT_REASONS.map((reason) => ({ name: 'inferwatch_bridge_samples_rejected_total', labels: { reason }, by: rejected[reason] ?? 0 })),
  ];
}

/**
 * Journals the exact request bodies and the state they lead to, sends them in order, then commits. A 400 is
 * logged and counted (its samples are lost, and said so); any other failure leaves the journal for the next cycle.
 */
async function writeAndCommit(batches: TimeSeries[][], previous: BridgeState, next: BridgeState, version: string | undefined, startedAt: number, deps: CycleDeps) {
  const bodies = batches.map((batch) => encodeWriteRequest(batch));
  const journal: StateDocument = {
    committed: previous,
    pending: { batches: bodies.map((b) => Buffer.from(b).toString('base64')), next, createdAt: startedAt },
  };
  const journalVersion = await deps.store.save(journal, version);

  const writeStartedAt = deps.now();
  const rejected: Partial<Record<RejectReason, number>> = {};
  let written = 0;
  for (const [index, body] of bodies.entries()) {
    const result = await deps.send(body);
    const batchSamples = countSamples(batches[index] ?? []);
    if (result.status === 'ok') {
      written += batchSamples;
    } else {
      rejected[result.reason] = (rejected[result.reason] ?? 0) + batchSamples;
      deps.logger.error('remote write rejected a batch (HTTP 400); its samples are dropped', { reason: result.reason, receiver: result.message, samples: batchSamples });
    }
  }

  const committed: BridgeState = {
    ...next,
    lastWriteMs: deps.now() - writeStartedAt,
    selfCounters: addToCounters(next.selfCounters, deps.baseLabels, writeIncrements(written, rejected)),
  };
  await deps.store.save({ committed }, journalVersion);
  deps.logger.info('cycle committed', { highWaterMark: iso(next.highWaterMark), written, rejected, batches: bodies.length });
  return rejected;
}

/**
 * Sends a crashed cycle's journaled batches again, alone and in order. A 2xx, or a 400 for an out-of-order
 * or duplicate sample, means the batch is stored; anything else older than the receiver accepts is lost and logged.
 */
async function replayJournal(document: StateDocument, deps: CycleDeps): Promise<number> {
  const pending = document.pending;
  if (!pending) return 0;
  deps.logger.warn('found a journaled write that was never committed (the previous cycle stopped after writing); replaying it before anything new', {
    batches: pending.batches.length,
    journaledAt: iso(pending.createdAt),
  });
  for (const encoded of pending.batches) {
    const result = await deps.send(Buffer.from(encoded, 'base64'));
    if (result.status === 'rejected' && !ALREADY_STORED.has(result.reason)) {
      deps.logger.error('journal replay: receiver rejected a batch; its samples are lost', { reason: result.reason, receiver: result.message });
    }
  }
  return pending.batches.length;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
