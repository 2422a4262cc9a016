import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asStateDocument, ConcurrentUpdateError, type LoadedState, type StateDocument, type StateStore } from './state';

interface FileEnvelope {
  generation: number;
  document: StateDocument;
}

/** A lock older than this belongs to a process that died holding it. */
const STALE_LOCK_MS = 30_000;

/**
 * State in a local directory, for the CLI. Each save bumps a generation number; a save whose expected
 * generation is no longer current fails, like S3's conditional write. A lock file makes check-and-write atomic.
 */
export class FileStateStore implements StateStore {
  readonly location: string;
  private readonly file: string;
  private readonly lock: string;

  constructor(directory: string) {
    this.location = directory;
    this.file = join(directory, 'bridge-state.json');
    this.lock = join(directory, 'bridge-state.lock');
  }

  async load(): Promise<LoadedState> {
    const envelope = await this.read();
    if (!envelope) return { document: undefined, version: undefined };
    return { document: asStateDocument(envelope.document), version: String(envelope.generation) };
  }

  async save(document: StateDocument, expectedVersion: string | undefined): Promise<string> {
    await mkdir(this.location, { recursive: true });
    await this.acquireLock();
    try {
      const current = await this.read();
      const currentVersion = current ? String(current.generation) : undefined;
      if (currentVersion !== expectedVersion) throw new ConcurrentUpdateError(this.location);
      const generation = (current?.generation ?? 0) + 1;
      const temp = `${this.file}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify({ generation, document } satisfies FileEnvelope));
      await rename(temp, this.file);
      return String(generation);
    } finally {
      await rm(this.lock, { force: true });
    }
  }

  private async read(): Promise<FileEnvelope | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const envelope = JSON.parse(text) as FileEnvelope;
      return typeof envelope.generation === 'number' ? envelope : undefined;
    } catch {
      return undefined;
    }
  }

  private async acquireLock(): Promise<void> {
    try {
      const handle = await open(this.lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (await stat(this.lock)).mtimeMs;
      if (age < STALE_LOCK_MS) throw new ConcurrentUpdateError(this.location);
      await rm(this.lock, { force: true });
      await this.acquireLock();
    }
  }
}
