import { ConcurrentUpdateError, type LoadedState, type StateStore } from '../../../lambda/bridge/state/store';
import { decodeState, type BridgeState, type JournalHeader } from '../../../lambda/bridge/state/state';
import type { LoadedLease } from '../../../lambda/bridge/state/lease';

/** Compare-and-swap state and a journal in memory, recording every save, for tests of the cycle's ordering. */
export class MemoryStateStore implements StateStore {
  readonly location = 'memory';
  readonly saves: BridgeState[] = [];
  readonly journal = new Map<string, Uint8Array>();
  private version = 0;
  private bytes: Uint8Array | undefined;
  /** Called before each save; throw to simulate a failure. */
  beforeSave: (state: BridgeState) => void = () => {};
  /** Called before each journal record is stored. */
  beforeAppend: (id: string, seq: number) => void = () => {};
  /** Called before each lease write (undefined: a release); throw to simulate a failure. */
  beforeLease: (journal: JournalHeader | undefined) => void = () => {};
  /** Every lease write, in order (undefined: a release). */
  readonly leases: Array<JournalHeader | undefined> = [];
  private leaseVersion = 0;
  private storedLease: { journal: JournalHeader | undefined } | undefined;

  async load(): Promise<LoadedState> {
    return { bytes: this.bytes && new Uint8Array(this.bytes), version: this.bytes ? String(this.version) : undefined };
  }

  async save(bytes: Uint8Array, expectedVersion: string | undefined): Promise<string> {
    const state = decodeState(bytes, this.location);
    this.beforeSave(state);
    if ((this.bytes ? String(this.version) : undefined) !== expectedVersion) throw new ConcurrentUpdateError(this.location);
    this.bytes = new Uint8Array(bytes);
    this.saves.push(state);
    this.version += 1;
    return String(this.version);
  }

  async loadLease(): Promise<LoadedLease> {
    return this.storedLease ? { journal: this.storedLease.journal, version: `lease-${this.leaseVersion}` } : { journal: undefined, version: undefined };
  }

  async saveLease(journal: JournalHeader | undefined, expectedVersion: string | undefined): Promise<string> {
    this.beforeLease(journal);
    if ((this.storedLease ? `lease-${this.leaseVersion}` : undefined) !== expectedVersion) throw new ConcurrentUpdateError(`${this.location} lease`);
    this.storedLease = { journal };
    this.leases.push(journal);
    this.leaseVersion += 1;
    return `lease-${this.leaseVersion}`;
  }

  /** The journal the stored lease names, if any. */
  get lease(): JournalHeader | undefined {
    return this.storedLease?.journal;
  }

  async appendJournal(id: string, seq: number, record: Uint8Array): Promise<void> {
    this.beforeAppend(id, seq);
    this.journal.set(`${id}/${seq}`, new Uint8Array(record));
  }

  async readJournal(id: string, seq: number): Promise<Uint8Array | undefined> {
    return this.journal.get(`${id}/${seq}`);
  }

  /** As strict as the S3 store, which deletes the keys of records 0 to `records - 1` and nothing else. */
  async clearJournal(id: string, records: number): Promise<void> {
    for (let seq = 0; seq < records; seq++) this.journal.delete(`${id}/${seq}`);
  }

  async moveAside(suffix: string): Promise<string | undefined> {
    if (!this.bytes) return undefined;
    this.journal.set(`aside/${suffix}`, this.bytes);
    this.bytes = undefined;
    return `memory:${suffix}`;
  }

  get current(): BridgeState | undefined {
    return this.bytes && decodeState(this.bytes, this.location);
  }

  /** Journal records of the current journal, in order. */
  journalRecords(id: string): Uint8Array[] {
    const records: Uint8Array[] = [];
    for (let seq = 0; this.journal.has(`${id}/${seq}`); seq++) records.push(this.journal.get(`${id}/${seq}`) as Uint8Array);
    return records;
  }
}
