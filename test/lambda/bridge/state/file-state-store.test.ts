import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../../../../contract/errors';
import { FileStateStore } from '../../../../lambda/bridge/state/file-state-store';
import { currentHolder } from '../../../../lambda/bridge/state/journal';
import { ConcurrentUpdateError } from '../../../../lambda/bridge/state/store';

const bytes = (text: string) => new Uint8Array(Buffer.from(text));
const text = (loaded: { bytes: Uint8Array | undefined }) => (loaded.bytes ? Buffer.from(loaded.bytes).toString() : undefined);

describe('FileStateStore', () => {
  const dir = () => join(mkdtempSync(join(tmpdir(), 'iw-state-')), 'nested', 'state');

  test('saves with compare-and-swap on a generation number', async () => {
    const store = new FileStateStore(dir());
    expect(await store.load()).toEqual({ bytes: undefined, version: undefined });
    const v1 = await store.save(bytes('one'), undefined);
    const v2 = await store.save(bytes('two'), v1);
    const loaded = await store.load();
    expect([text(loaded), loaded.version]).toEqual(['two', v2]);
    await expect(store.save(bytes('x'), v1)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    await expect(store.save(bytes('x'), undefined)).rejects.toBeInstanceOf(ConcurrentUpdateError);
  });

  test('a save compares with the generation load reported: 0 for the JSON file of 0.1 or a file shorter than its generation', async () => {
    const legacy = dir();
    mkdirSync(legacy, { recursive: true });
    writeFileSync(join(legacy, 'bridge-state.json'), '{"series":{}}');
    const store = new FileStateStore(legacy);
    const loaded = await store.load();
    expect(loaded.version).toBe('0');
    await expect(store.save(bytes('x'), undefined)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(await store.save(bytes('new'), loaded.version)).toBe('1');
    expect(existsSync(join(legacy, 'bridge-state.json'))).toBe(false);
    const short = dir();
    mkdirSync(short, { recursive: true });
    writeFileSync(join(short, 'bridge-state.bin'), 'abc');
    expect((await new FileStateStore(short).load()).version).toBe('0');
    expect(await new FileStateStore(short).save(bytes('y'), '0')).toBe('1');
  });

  test('the lease is a file of its own with its own generation: claims compare-and-swap, the state file is not written', async () => {
    const store = new FileStateStore(dir());
    const state = await store.save(bytes('state'), undefined);
    expect(await store.loadLease()).toEqual({ journal: undefined, version: undefined });
    const journal = { id: 'j1', base: 1, leaseUntil: 2, holder: 'h/b/3' };
    const claims = await Promise.allSettled([store.saveLease(journal, undefined), store.saveLease({ ...journal, id: 'j2' }, undefined)]);
    expect(claims.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const held = await store.loadLease();
    expect(['j1', 'j2']).toContain(held.journal?.id);
    const released = await store.saveLease(undefined, held.version);
    await expect(store.saveLease(journal, held.version)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(await store.loadLease()).toEqual({ journal: undefined, version: released });
    expect((await store.load()).version).toBe(state);
  });

  test('of two overlapping cycles that loaded the same version, exactly one commits', async () => {
    const store = new FileStateStore(dir());
    const v1 = await store.save(bytes('a'), undefined);
    const results = await Promise.allSettled([store.save(bytes('b'), v1), store.save(bytes('c'), v1)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof ConcurrentUpdateError)).toHaveLength(1);
  });

  test('a lock whose holder died is taken over at once; a live holder blocks; an unknown host only once stale', async () => {
    const location = dir();
    const store = new FileStateStore(location);
    const v1 = await store.save(bytes('a'), undefined);
    const lock = join(location, 'bridge-state.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(lock, currentHolder().replace(/\/\d+$/, `/${dead}`));
    const v2 = await store.save(bytes('b'), v1);
    expect(v2).toBe('2');
    writeFileSync(lock, currentHolder().replace(/\/\d+$/, `/${process.ppid}`));
    await expect(store.save(bytes('c'), v2)).rejects.toThrow(/locked by/);
    writeFileSync(lock, `another-host/boot/123`);
    await expect(store.save(bytes('c'), v2)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await expect(store.save(bytes('c'), v2)).resolves.toBe('3');
    expect(hostname()).not.toBe('another-host');
  });

  test('the temporary file of a killed save is removed by the next save', async () => {
    const location = dir();
    const store = new FileStateStore(location);
    const v1 = await store.save(bytes('a'), undefined);
    writeFileSync(join(location, 'bridge-state.bin.4242.tmp'), 'half a state');
    await store.save(bytes('b'), v1);
    expect(readdirSync(location).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  test('a journal is one log: records read back by seq, a record written again read as its last version, cleared', async () => {
    const location = dir();
    const store = new FileStateStore(location);
    await store.appendJournal('j1', 0, bytes('r0'));
    await store.appendJournal('j1', 1, bytes('r1'));
    await store.appendJournal('j1', 1, bytes('r1, again'));
    // Another instance (the next process) reads what this one appended.
    const next = new FileStateStore(location);
    expect(Buffer.from((await next.readJournal('j1', 0)) as Uint8Array).toString()).toBe('r0');
    expect(Buffer.from((await next.readJournal('j1', 1)) as Uint8Array).toString()).toBe('r1, again');
    expect(await next.readJournal('j1', 2)).toBeUndefined();
    expect(readdirSync(join(location, 'journal', 'j1'))).toEqual(['journal.log']);
    await store.clearJournal('j1');
    expect(existsSync(join(location, 'journal', 'j1'))).toBe(false);
  });

  test('an append a kill cut short is left out; a record whose bytes changed is a StateError naming the file', async () => {
    const location = dir();
    const store = new FileStateStore(location);
    await store.appendJournal('j1', 0, bytes('r0'));
    await store.appendJournal('j1', 1, bytes('r1'));
    const log = join(location, 'journal', 'j1', 'journal.log');
    const whole = readFileSync(log);
    writeFileSync(log, whole.subarray(0, whole.length - 1));
    expect(Buffer.from((await new FileStateStore(location).readJournal('j1', 0)) as Uint8Array).toString()).toBe('r0');
    expect(await new FileStateStore(location).readJournal('j1', 1)).toBeUndefined();
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 1] = 0x21;
    writeFileSync(log, flipped);
    await expect(new FileStateStore(location).readJournal('j1', 0)).rejects.toThrow(new StateError(`journal ${log} is corrupt: record 1 at byte 14 fails its CRC-32; the killed cycle that wrote it cannot be replayed`));
  });

  test('a journal the version before the log left (one file a record) is read after an upgrade', async () => {
    const location = dir();
    mkdirSync(join(location, 'journal', 'old'), { recursive: true });
    writeFileSync(join(location, 'journal', 'old', '0.rec'), 'r0');
    writeFileSync(join(location, 'journal', 'old', '1.rec'), 'r1');
    const store = new FileStateStore(location);
    expect(Buffer.from((await store.readJournal('old', 1)) as Uint8Array).toString()).toBe('r1');
    expect(await store.readJournal('old', 2)).toBeUndefined();
    await store.clearJournal('old');
    expect(existsSync(join(location, 'journal', 'old'))).toBe(false);
  });

  test('moveAside keeps the old state beside the new one', async () => {
    const location = dir();
    const store = new FileStateStore(location);
    await store.save(bytes('old'), undefined);
    const aside = await store.moveAside('reset-1');
    expect(aside).toBe(join(location, 'bridge-state.bin.reset-1'));
    expect(existsSync(aside as string)).toBe(true);
    expect(await store.load()).toEqual({ bytes: undefined, version: undefined });
  });
});
