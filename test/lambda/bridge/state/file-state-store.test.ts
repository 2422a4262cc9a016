import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../../../../lambda/bridge/state/file-state-store';
import { ConcurrentUpdateError, emptyState } from '../../../../lambda/bridge/state/state';

describe('FileStateStore', () => {
  const dir = () => join(mkdtempSync(join(tmpdir(), 'iw-state-')), 'nested', 'state');

  test('saves with compare-and-swap on a generation number', async () => {
    const store = new FileStateStore(dir());
    expect(await store.load()).toEqual({ document: undefined, version: undefined });
    const v1 = await store.save({ committed: { ...emptyState(), highWaterMark: 1 } }, undefined);
    const v2 = await store.save({ committed: { ...emptyState(), highWaterMark: 2 } }, v1);
    expect(await store.load()).toEqual({ document: { committed: { ...emptyState(), highWaterMark: 2 } }, version: v2 });
    await expect(store.save({ committed: emptyState() }, v1)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    await expect(store.save({ committed: emptyState() }, undefined)).rejects.toBeInstanceOf(ConcurrentUpdateError);
  });

  test('of two overlapping cycles that loaded the same version, exactly one commits', async () => {
    const store = new FileStateStore(dir());
    const v1 = await store.save({ committed: emptyState() }, undefined);
    const results = await Promise.allSettled([store.save({ committed: emptyState() }, v1), store.save({ committed: emptyState() }, v1)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof ConcurrentUpdateError)).toHaveLength(1);
  });

  test('a lock left by a dead process is taken over once stale', async () => {
    const location = dir();
    const store = new FileStateStore(location);
    const v1 = await store.save({ committed: emptyState() }, undefined);
    const lock = join(location, 'bridge-state.lock');
    writeFileSync(lock, '99999');
    await expect(store.save({ committed: emptyState() }, v1)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await expect(store.save({ committed: emptyState() }, v1)).resolves.toBe('2');
  });

  test('an unreadable file counts as lost state', async () => {
    const location = dir();
    const store = new FileStateStore(location);
    await store.save({ committed: emptyState() }, undefined);
    writeFileSync(join(location, 'bridge-state.json'), 'garbage');
    expect(await store.load()).toEqual({ document: undefined, version: undefined });
  });
});
