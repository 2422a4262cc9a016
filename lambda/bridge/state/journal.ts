import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StateError } from '../../../contract/errors';
import { decodeRecords, encodeRecords, recordSize } from './series-codec';
import type { SeriesKey, SeriesState } from './series-state';

/**
 * One journal record per group of remote-write requests (those one page of a read closed): each request's exact
 * body, and the state of every series in it once that body is stored. Replaying the records in order, every
 * request of each, and adopting their series states recovers exactly what a killed cycle wrote, however far it got.
 *
 * `IWJ2` (this version): magic, request count (u32), then per request its body length (u32; 0: every sample was too
 * old by send time, nothing to send, journaled for its states), the body, and its series states (series-codec).
 * `IWJ1` (the format before it, one request a record): magic, body length, body, states; a cycle of that version
 * killed before its commit leaves such records behind, and they are replayed after an upgrade.
 */
const MAGIC_V1 = Buffer.from('IWJ1');
const MAGIC = Buffer.from('IWJ2');

/** One journaled request: its body (empty: nothing to send) and the state of each of its series once it is stored. */
export interface JournaledRequest {
  readonly body: Uint8Array;
  readonly series: ReadonlyArray<[SeriesKey, SeriesState]>;
}

/** A decoded request: its series states in a Map (a key appears once in a request). */
export interface ReplayRequest {
  readonly body: Uint8Array;
  readonly series: Map<SeriesKey, SeriesState>;
}

export function encodeJournalRecord(requests: readonly JournaledRequest[]): Buffer {
  const head = Buffer.allocUnsafe(8);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(requests.length, 4);
  const parts: Uint8Array[] = [head];
  for (const { body, series } of requests) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(body.byteLength, 0);
    const size = series.reduce((n, [, state]) => n + recordSize(state), 0);
    parts.push(length, body, encodeRecords(series, series.length, size));
  }
  return Buffer.concat(parts);
}

/** The requests of a record, in the order they were (or were to be) sent; a record of either version. */
export function decodeJournalRecord(bytes: Uint8Array, name: string): ReplayRequest[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = buffer.subarray(0, 4);
  if (buffer.length < 8 || !(magic.equals(MAGIC) || magic.equals(MAGIC_V1))) throw new StateError(`journal record ${name} is not an inferwatch journal record`);
  try {
    if (magic.equals(MAGIC_V1)) return [decodeRequest(buffer, 4, name).request];
    const count = buffer.readUInt32LE(4);
    const requests: ReplayRequest[] = [];
    let at = 8;
    for (let i = 0; i < count; i++) {
      const { request, next } = decodeRequest(buffer, at, name);
      requests.push(request);
      at = next;
    }
    if (at !== buffer.length) throw new RangeError(`${buffer.length - at} byte(s) past its ${count} request(s)`);
    return requests;
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw new StateError(`journal record ${name} is corrupt (${(error as Error).message}): the killed cycle that wrote it cannot be replayed`, { cause: error });
  }
}

/** A request at `at`: body length, body, series states. */
function decodeRequest(buffer: Buffer, at: number, name: string): { request: ReplayRequest; next: number } {
  const bodyLength = buffer.readUInt32LE(at);
  const bodyEnd = at + 4 + bodyLength;
  if (bodyEnd > buffer.length) throw new StateError(`journal record ${name} is cut short: a body of ${bodyLength} bytes at byte ${at + 4} of ${buffer.length}`);
  const series = new Map<SeriesKey, SeriesState>();
  const next = decodeRecords(buffer, bodyEnd, series);
  return { request: { body: buffer.subarray(at + 4, bodyEnd), series }, next };
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
