import { CorruptStateError } from './corrupt-state-error';
import type { JournalHeader } from './state';

/**
 * The journal lease in an object of its own beside the state, so that claiming a cycle writes a few hundred bytes
 * instead of the whole state: `{"journal": {...}}` while a cycle may be writing, `{}` once it is released. The
 * state records the last journal it committed (`BridgeState.lastJournal`), so a lease left behind by a cycle that
 * committed and was stopped before it released is recognised as released.
 */
export interface LoadedLease {
  /** The journal a cycle claimed and has not released; undefined when there is none. */
  readonly journal: JournalHeader | undefined;
  /** Opaque version for the conditional write; undefined when no lease object exists yet. */
  readonly version: string | undefined;
}

export function encodeLease(journal: JournalHeader | undefined): Buffer {
  return Buffer.from(JSON.stringify(journal ? { journal } : {}));
}

export function decodeLease(bytes: Uint8Array, location: string): JournalHeader | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new CorruptStateError(location, `lease is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CorruptStateError(location, 'lease is not a JSON object');
  const journal = (parsed as { journal?: unknown }).journal;
  if (journal === undefined) return undefined;
  const j = journal as Partial<JournalHeader>;
  if (typeof j.id !== 'string' || typeof j.base !== 'number' || typeof j.leaseUntil !== 'number' || typeof j.holder !== 'string') {
    throw new CorruptStateError(location, 'lease names a journal without id, base, leaseUntil and holder');
  }
  return { id: j.id, base: j.base, leaseUntil: j.leaseUntil, holder: j.holder };
}
