import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StateError } from '../../../contract/errors';
import { decodeRecords, encodeRecords, recordSize } from './series-codec';
import type { SeriesKey, SeriesState } from './series-state';

/**
 * One journal record: the exact remote-write request body, and the state of every series in it once the body is
 * stored. Replaying the records in order and adopting their series states recovers exactly what a killed cycle
 * wrote, however far it got.
 */
const MAGIC = Buffer.from('IWJ1');

export function encodeJournalRecord(body: Uint8Array, series: ReadonlyArray<[SeriesKey, SeriesState]>): Buffer {
  const head = Buffer.allocUnsafe(8);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(body.byteLength, 4);
  const size = series.reduce((n, [, state]) => n + recordSize(state), 0);
  return Buffer.concat([head, body, encodeRecords(series, series.length, size)]);
}

export function decodeJournalRecord(bytes: Uint8Array, name: string): { body: Uint8Array; series: Map<SeriesKey, SeriesState> } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 8 || !buffer.subarray(0, 4).equals(MAGIC)) throw new StateError(`journal record ${name} is not an inferwatch journal record`);
  const bodyLength = buffer.readUInt32LE(4);
  const series = new Map<SeriesKey, SeriesState>();
  decodeRecords(buffer, 8 + bodyLength, series);
  return { body: buffer.subarray(8, 8 + bodyLength), series };
}

let bootId: string | undefined;
function currentBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = 'unknown-boot';
    }
  }
  return bootId;
}

/** `host/boot id/pid`: who holds a lock or a journal lease. */
export function currentHolder(): string {
  return `${hostname()}/${currentBootId()}/${process.pid}`;
}

/**
 * Whether the process named by `holder` is certainly gone: it ran on this host since this boot and no process
 * has its pid any more, or it ran before the last reboot. Anything else may still be alive. `sameProcess` is the
 * answer for this very process: its cycles run one after another, so its own journal is from a cycle that ended.
 */
export function holderIsDead(holder: string, options: { sameProcess: boolean }): boolean {
  const [host, boot, pidText] = holder.split('/');
  if (host !== hostname()) return false;
  if (boot !== currentBootId()) return true;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return options.sameProcess;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
