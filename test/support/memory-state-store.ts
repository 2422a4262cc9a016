import { ConcurrentUpdateError, type LoadedState, type StateDocument, type StateStore } from '../../lambda/bridge/state/state';

/** Compare-and-swap state in memory, recording every save, for tests of the cycle's ordering. */
export class MemoryStateStore implements StateStore {
  readonly location = 'memory';
  readonly saves: StateDocument[] = [];
  private version = 0;
  private document: StateDocument | undefined;
  /** Called before each save; throw to simulate a failure. */
  beforeSave: (document: StateDocument) => void = () => {};

  async load(): Promise<LoadedState> {
    return { document: this.document && structuredClone(this.document), version: this.document ? String(this.version) : undefined };
  }

  async save(document: StateDocument, expectedVersion: string | undefined): Promise<string> {
    this.beforeSave(document);
    if ((this.document ? String(this.version) : undefined) !== expectedVersion) throw new ConcurrentUpdateError(this.location);
    this.document = structuredClone(document);
    this.saves.push(structuredClone(document));
    this.version += 1;
    return String(this.version);
  }

  get current(): StateDocument | undefined {
    return this.document;
  }
}
