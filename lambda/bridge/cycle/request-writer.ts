import { RecoverableError } from '../../../contract/errors';
import type { Batch } from '../remote-write/batcher';
import type { RejectReason } from '../remote-write/client';
import { encodeWriteRequest } from '../remote-write/encode';
import type { ExpositionWriter } from '../remote-write/exposition';
import { encodeJournalRecord } from '../state/journal';
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
    private readonly deps: Pick<CycleDeps, 'store' | 'send' | 'logger'>,
    private readonly claim: Claim,
    private readonly exposition: ExpositionWriter | undefined,
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
    const body = encodeWriteRequest(batch.series);
    await this.deps.store.appendJournal(this.claim.journalId, this.seq++, encodeJournalRecord(body, batch.states));
    const started = Date.now();
    const result = await this.deps.send(body);
    this.sendMs += Date.now() - started;
    if (result.status === 'ok') {
      this.written += batch.samples;
    } else if (ALREADY_STORED.has(result.reason) && result.attempts > 1) {
      // An earlier attempt of this very request reached the receiver; only its answer was lost.
      this.alreadyStored += batch.samples;
      this.written += batch.samples;
      this.deps.logger.warn('a retried request was refused as already stored: an earlier attempt was stored and its response lost; nothing is missing', {
        reason: result.reason,
        attempts: result.attempts,
        samples: batch.samples,
      });
    } else {
      this.rejected[result.reason] = (this.rejected[result.reason] ?? 0) + batch.samples;
      this.deps.logger.error('remote write rejected a request (HTTP 400); its samples are dropped', { reason: result.reason, receiver: result.message, samples: batch.samples });
    }
  }
}
