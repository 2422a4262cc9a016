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

/** A request as journaled: its series (too-old samples taken out), its body, its series' states, its oldest sample. */
interface Prepared {
  readonly series: readonly TimeSeries[];
  readonly body: Uint8Array;
  readonly states: Batch['states'];
  readonly oldest: number;
}

const NOTHING = new Uint8Array(0);

/**
 * Journals each group of requests (those one page of a read closed: one record, one log append or S3 PutObject,
 * for 1.4 requests on average at 10,000 variants) before the first of them is sent, then sends them in order with
 * the read's lane order kept (a series' samples always reach the receiver in time order), and counts the outcome. A 400 is logged and counted
 * (its samples are lost, and said so); any other failure leaves the journal for the next cycle, which sends every
 * request of every record again. A dry run writes the text exposition instead, and journals nothing.
 */
export class RequestWriter {
  samples = 0;
  requests = 0;
  /** Journal records written: what the commit's `clearJournal` removes. */
  records = 0;
  written = 0;
  sendMs = 0;
  readonly rejected: Partial<Record<RejectReason, number>> = {};
  alreadyStored = 0;

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
    if (batches.length === 0) return;
    if (this.exposition) {
      for (const batch of batches) {
        this.count(batch);
        this.exposition.add(batch.series);
      }
      return;
    }
    this.checkDeadline();
    const prepared = batches.map((batch) => this.prepare(batch.series, batch.states));
    const seq = this.records;
    await this.journal(seq, prepared);
    this.records += 1;
    for (const batch of batches) this.count(batch);
    for (let i = 0; i < prepared.length; i++) {
      if (i > 0) {
        // The record is journaled whole; past the deadline the rest of it is left to the replay.
        this.checkDeadline();
        if (this.agedPast(prepared[i] as Prepared)) await this.rejournal(seq, prepared, i);
      }
      const request = prepared[i] as Prepared;
      // Every sample too old by now: journaled for its states, nothing to send.
      if (request.series.length > 0) await this.sendOne(request);
    }
  }

  private prepare(batchSeries: readonly TimeSeries[], states: Batch['states']): Prepared {
    const series = this.withoutTooOld(batchSeries);
    // A series' samples are in time order: its first is its oldest.
    const oldest = series.reduce((min, s) => Math.min(min, s.samples[0]?.timestamp ?? Infinity), Infinity);
    return { series, body: series.length === 0 ? NOTHING : encodeWriteRequest(series), states, oldest };
  }

  private async journal(seq: number, prepared: readonly Prepared[]): Promise<void> {
    await this.deps.store.appendJournal(this.claim.journalId, seq, encodeJournalRecord(prepared.map(({ body, states }) => ({ body, series: states }))));
  }

  /** Some sample of this request has aged past `maxSampleAge` since the record was journaled (a long send before it). */
  private agedPast(request: Prepared): boolean {
    return this.tooOld !== undefined && request.oldest < this.deps.now() - this.tooOld.maxSampleAgeMs;
  }

  /**
   * The requests from `from` on, filtered again, and the record rewritten whole (one PutObject, or one append that
   * replaces it: it is either the old record or the new one), so that a replay sends exactly what this cycle sent or was about to.
   */
  private async rejournal(seq: number, prepared: Prepared[], from: number): Promise<void> {
    for (let j = from; j < prepared.length; j++) {
      const request = prepared[j] as Prepared;
      prepared[j] = this.prepare(request.series, request.states);
    }
    await this.journal(seq, prepared);
  }

  private count(batch: Batch): void {
    this.samples += batch.samples;
    this.requests += 1;
  }

  /** Past the lease another cycle may take the journal over: stop before writing or sending anything more. */
  private checkDeadline(): void {
    if (Date.now() >= this.claim.leaseUntil) {
      throw new RecoverableError(`the cycle ran past its deadline (${new Date(this.claim.leaseUntil).toISOString()}); what it wrote is journaled and the next cycle finishes it`);
    }
  }

  private async sendOne({ series, body }: Prepared): Promise<void> {
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
   * the frontiers) are kept: what was skipped is never sent later either. Checked when the record is journaled, and
   * again before each later request of it (`agedPast`): one that aged meanwhile has the record rewritten first.
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
