import { RecoverableError } from '../../../contract/errors';
import type { LoadedLease } from './lease';
import type { JournalHeader } from './state';

export interface LoadedState {
  /** The raw stored bytes; undefined when nothing is stored. */
  readonly bytes: Uint8Array | undefined;
  /** Opaque version for the conditional write (S3 ETag, file generation); undefined when nothing is stored. */
  readonly version: string | undefined;
}

/**
 * Durable state with compare-and-swap, so two overlapping cycles never both commit, and a journal kept apart
 * from it: one record per group of remote-write requests (those one page closed), written before the first of
 * them is sent.
 */
export interface StateStore {
  load(): Promise<LoadedState>;
  /** Writes `bytes` only if the stored version is still `expectedVersion`; returns the new version. */
  save(bytes: Uint8Array, expectedVersion: string | undefined): Promise<string>;
  /** The journal lease, an object of its own beside the state (see lease.ts). */
  loadLease(): Promise<LoadedLease>;
  /**
   * Writes the lease (`undefined`: released) only if its stored version is still `expectedVersion`, else throws a
   * ConcurrentUpdateError; returns the new version.
   */
  saveLease(journal: JournalHeader | undefined, expectedVersion: string | undefined): Promise<string>;
  /**
   * Writes record `seq` whole and at once (a reader finds the old bytes or the new, never a part): records are
   * appended in order, and the last one may be written again before its later requests are sent.
   */
  appendJournal(id: string, seq: number, record: Uint8Array): Promise<void>;
  /** The record, or undefined past the last one. */
  readJournal(id: string, seq: number): Promise<Uint8Array | undefined>;
  /** Removes a journal's `records` records, 0 to `records - 1` (after its state was committed); best effort. */
  clearJournal(id: string, records: number): Promise<void>;
  /** Moves the stored state aside (for an explicit reset) and returns where it went; undefined when there was none. */
  moveAside(suffix: string): Promise<string | undefined>;
  /** Where the state lives, for logs. */
  readonly location: string;
}

/** Another cycle changed the state since this one loaded it: this cycle must stop without writing. */
export class ConcurrentUpdateError extends RecoverableError {
  constructor(location: string, detail = 'was changed by another cycle', options?: { readonly cause?: unknown }) {
    super(`state at ${location} ${detail}; this cycle stops without writing (the other one carries on)`, options);
  }
}

/**
 * Another run of the same shard is at work (Lambda may deliver a scheduled event twice): this run wrote nothing
 * and stops. Not a failure: the handler ends such a run as "skipped", counted, so no alarm fires for it.
 */
export class AnotherRunError extends ConcurrentUpdateError {}

/**
 * The state holds the journal lease of a cycle that may still be running (another process, or one on another
 * host, before its deadline): this cycle stops before writing. A kind of concurrent update, retried next cycle.
 */
export class LeaseHeldError extends AnotherRunError {
  constructor(location: string, holder: string, leaseUntil: number) {
    super(location, `is being written by another cycle (${holder}) until ${new Date(leaseUntil).toISOString()}`);
  }
}

/** Another run took the journal lease between this run's load and its claim: nothing was written yet. */
export class ClaimLostError extends AnotherRunError {
  constructor(location: string, options: { readonly cause: unknown }) {
    super(location, 'was claimed by another run of this shard first', options);
  }
}
