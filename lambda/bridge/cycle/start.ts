import { randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/catalog';
import type { BridgeConfig } from '../../../contract/bridge-config';
import { addToCounters } from '../self-metrics';
import { currentHolder, decodeJournalRecord, holderIsDead } from '../state/journal';
import { decodeState, encodeState, type BridgeState } from '../state/state';
import { ClaimLostError, ConcurrentUpdateError, LeaseHeldError, type LoadedState } from '../state/store';
import { alignDown } from '../windows';
import { newCycleContext, type Claim, type CycleContext, type CyclePlan } from './context';
import { ALREADY_STORED } from './request-writer';
import type { CycleDeps, CycleOptions } from './types';

/**
 * Start: load the state (moving it aside first on `--reset-state`), and finish a journaled write a killed cycle
 * left: its requests are sent again, alone and in order, and its state committed, before anything new is read.
 */
export async function start(config: BridgeConfig, catalog: Catalog, deps: CycleDeps, options: CycleOptions): Promise<CycleContext> {
  const startedAt = deps.now();
  const { logger, store } = deps;
  const loaded = await load(deps, options);
  const stored = loaded.bytes ? decodeState(loaded.bytes, store.location) : undefined;
  let version = loaded.version;
  let replayedBatches = 0;
  if (stored?.journal && !options.dryRun) {
    const journal = stored.journal;
    if (Date.now() < journal.leaseUntil && !holderIsDead(journal.holder, { sameProcess: true })) throw new LeaseHeldError(store.location, journal.holder, journal.leaseUntil);
    replayedBatches = await replayJournal(stored, deps);
    stored.selfCounters = addToCounters(stored.selfCounters, deps.baseLabels, [{ name: 'inferwatch_bridge_journal_replays_total', by: 1 }]);
    version = await store.save(encodeState(stored), version);
    await store.clearJournal(journal.id, replayedBatches).catch((error: Error) => logger.warn('could not remove a replayed journal', { journal: journal.id, error: error.message }));
  }
  if (!stored) logger.info('no bridge state found: starting from the initial lookback', { state: store.location, initialLookback: config.initialLookback });
  return newCycleContext(config, catalog, deps, options, startedAt, { stored, version, replayedBatches });
}

async function load({ store, logger }: CycleDeps, options: CycleOptions): Promise<LoadedState> {
  const loaded = await store.load();
  if (!options.resetState || options.dryRun || !loaded.bytes) return loaded;
  const aside = await store.moveAside(`reset-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  logger.warn('state reset on request: the old state was kept aside; counters restart', { state: store.location, keptAt: aside });
  return { bytes: undefined, version: (await store.load()).version };
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

/**
 * The last step of starting, once the plan knows where the reads start: takes the journal lease with a
 * conditional write, so an overlapping cycle stops before writing anything. (It waits for the plan, and for the
 * recovery, so that a cycle that fails before it leaves no journal behind.)
 */
export async function claim(cycle: CycleContext, plan: CyclePlan): Promise<Claim> {
  const journalId = `${alignDown(cycle.startedAt, 1000)}-${randomBytes(4).toString('hex')}`;
  const leaseUntil = cycle.deps.deadline();
  const claimed: BridgeState = { ...cycle.previous, journal: { id: journalId, base: plan.readStart, leaseUntil, holder: currentHolder() } };
  if (!cycle.options.dryRun) {
    cycle.version = await cycle.deps.store.save(encodeState(claimed), cycle.version).catch((error: unknown) => {
      // Two deliveries of one scheduled event load the same state; the second claim finds the first's.
      throw error instanceof ConcurrentUpdateError ? new ClaimLostError(cycle.deps.store.location, { cause: error }) : error;
    });
  }
  return { journalId, leaseUntil };
}
