import { hasRemedy } from '../../../../contract/errors';
import { start } from '../../../../lambda/bridge/cycle/start';
import { CorruptStateError } from '../../../../lambda/bridge/state/corrupt-state-error';
import { encodeJournalRecord } from '../../../../lambda/bridge/state/journal';
import { emptyState, encodeState } from '../../../../lambda/bridge/state/state';
import { ConcurrentUpdateError, LeaseHeldError } from '../../../../lambda/bridge/state/store';
import type { SendResult } from '../../../../lambda/bridge/remote-write/client';
import { journalRecordV1 } from '../../../support/harness/journal-v1';
import { catalog, config, fakeDeps, T } from './harness';

describe('start stage', () => {
  test('a live lease held by another cycle is a LeaseHeldError: a concurrent update, to be retried; nothing is sent', async () => {
    const { deps, store, sent } = fakeDeps();
    const journal = { id: 'j', base: T, leaseUntil: Date.now() + 60_000, holder: 'another-host/boot/1' };
    await store.save(encodeState({ ...emptyState(), journal }), undefined);
    const error = await start(config, catalog, deps, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseHeldError);
    expect(error).toBeInstanceOf(ConcurrentUpdateError);
    expect(hasRemedy(error, 'retry')).toBe(true);
    expect((error as Error).name).toBe('LeaseHeldError');
    expect((error as Error).message).toBe(`state at memory is being written by another cycle (another-host/boot/1) until ${new Date(journal.leaseUntil).toISOString()}; this cycle stops without writing (the other one carries on)`);
    expect(sent).toHaveLength(0);
  });

  test('an expired lease in the state itself (inferwatch 0.2) is replayed: its records sent in order, its series adopted, the journal cleared', async () => {
    const { deps, store, sent } = fakeDeps();
    const journal = { id: 'j', base: T - 600_000, leaseUntil: Date.now() - 1, holder: 'another-host/boot/1' };
    await store.save(encodeState({ ...emptyState(), journal }), undefined);
    const state = { frontier: T, counter: true, total: 5, pending: 0, window: 5, count: 0, moment: 0, baseline: true };
    await store.appendJournal('j', 0, encodeJournalRecord([{ body: new Uint8Array([1]), series: [['k1234567', state]] }]));
    await store.appendJournal('j', 1, encodeJournalRecord([{ body: new Uint8Array([2]), series: [] }]));
    const cycle = await start(config, catalog, deps, {});
    expect(cycle.replayedBatches).toBe(2);
    expect(sent.map((b) => [...b])).toEqual([[1], [2]]);
    expect(cycle.previous.series.get('k1234567')).toEqual(state);
    expect(cycle.previous.revisionBase).toBe(T - 600_000);
    expect(store.current?.journal).toBeUndefined();
    expect(store.journal.size).toBe(0);
  });

  test('an expired lease object is replayed into the state, which records the journal it commits, and the lease is released', async () => {
    const { deps, store, sent } = fakeDeps();
    const journal = { id: 'j', base: T - 600_000, leaseUntil: Date.now() - 1, holder: 'another-host/boot/1' };
    const claimed = await store.saveLease(journal, undefined);
    const state = { frontier: T, counter: true, total: 5, pending: 0, window: 5, count: 0, moment: 0, baseline: true };
    await store.appendJournal('j', 0, encodeJournalRecord([{ body: new Uint8Array([1]), series: [['k1234567', state]] }]));
    const cycle = await start(config, catalog, deps, {});
    expect(cycle.replayedBatches).toBe(1);
    expect(sent.map((b) => [...b])).toEqual([[1]]);
    expect(store.current?.series.get('k1234567')).toEqual(state);
    expect(store.current?.lastJournal).toBe('j');
    expect(store.lease).toBeUndefined();
    expect(cycle.leaseVersion).not.toBe(claimed);
    expect(cycle.leaseVersion).toBe((await store.loadLease()).version);
  });

  test('a record of three requests, killed after the first was sent: all three are replayed in order (the first found already stored), each adopting its states', async () => {
    const replies: SendResult[] = [
      { status: 'rejected', reason: 'out_of_order', message: 'out of order sample', attempts: 1 },
      { status: 'ok', attempts: 1 },
      { status: 'ok', attempts: 1 },
      { status: 'ok', attempts: 1 },
    ];
    const sent: number[][] = [];
    const { deps, store, logs } = fakeDeps(async (body) => (sent.push([...body]), replies.shift() as SendResult));
    const journal = { id: 'j', base: T - 600_000, leaseUntil: Date.now() - 1, holder: 'another-host/boot/1' };
    await store.saveLease(journal, undefined);
    const state = (total: number) => ({ frontier: T, counter: true, total, pending: 0, window: total, count: 0, moment: 0, baseline: true });
    await store.appendJournal(
      'j',
      0,
      encodeJournalRecord([
        { body: new Uint8Array([1]), series: [['k1234567', state(5)], ['k7654321', state(1)]] },
        { body: new Uint8Array([2]), series: [['k1234567', state(8)]] },
        // Every sample too old by send time: not sent, but its series' state is the one the cycle went on from.
        { body: new Uint8Array(0), series: [['kaaaaaaa', state(2)]] },
        { body: new Uint8Array([3]), series: [] },
      ]),
    );
    await store.appendJournal('j', 1, encodeJournalRecord([{ body: new Uint8Array([4]), series: [['k7654321', state(4)]] }]));
    const cleared: Array<[string, number]> = [];
    const clear = store.clearJournal.bind(store);
    store.clearJournal = async (id, records) => (cleared.push([id, records]), clear(id, records));
    const cycle = await start(config, catalog, deps, {});
    expect(sent).toEqual([[1], [2], [3], [4]]);
    expect(cycle.replayedBatches).toBe(5);
    expect(logs.filter((message) => message.includes('rejected'))).toEqual([]);
    expect(Object.fromEntries(['k1234567', 'k7654321', 'kaaaaaaa'].map((key) => [key, store.current?.series.get(key)?.total]))).toEqual({ k1234567: 8, k7654321: 4, kaaaaaaa: 2 });
    expect(cleared).toEqual([['j', 2]]);
    expect(store.journal.size).toBe(0);
  });

  test('records the previous version wrote (IWJ1, one request each) are replayed after an upgrade', async () => {
    const { deps, store, sent } = fakeDeps();
    await store.saveLease({ id: 'old', base: T - 600_000, leaseUntil: Date.now() - 1, holder: 'another-host/boot/1' }, undefined);
    const state = { frontier: T, counter: true, total: 3, pending: 0, window: 3, count: 0, moment: 0, baseline: true };
    await store.appendJournal('old', 0, journalRecordV1(new Uint8Array([7]), [['k1234567', state]]));
    await store.appendJournal('old', 1, journalRecordV1(new Uint8Array([8]), []));
    const cycle = await start(config, catalog, deps, {});
    expect(sent.map((b) => [...b])).toEqual([[7], [8]]);
    expect(cycle.replayedBatches).toBe(2);
    expect(store.current?.series.get('k1234567')).toEqual(state);
    expect(store.current?.lastJournal).toBe('old');
  });

  test('a corrupt state is a StateError that names the store, with the parse failure as its cause', async () => {
    const { deps, store } = fakeDeps();
    Object.assign(store, { load: async () => ({ bytes: new Uint8Array(Buffer.from('{"committed":')), version: '1' }) });
    const error = await start(config, catalog, deps, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStateError);
    expect(hasRemedy(error, 'inspect-state')).toBe(true);
    expect((error as Error).message).toMatch(/^state at memory is corrupt \(not valid JSON: /);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});
