import { RecoverableError } from '../../../contract/errors';
import type { Batch } from '../remote-write/batcher';
import type { RejectReason } from '../remote-write/client';
import { encodeWriteRequest } from '../remote-write/encode';
import type { ExpositionWriter } from '../remote-write/exposition';
import { encodeJournalRecord } from '../state/journal';
import type { TimeSeries } from '../series';
import type { TranslateStats } from '../translate';
import type { Claim } from './context';
import type { CycleDeps } from './types';

/** A 400 for these, on a retry or a replay, means the request was stored before. */
export const ALREADY_STORED: ReadonlySet<RejectReason> = new Set(['out_of_order', 'duplicate']);

/**
 * Journals each request (its body and the state of its series) before sending it, sends with the read's lane
 * order kept (a series' samples always reach the receiver in time order), and counts the outcome. A 400 is
 * logged and counted (its samples are lost, and said so); any other failure leaves the journal for the next cycle.
 * A dry run writes the text exposition instead, and journals nothing.
 */
export class RequestWriter {
  samples = 0;
  requests = 0;
  written = 0;
  sendMs = 0;
  readonly rejected: Partial<Record<RejectReason, number>> = {};
  alreadyStored = 0;
  private seq = 0;

  constructor(
    private readonly deps: Pick<CycleDeps, 'store' | 'send' | 'logger' | 'now'>,
    private readonly claim: Claim,
    private readonly exposition: ExpositionWriter | undefined,
    private readonly tooOld: { readonly maxSampleAgeMs: number; readonly stats: TranslateStats } | undefined = undefined,
  ) {}

  get expositionBytes(): number {
    return this.exposition?.bytes ?? 0;
  }

  async sendAll(batches: readonly Batch[]): Promise<void> {
    for (const batch of batches) await this.sendOne(batch);
  }

  private async sendOne(batch: Batch): Promise<void> {
    this.samples += batch.samples;
    this.requests += 1;
    if (this.exposition) {
      this.exposition.add(batch.series);
      return;
    }
    // Past the lease another cycle may take the journal over: stop before writing anything more.
    if (Date.now() >= this.claim.leaseUntil) {
      throw new RecoverableError(`the cycle ran past its deadline (${new Date(this.claim.leaseUntil).toISOString()}); what it wrote is journaled and the next cycle finishes it`);
    }
    const series = this.withoutTooOld(batch.series);
    const body = encodeWriteRequest(series);
    await this.deps.store.appendJournal(this.claim.journalId, this.seq++, encodeJournalRecord(body, batch.states));
    // Every sample too old by now: journaled for its states, nothing to send.
    if (series.length === 0) return;
    const started = Date.now();
    const result = await this.deps.send(body);
    this.sendMs += Date.now() - started;
    const samples = series.reduce((n, s) => n + s.samples.length, 0);
    if (result.status === 'ok') {
      this.written += samples;
    } else if (ALREADY_STORED.has(result.reason) && result.attempts > 1) {
      // An earlier attempt of this very request reached the receiver; only its answer was lost.
      this.alreadyStored += samples;
      this.written += samples;
      this.deps.logger.warn('a retried request was refused as already stored: an earlier attempt was stored and its response lost; nothing is missing', {
        reason: result.reason,
        attempts: result.attempts,
        samples,
      });
    } else {
      this.rejected[result.reason] = (this.rejected[result.reason] ?? 0) + samples;
      this.deps.logger.error('remote write rejected a request (HTTP 400); its samples are dropped', { reason: result.reason, receiver: result.message, samples });
    }
  }

  /**
   * The plan's `writableFrom` is the receiver's bound when the cycle started; a long cycle sends its last requests
   * minutes later, when the oldest of those samples may be past `maxSampleAge`. Such samples are counted as skipped
   * (too old) and not sent: a counter's next sample carries its total, as at plan time. The batch's states (and so
   * the frontiers) are kept: what was skipped is never sent later either.
   */
  private withoutTooOld(series: readonly TimeSeries[]): TimeSeries[] {
    if (!this.tooOld) return [...series];
    const oldest = this.deps.now() - this.tooOld.maxSampleAgeMs;
    const kept: TimeSeries[] = [];
    const skipped = this.tooOld.stats.tooOld;
    for (const s of series) {
      // Most series have nothing too old: kept as they are, without a copy of their samples.
      if (s.samples.every((sample) => sample.timestamp >= oldest)) {
        kept.push(s);
        continue;
      }
      const samples = s.samples.filter((sample) => sample.timestamp >= oldest);
      for (const sample of s.samples) {
        if (sample.timestamp >= oldest) continue;
        skipped.samples += 1;
        skipped.from = Math.min(skipped.from, sample.timestamp);
        skipped.to = Math.max(skipped.to, sample.timestamp);
      }
      if (samples.length > 0) kept.push(samples.length === s.samples.length ? s : { ...s, samples });
    }
    return kept;
  }
}
