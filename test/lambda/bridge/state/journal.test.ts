import { StateError } from '../../../../contract/errors';
import { decodeJournalRecord, encodeJournalRecord } from '../../../../lambda/bridge/state/journal';
import type { SeriesState } from '../../../../lambda/bridge/state/series-state';
import { journalRecordV1 } from '../../../support/harness/journal-v1';

const counter = (total: number): SeriesState => ({ frontier: 1_800_000_000_000, counter: true, total, pending: 0, window: total, count: 0, moment: 0, baseline: true });
const gauge: SeriesState = { frontier: 1_800_000_060_000, counter: false, total: 0, pending: 0, window: 0, count: 3, moment: 0x1234, baseline: false };

describe('journal records', () => {
  test('a record holds its requests in order: each body, and the states its series reach once it is stored', () => {
    const bytes = encodeJournalRecord([
      { body: Buffer.from('first'), series: [['key-0001', counter(5)], ['key-0002', gauge]] },
      // Every sample too old by send time: nothing to send, journaled for its states.
      { body: new Uint8Array(0), series: [['key-0003', counter(1)]] },
      { body: Buffer.from('third'), series: [['key-0001', counter(9)]] },
    ]);
    const requests = decodeJournalRecord(bytes, 'j/0');
    expect(requests.map((r) => Buffer.from(r.body).toString())).toEqual(['first', '', 'third']);
    expect(requests.map((r) => [...r.series])).toEqual([
      [
        ['key-0001', counter(5)],
        ['key-0002', gauge],
      ],
      [['key-0003', counter(1)]],
      [['key-0001', counter(9)]],
    ]);
  });

  test('a record of the previous format (IWJ1, one request) left by a killed cycle still decodes after an upgrade', () => {
    // Written by the previous version's encodeJournalRecord (commit 49092f7), byte for byte.
    const written = Buffer.from(
      '49574a310700000076312d626f6479020000006b65792d303030310d00d2496b00000000000000000000000000001c400000000000001c406b65792d30303032083cd2496b000000000034b2400300000000000000',
      'hex',
    );
    const series: Array<[string, SeriesState]> = [
      ['key-0001', counter(7)],
      ['key-0002', gauge],
    ];
    expect(journalRecordV1(Buffer.from('v1-body'), series)).toEqual(written);
    const requests = decodeJournalRecord(written, 'j/0');
    expect(requests).toHaveLength(1);
    expect(Buffer.from(requests[0]?.body as Uint8Array).toString()).toBe('v1-body');
    expect([...(requests[0]?.series ?? [])]).toEqual(series);
  });

  test('a record cut short, with bytes past its requests, or of another kind is a StateError naming it', () => {
    const whole = encodeJournalRecord([
      { body: Buffer.from('first'), series: [['key-0001', counter(5)]] },
      { body: Buffer.from('second'), series: [] },
    ]);
    const cut = (): unknown => decodeJournalRecord(whole.subarray(0, whole.length - 3), 'j/4');
    expect(cut).toThrow(StateError);
    expect(cut).toThrow(/^journal record j\/4 is (cut short|corrupt)/);
    expect(() => decodeJournalRecord(Buffer.concat([whole, Buffer.from([0])]), 'j/4')).toThrow('journal record j/4 is corrupt (1 byte(s) past its 2 request(s))');
    expect(() => decodeJournalRecord(Buffer.from('IWJ9\0\0\0\0'), 'j/5')).toThrow('journal record j/5 is not an inferwatch journal record');
  });
});
