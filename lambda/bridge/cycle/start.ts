import { randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/catalog';
import type { BridgeConfig } from '../../../contract/bridge-config';
import { addToCounters } from '../self-metrics';
import { currentHolder, decodeJournalRecord, holderIsDead } from '../state/journal';
import type { LoadedLease } from '../state/lease';
import { decodeState, emptyState, encodeState, type BridgeState, type JournalHeader } from '../state/state';
import { ClaimLostError, ConcurrentUpdateError, LeaseHeldError, type LoadedState } from '../state/store';
import { alignDown } from '../windows';
import { newCycleContext, type Claim, type CycleContext, type CyclePlan } from './context';
import { ALREADY_STORED } from './request-writer';
import type { CycleDeps, CycleOptions } from './types';

/**
 * Start: load the lease, then the state (moving it aside first on `--reset-state`), and finish a journaled write a
 * killed cycle left: every request of its records is sent again, alone and in order, its state committed and its
 * lease released, before anything new is read. The lease is read first: a cycle that finds it released reads a state no other cycle
 * can change before this one's claim, which is conditional on that lease.
 */
export async function start(config: BridgeConfig, catalog: Catalog, deps: CycleDeps, options: CycleOptions): Promise<CycleContext> {
  const startedAt = deps.now();
  const { logger, store } = deps;
  const lease: LoadedLease = options.dryRun ? { journal: undefined, version: undefined } : await store.loadLease();
  const loaded = await load(deps, options);
  const stored = loaded.bytes ? decodeState(loaded.bytes, store.location) : undefined;
  let version = loaded.version;
  let leaseVersion = lease.version;
  let replayedBatches = 0;
  const journal = options.dryRun ? undefined : pendingJournal(lease, stored, options);
  if (journal) {
    if (Date.now() < journal.leaseUntil && !holderIsDead(journal.holder, { sameProcess: true })) throw new LeaseHeldError(store.location, journal.holder, journal.leaseUntil);
    const replayed = stored ?? emptyState();
    const { records, requests } = await replayJournal(replayed, journal, deps);
    replayedBatches = requests;
    replayed.selfCounters = addToCounters(replayed.selfCounters, deps.baseLabels, [{ name: 'inferwatch_bridge_journal_replays_total', by: 1 }]);
    version = await store.save(encodeState(replayed), version);
    await store.clearJournal(journal.id, records).catch((error: Error) => logger.warn('could not remove a replayed journal', { journal: journal.id, error: error.message }));
    if (lease.journal) leaseVersion = await releaseLease(deps, lease.version);
    return newCycleContext(config, catalog, deps, options, startedAt, { stored: replayed, version, leaseVersion, replayedBatches });
  }
  // A lease left by a cycle that committed and stopped before releasing it is taken over by this cycle's claim.
  if (!stored) logger.info('no bridge state found: starting from the initial lookback', { state: store.location, initialLookback: config.initialLookback });
  return newCycleContext(config, catalog, deps, options, startedAt, { stored, version, leaseVersion, replayedBatches });
}

/**
 * The journal a killed cycle left uncommitted: the lease's, unless the state already commits it; else one in the
 * state itself (inferwatch 0.2 kept the lease there). A reset starts over: a journal is not replayed into it.
 */
function pendingJournal(lease: LoadedLease, stored: BridgeState | undefined, options: CycleOptions): JournalHeader | undefined {
  const journal = lease.journal ?? stored?.journal;
  if (!journal || journal.id === stored?.lastJournal) return undefined;
  if (options.resetState && lease.journal && Date.now() >= lease.journal.leaseUntil) return undefined;
  return journal;
}

/** Marks the lease released, conditional on the version this cycle read or wrote: another run that took it over wins. */
async function releaseLease({ store }: CycleDeps, leaseVersion: string | undefined): Promise<string> {
  return store.saveLease(undefined, leaseVersion).catch((error: unknown) => {
    throw error instanceof ConcurrentUpdateError ? new ClaimLostError(store.location, { cause: error }) : error;
  });
}

async function load({ store, logger }: CycleDeps, options: CycleOptions): Promise<LoadedState> {
  const loaded = await store.load();
  if (!options.resetState || options.dryRun || !loaded.bytes) return loaded;
  const aside = await store.moveAside(`reset-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  logger.warn('state reset on request: the old state was kept aside; counters restart', { state: store.location, keptAt: aside });
  return { bytes: undefined, version: (await store.load()).version };
}

/**
 * Sends a killed cycle's journaled requests again, alone and in order (every request of every record: the cycle may
 * have been killed after any of them), and adopts the state of their series. A 2xx, or a 400 for an out-of-order or
 * duplicate sample, means the request is stored; anything else is logged. Returns the records and requests read.
 */
async function replayJournal(state: BridgeState, journal: JournalHeader, deps: CycleDeps): Promise<{ records: number; requests: number }> {
  deps.logger.warn('found a journaled write that was never committed (a cycle stopped after writing); replaying it before anything new', {
    journal: journal.id,
    holder: journal.holder,
  });
  let records = 0;
  let requests = 0;
  for (;;) {
    const bytes = await deps.store.readJournal(journal.id, records);
    if (!bytes) break;
    for (const request of decodeJournalRecord(bytes, `${journal.id}/${records}`)) {
      await replayRequest(request.body, deps);
      for (const [key, series] of request.series) state.series.set(key, series);
      requests += 1;
    }
    records += 1;
  }
  state.revisionBase = journal.base;
  state.lastJournal = journal.id;
  delete state.journal;
  return { records, requests };
}

/** An empty body: every sample of the request was too old by send time, journaled for its states alone. */
async function replayRequest(body: Uint8Array, deps: CycleDeps): Promise<void> {
  if (body.byteLength === 0) return;
  const result = await deps.send(body);
  if (result.status === 'rejected' && !ALREADY_STORED.has(result.reason)) {
    deps.logger.error('journal replay: receiver rejected a request; its samples are lost', { reason: result.reason, receiver: result.message });
  }
}

/**
 * The last step of starting, once the plan knows where the reads start: takes the journal lease with a
 * conditional write of the lease object (a few hundred bytes, not the state), so an overlapping cycle stops before
 * writing anything. (It waits for the plan, and for the recovery, so that a cycle that fails before it leaves no
 * journal behind.)
 */
export async function claim(cycle: CycleContext, plan: CyclePlan): Promise<Claim> {
  const journalId = `${alignDown(cycle.startedAt, 1000)}-${randomBytes(4).toString('hex')}`;
  const leaseUntil = cycle.deps.deadline();
  if (cycle.options.dryRun) return { journalId, leaseUntil, leaseVersion: undefined };
  const lease = { id: journalId, base: plan.readStart, leaseUntil, holder: currentHolder() };
  const leaseVersion = await cycle.deps.store.saveLease(lease, cycle.leaseVersion).catch((error: unknown) => {
    // Two deliveries of one scheduled event read the same lease; the second claim finds the first's.
    throw error instanceof ConcurrentUpdateError ? new ClaimLostError(cycle.deps.store.location, { cause: error }) : error;
  });
  return { journalId, leaseUntil, leaseVersion };
}
