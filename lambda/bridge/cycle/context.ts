import type { Catalog } from '../catalog/catalog';
import type { BridgeConfig } from '../../../contract/bridge-config';
import type { BridgeLogger } from '../logger';
import { ApiCallCounter } from '../self-metrics';
import { cycleSources, type MetricSource, type SourcePlan } from '../sources';
import { emptyState, type BridgeState } from '../state/state';
import { emptyStats, type CursorSettings, type TranslateStats } from '../translate';
import type { CycleWindow } from '../windows';
import type { CycleDeps, CycleOptions } from './types';

/**
 * What the stages of one cycle share. `start` builds it around the loaded state; the later stages hand their results on as
 * values of their own (CyclePlan, Claim, Streamed), so each stage's inputs are in its signature.
 */
export interface CycleContext {
  readonly config: BridgeConfig;
  readonly catalog: Catalog;
  readonly deps: CycleDeps;
  readonly options: CycleOptions;
  readonly logger: BridgeLogger;
  /** `deps.now()` when the cycle started. */
  readonly startedAt: number;
  /** AWS calls and what they bill, for the self-metrics and the report. */
  readonly calls: ApiCallCounter;
  /** Revisions, dropped and skipped datapoints, added to by every series' cursor. */
  readonly stats: TranslateStats;
  readonly sources: readonly MetricSource[];
  /** The state as loaded (after a journal replay); undefined when there was none. */
  stored: BridgeState | undefined;
  /** `stored`, or an empty state. Its series table is updated in place by the reads: a large fleet's state is held once. */
  previous: BridgeState;
  /** The store's version, for the next conditional write. */
  version: string | undefined;
  /** The lease object's version, for the claim's conditional write. */
  leaseVersion: string | undefined;
  /** Requests of a killed cycle's journal sent again by `start`. */
  replayedBatches: number;
}

/** What `start` found in the store. */
export interface Loaded {
  readonly stored: BridgeState | undefined;
  readonly version: string | undefined;
  readonly leaseVersion: string | undefined;
  readonly replayedBatches: number;
}

export function newCycleContext(config: BridgeConfig, catalog: Catalog, deps: CycleDeps, options: CycleOptions, startedAt: number, loaded: Loaded): CycleContext {
  const calls = new ApiCallCounter();
  return {
    config,
    catalog,
    deps,
    options,
    logger: deps.logger,
    startedAt,
    calls,
    stats: emptyStats(),
    sources: cycleSources({ config, catalog, deps, calls, startedAt }),
    ...loaded,
    previous: loaded.stored ?? emptyState(),
  };
}

/** The plan stage's result: what this cycle forwards and how every source reads it. */
export interface CyclePlan {
  /** The window the cycle forwards: the settled periods not yet forwarded, cut to the sample budget. */
  readonly window: CycleWindow;
  /** The window before the budget cut. */
  readonly ready: CycleWindow;
  /** Epoch ms where every read starts: the stored revision base, or the window's start. */
  readonly readStart: number;
  /** Epoch ms: GetMetricData StartTime, `readStart` or earlier when a partial answer left periods unread. */
  readonly fetchStart: number;
  readonly periodMs: number;
  /** Epoch ms: samples older than this are not written (the receiver would refuse them). */
  readonly writableFrom: number;
  /** What every series' cursor works with (a read at another period changes only `periodMs`). */
  readonly settings: CursorSettings;
  readonly sources: readonly SourcePlan[];
  /** Queries the reads request, over every source. */
  readonly queries: number;
  /** What discovery found, over every source. */
  readonly discovered: number;
}

/** The journal lease this cycle holds while it writes. */
export interface Claim {
  readonly journalId: string;
  /** Wall-clock epoch ms: the lease ends there, and no request is written after it. */
  readonly leaseUntil: number;
  /** The lease object's version after the claim, for its release. */
  readonly leaseVersion: string | undefined;
}
