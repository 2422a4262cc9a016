import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { closeSync, mkdirSync, openSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RecoverableError, StateError } from '../../../contract/errors';
import { currentHolder, holderIsDead } from './journal';
import { decodeLease, encodeLease, type LoadedLease } from './lease';
import type { JournalHeader } from './state';
import { ConcurrentUpdateError, type LoadedState, type StateStore } from './store';

/** A lock whose holder cannot be checked (another host) counts as abandoned after this long. */
const STALE_LOCK_MS = 30_000;
const STATE_FILE = 'bridge-state.bin';
const GENERATION_BYTES = 8;
const LEGACY_FILE = 'bridge-state.json';
const LEASE_FILE = 'bridge-lease.bin';
const JOURNAL_LOG = 'journal.log';
/** A journal log entry's head: the record's seq, its length and its CRC-32. */
const ENTRY_HEAD = 12;

/**
 * State in a local directory, for the CLI. Each save bumps a generation number (the file's first 8 bytes); a
 * save whose expected generation is no longer current fails, like S3's conditional write. A lock file naming
 * its holder makes check-and-write atomic; a holder that died is recognised at once. A journal is one append-only
 * file, `journal/<id>/journal.log` (see appendJournal); the journal lease is `bridge-lease.bin`, versioned and
 * written the same way as the state.
 */
export class FileStateStore implements StateStore {
  readonly location: string;
  private readonly file: string;
  private readonly lock: string;
  /** The journal log this store appends to, open. */
  private journalLog: { readonly id: string; readonly fd: number; readonly file: string } | undefined;
  /** The records of the journal last read, by seq. */
  private journalRead: { readonly id: string; readonly records: Map<number, Buffer> } | undefined;

  constructor(readonly directory: string) {
    this.location = directory;
    this.file = join(directory, STATE_FILE);
    this.lock = join(directory, 'bridge-state.lock');
  }

  async load(): Promise<LoadedState> {
    const stored = await this.read();
    return stored ? { bytes: stored.bytes, version: String(stored.generation) } : { bytes: undefined, version: undefined };
  }

  async save(bytes: Uint8Array, expectedVersion: string | undefined): Promise<string> {
    const generation = await this.writeVersioned(this.file, async () => (await generationOf(this.file)) ?? (await this.readLegacy()), bytes, expectedVersion);
    if (generation === '1') await rm(join(this.location, LEGACY_FILE), { force: true });
    return generation;
  }

  async loadLease(): Promise<LoadedLease> {
    const stored = await this.readVersioned(join(this.location, LEASE_FILE));
    return stored ? { journal: decodeLease(stored.bytes, join(this.location, LEASE_FILE)), version: String(stored.generation) } : { journal: undefined, version: undefined };
  }

  async saveLease(journal: JournalHeader | undefined, expectedVersion: string | undefined): Promise<string> {
    const file = join(this.location, LEASE_FILE);
    return this.writeVersioned(file, () => generationOf(file), encodeLease(journal), expectedVersion);
  }

  /** Under the lock: writes `bytes` with the next generation if the current one is still `expectedVersion`. */
  private async writeVersioned(file: string, current: () => Promise<{ generation: number } | undefined>, bytes: Uint8Array, expectedVersion: string | undefined): Promise<string> {
    await mkdir(this.location, { recursive: true });
    await this.acquireLock();
    try {
      await this.removeLeftovers();
      const stored = await current();
      if ((stored ? String(stored.generation) : undefined) !== expectedVersion) throw new ConcurrentUpdateError(file === this.file ? this.location : file);
      const generation = (stored?.generation ?? 0) + 1;
      const head = Buffer.allocUnsafe(GENERATION_BYTES);
      head.writeDoubleLE(generation, 0);
      const temp = `${file}.${process.pid}.tmp`;
      await writeParts(temp, [head, bytes]);
      await rename(temp, file);
      return String(generation);
    } finally {
      await rm(this.lock, { force: true });
    }
  }

  /**
   * Appends the record to the journal's log: its seq, length and CRC-32, then its bytes, in one write to a file
   * kept open. One file a record (create, write, close, rename) cost ~0.6 ms of CPU each, ~1 s a 10,000-variant
   * cycle; an append costs ~15 µs. A record written again (same seq) is appended again, and the later one counts. A
   * kill can cut only the last append short: its requests were never sent (a record is written before them), and
   * the reader leaves it out.
   */
  async appendJournal(id: string, seq: number, record: Uint8Array): Promise<void> {
    const log = this.openJournalLog(id);
    const head = Buffer.allocUnsafe(ENTRY_HEAD);
    head.writeUInt32LE(seq, 0);
    head.writeUInt32LE(record.byteLength, 4);
    head.writeUInt32LE(crc32(record), 8);
    const written = writevSync(log.fd, [head, record]);
    if (written !== ENTRY_HEAD + record.byteLength) {
      throw new RecoverableError(`wrote ${written} of ${ENTRY_HEAD + record.byteLength} bytes of journal record ${seq} to ${log.file}: is the disk full? Its requests were not sent; the next cycle replays what was`);
    }
    if (this.journalRead?.id === id) this.journalRead = undefined;
  }

  private openJournalLog(id: string): { readonly id: string; readonly fd: number; readonly file: string } {
    if (this.journalLog?.id === id) return this.journalLog;
    this.closeJournalLog();
    const directory = join(this.location, 'journal', id);
    mkdirSync(directory, { recursive: true });
    const file = join(directory, JOURNAL_LOG);
    this.journalLog = { id, fd: openSync(file, 'a'), file };
    return this.journalLog;
  }

  private closeJournalLog(): void {
    if (this.journalLog) closeSync(this.journalLog.fd);
    this.journalLog = undefined;
  }

  async readJournal(id: string, seq: number): Promise<Uint8Array | undefined> {
    if (this.journalRead?.id !== id) this.journalRead = { id, records: await this.readJournalLog(id) };
    if (this.journalRead.records.size > 0) return this.journalRead.records.get(seq);
    // A journal of the version before the log: one file a record, `<seq>.rec`.
    return readIfExists(join(this.location, 'journal', id, `${seq}.rec`));
  }

  /** The log's records by seq (a later entry for a seq replaces the earlier one); empty when there is no log. */
  private async readJournalLog(id: string): Promise<Map<number, Buffer>> {
    const file = join(this.location, 'journal', id, JOURNAL_LOG);
    const records = new Map<number, Buffer>();
    const bytes = await readIfExists(file);
    if (!bytes) return records;
    let at = 0;
    // An entry that does not fit is the last append, cut short by a kill: left out.
    while (at + ENTRY_HEAD <= bytes.length && at + ENTRY_HEAD + bytes.readUInt32LE(at + 4) <= bytes.length) {
      const seq = bytes.readUInt32LE(at);
      const record = bytes.subarray(at + ENTRY_HEAD, at + ENTRY_HEAD + bytes.readUInt32LE(at + 4));
      if (crc32(record) !== bytes.readUInt32LE(at + 8)) throw new StateError(`journal ${file} is corrupt: record ${seq} at byte ${at} fails its CRC-32; the killed cycle that wrote it cannot be replayed`);
      records.set(seq, record);
      at += ENTRY_HEAD + record.length;
    }
    return records;
  }

  async clearJournal(id: string): Promise<void> {
    if (this.journalLog?.id === id) this.closeJournalLog();
    if (this.journalRead?.id === id) this.journalRead = undefined;
    await rm(join(this.location, 'journal', id), { recursive: true, force: true });
  }

  async moveAside(suffix: string): Promise<string | undefined> {
    const target = `${this.file}.${suffix}`;
    try {
      await rename(this.file, target);
      return target;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private async read(): Promise<{ generation: number; bytes: Buffer } | undefined> {
    return (await this.readVersioned(this.file)) ?? this.readLegacy();
  }

  private async readVersioned(file: string): Promise<{ generation: number; bytes: Buffer } | undefined> {
    const raw = await readIfExists(file);
    if (!raw) return undefined;
    if (raw.length < GENERATION_BYTES) return { generation: 0, bytes: raw };
    return { generation: raw.readDoubleLE(0), bytes: raw.subarray(GENERATION_BYTES) };
  }

  /** The JSON file of inferwatch 0.1, read once so that an upgrade keeps its counters (decodeState migrates it). */
  private async readLegacy(): Promise<{ generation: number; bytes: Buffer } | undefined> {
    const bytes = await readIfExists(join(this.location, LEGACY_FILE));
    return bytes ? { generation: 0, bytes } : undefined;
  }

  /** Temporary files of a save that was killed before its rename; only the lock holder gets here. */
  private async removeLeftovers(): Promise<void> {
    for (const name of await readdir(this.location)) {
      if ((name.startsWith(`${STATE_FILE}.`) || name.startsWith(`${LEASE_FILE}.`)) && name.endsWith('.tmp')) await rm(join(this.location, name), { force: true });
    }
  }

  private async acquireLock(): Promise<void> {
    try {
      const handle = await open(this.lock, 'wx');
      await handle.writeFile(currentHolder());
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readFile(this.lock, 'utf8').catch(() => '');
      const age = Date.now() - (await stat(this.lock).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
      // An empty lock is one whose holder died between creating and naming it.
      const abandoned = holder === '' ? age > 1_000 : holderIsDead(holder, { sameProcess: false }) || age > STALE_LOCK_MS;
      if (!abandoned) throw new ConcurrentUpdateError(this.location, `is locked by ${holder} (another cycle is saving it)`);
      await rm(this.lock, { force: true });
      await this.acquireLock();
    }
  }
}

/** Writes the parts in order without joining them first (a 10,000-variant state is 13.5 MiB: one copy fewer at the peak). */
async function writeParts(file: string, parts: Uint8Array[]): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const expected = parts.reduce((n, part) => n + part.byteLength, 0);
    const { bytesWritten } = await handle.writev(parts);
    if (bytesWritten !== expected) throw new RecoverableError(`wrote ${bytesWritten} of ${expected} bytes to ${file}: is the disk full? Nothing was committed; the next cycle writes it again`);
  } finally {
    await handle.close();
  }
}

/**
 * A versioned file's generation (its first 8 bytes; 0 when it is shorter), or undefined when there is no such file:
 * a save checks it without reading the state itself (13.5 MiB at 10,000 variants, held beside the new state's bytes).
 */
async function generationOf(file: string): Promise<{ generation: number } | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const head = Buffer.alloc(GENERATION_BYTES);
    const { bytesRead } = await handle.read(head, 0, GENERATION_BYTES, 0);
    return { generation: bytesRead < GENERATION_BYTES ? 0 : head.readDoubleLE(0) };
  } finally {
    await handle.close();
  }
}

/** A file's bytes, or undefined when there is no such file. */
async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
