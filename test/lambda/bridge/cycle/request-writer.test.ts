import { RecoverableError } from '../../../../contract/errors';
import type { Claim } from '../../../../lambda/bridge/cycle/context';
import { RequestWriter } from '../../../../lambda/bridge/cycle/request-writer';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import type { Batch } from '../../../../lambda/bridge/remote-write/batcher';
import { decodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import { decodeJournalRecord } from '../../../../lambda/bridge/state/journal';
import type { SeriesState } from '../../../../lambda/bridge/state/series-state';
import { emptyStats } from '../../../../lambda/bridge/translate';
import { MemoryStateStore } from '../../../support/stand-ins/memory-state-store';

const MIN = 60_000;
const T = 1_800_000_000_000;
const MAX_AGE = 50 * MIN;
const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const state = (frontier: number): SeriesState => ({ frontier, counter: false, total: 0, pending: 0, window: 0, count: 1, moment: 0, baseline: false });

/** A request of one gauge series `name`, with samples at `timestamps`, and that series' state once it is stored. */
function batch(name: string, timestamps: number[]): Batch {
  return {
    series: [{ labels: [{ name: '__name__', value: name }], samples: timestamps.map((timestamp) => ({ timestamp, value: 1 })), kind: 'gauge' }],
    samples: timestamps.length,
    states: [[name.padEnd(8, '-'), state(timestamps.at(-1) as number)]],
  };
}

function setup() {
  const events: string[] = [];
  const sent: Uint8Array[] = [];
  const store = new MemoryStateStore();
  store.beforeAppend = (_id, seq) => void events.push(`journal ${seq}`);
  let now = T;
  let leaseUntil = Date.now() + 60_000;
  let onSend = (): void => {};
  const claim: Claim = {
    journalId: 'j',
    get leaseUntil() {
      return leaseUntil;
    },
    leaseVersion: undefined,
  };
  const stats = emptyStats();
  const deps = {
    store,
    logger: quiet,
    now: () => now,
    send: async (body: Uint8Array) => {
      events.push('send');
      sent.push(body);
      onSend();
      return { status: 'ok' as const, attempts: 1 };
    },
  };
  const writer = new RequestWriter(deps, claim, undefined, { maxSampleAgeMs: MAX_AGE, stats });
  const records = () => store.journalRecords('j').map((record) => decodeJournalRecord(record, 'j'));
  return {
    writer,
    events,
    sent,
    stats,
    records,
    setOnSend: (f: () => void) => (onSend = f),
    advance: (ms: number) => (now += ms),
    expire: () => (leaseUntil = Date.now() - 1),
  };
}

describe('RequestWriter', () => {
  test('the requests of one call are one journal record, written before the first is sent, then sent in order', async () => {
    const { writer, events, sent, records } = setup();
    await writer.sendAll([batch('a', [T - 2 * MIN]), batch('b', [T - MIN]), batch('c', [T])]);
    await writer.sendAll([batch('d', [T])]);
    expect(events).toEqual(['journal 0', 'send', 'send', 'send', 'journal 1', 'send']);
    expect({ records: writer.records, requests: writer.requests }).toEqual({ records: 2, requests: 4 });
    expect(records()[0]?.map((request) => Buffer.from(request.body))).toEqual(sent.slice(0, 3).map((body) => Buffer.from(body)));
  });

  test('past the deadline after a record is journaled, its later requests are left to the replay', async () => {
    const { writer, events, records, setOnSend, expire } = setup();
    setOnSend(expire);
    const error = await writer.sendAll([batch('a', [T - 2 * MIN]), batch('b', [T - MIN]), batch('c', [T])]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecoverableError);
    expect((error as Error).message).toMatch(/^the cycle ran past its deadline \(.*\); what it wrote is journaled and the next cycle finishes it$/);
    expect(events).toEqual(['journal 0', 'send']);
    expect(records()[0]).toHaveLength(3);
    // And nothing more is journaled once the deadline is past.
    await expect(writer.sendAll([batch('d', [T])])).rejects.toThrow(RecoverableError);
    expect(events).toEqual(['journal 0', 'send']);
  });

  test('a request that aged past maxSampleAge while the ones before it were sent: the record is rewritten without those samples, then it is sent', async () => {
    const { writer, events, sent, stats, records, setOnSend, advance } = setup();
    // Each send takes two minutes: b's oldest sample (T - 49 min) is past maxSampleAge (50 min) when b goes.
    setOnSend(() => advance(2 * MIN));
    await writer.sendAll([batch('a', [T - 10 * MIN]), batch('b', [T - 49 * MIN, T - 5 * MIN]), batch('c', [T - 49 * MIN])]);
    expect(events).toEqual(['journal 0', 'send', 'journal 0', 'send']);
    const [a, b, c] = records()[0] ?? [];
    expect(decodeWriteRequest(sent[1] as Uint8Array).flatMap((s) => s.samples.map((x) => x.timestamp))).toEqual([T - 5 * MIN]);
    // What a replay would send is what was sent; c, all too old, is journaled for its state with nothing to send.
    expect([a?.body, b?.body].map((body) => Buffer.from(body as Uint8Array))).toEqual(sent.map((body) => Buffer.from(body)));
    expect(c?.body.byteLength).toBe(0);
    expect(c?.series.get('c-------')?.frontier).toBe(T - 49 * MIN);
    expect(stats.tooOld.samples).toBe(2);
    expect({ written: writer.written, samples: writer.samples }).toEqual({ written: 2, samples: 4 });
  });
});
