import { encodeRecords, recordSize } from '../../../lambda/bridge/state/series-codec';
import type { SeriesKey, SeriesState } from '../../../lambda/bridge/state/series-state';

/**
 * A journal record as the version before grouped records wrote it (`IWJ1`, one request a record): magic, body
 * length, body, series states. Written byte by byte here, since the bridge now writes only `IWJ2`, so that an
 * upgrade's replay of what a killed cycle of that version left is tested against the old layout itself.
 */
export function journalRecordV1(body: Uint8Array, series: Array<[SeriesKey, SeriesState]>): Buffer {
  const head = Buffer.alloc(8);
  head.write('IWJ1', 0, 'latin1');
  head.writeUInt32LE(body.byteLength, 4);
  return Buffer.concat([head, body, encodeRecords(series, series.length, series.reduce((n, [, state]) => n + recordSize(state), 0))]);
}
