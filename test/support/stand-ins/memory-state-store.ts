import { ConcurrentUpdateError, type LoadedState, type StateStore } from '../../../lambda/bridge/state/store';
import { decodeState, type BridgeState } from '../../../lambda/bridge/state/state';

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

  async appendJournal(id: string, seq: number, record: Uint8Array): Promise<void> {
    this.beforeAppend(id, seq);
    this.journal.set(`${id}/${seq}`, new Uint8Array(record));
  }

  async readJournal(id: string, seq: number): Promise<Uint8Array | undefined> {
    return this.journal.get(`${id}/${seq}`);
  }

  async clearJournal(id: string): Promise<void> {
    for (const key of [...this.journal.keys()]) if (key.startsWith(`${id}/`)) this.journal.delete(key);
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
