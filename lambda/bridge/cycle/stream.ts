import { forEachConcurrently } from '../concurrency';
import type { FamilyInfo } from '../catalog/catalog';
import { familyLookup } from '../families';
import { RemoteWriteError } from '../remote-write/client';
import { ExpositionWriter } from '../remote-write/exposition';
import type { SourceRead } from '../sources';
import type { Claim, CycleContext, CyclePlan } from './context';
import { ReadTranslator } from './read-translator';
import { RequestWriter } from './request-writer';
import { UncommittedCycleError } from './uncommitted-cycle-error';

/** The stream stage's result. */
export interface Streamed {
  readonly writer: RequestWriter;
  /** Series that had a sample to write. */
  readonly seriesWritten: number;
  /** Queries refused for lack of permission. */
  readonly forbidden: number;
  /** Epoch ms: the oldest period a partial answer (PartialData with no NextToken) left unread; Infinity when none. */
  readonly missingFrom: number;
  /** Some series is held (its answer stopped before its frontier): its window refers to this cycle's read start. */
  readonly held: boolean;
}

/**
 * Stream: every source's reads, several at once (one in a dry run), each page fetched -> translated -> batched ->
 * journaled -> sent before the next is held. Work a source runs beside the reads (SageMaker's describing) starts
 * first. Memory holds the per-series state and the pages in flight, never the cycle's samples.
 */
export async function stream(cycle: CycleContext, plan: CyclePlan, claim: Claim, recovered: boolean): Promise<Streamed> {
  const { config, deps, options, previous, stats } = cycle;
  const exposition = options.dryRun ? new ExpositionWriter(deps.output ?? (() => {}), familyLookup(cycle.catalog, described(plan))) : undefined;
  const writer = new RequestWriter(deps, claim, exposition, { maxSampleAgeMs: config.remoteWrite.maxSampleAge * 1000, stats });
  // Without state and without the receiver's answer, one request per period: periods the receiver holds fail alone.
  const mode = options.dryRun ? 'whole' : cycle.stored || recovered ? 'stream' : 'byTimestamp';
  let readsDone = false;
  for (const source of plan.sources) source.begin?.(() => readsDone);
  let seriesWritten = 0;
  let forbidden = 0;
  let missingFrom = Infinity;
  let held = false;
  try {
    await forEachConcurrently(reads(plan), options.dryRun ? 1 : config.concurrency, async (read) => {
      const translator = new ReadTranslator(read, previous.series, plan.settings, stats, writer, config.remoteWrite.maxSamplesPerRequest, mode);
      const outcome = await read.read({ start: plan.fetchStart, end: plan.window.end }, (page) => translator.page(page));
      forbidden += outcome.forbidden;
      await translator.finish(outcome);
      seriesWritten += translator.seriesWritten;
      missingFrom = Math.min(missingFrom, translator.missingFrom);
      held ||= translator.held;
    });
  } catch (error) {
    throw uncommitted(error, writer, previous.highWaterMark, options.dryRun);
  }
  readsDone = true;
  for (const source of plan.sources) source.afterReads?.();
  return { writer, seriesWritten, forbidden, missingFrom, held };
}

/** The families the sources describe themselves (see familyLookup). */
export function described(plan: CyclePlan): FamilyInfo[] {
  return plan.sources.flatMap((source) => source.describe?.() ?? []);
}

function* reads(plan: CyclePlan): Iterable<SourceRead> {
  for (const source of plan.sources) yield* source.reads();
}

/**
 * A failed cycle's last word says what happened: which call failed (the cause's own message), what this cycle had
 * written and that it is journaled, and where the next cycle starts. Nothing was committed. A remote-write failure
 * stays one, so that callers that tell it apart still can.
 */
function uncommitted(error: unknown, writer: RequestWriter, highWaterMark: number | undefined, dryRun: boolean | undefined): unknown {
  if (!(error instanceof Error) || dryRun) return error;
  const kept =
    writer.requests > 0 ? `it had written ${writer.samples} samples in ${writer.requests} request(s), journaled: the next cycle replays them first` : 'it had written nothing';
  const message = `${error.message}. Nothing was committed: ${kept}, and carries on from ${highWaterMark === undefined ? 'the initial lookback' : new Date(highWaterMark).toISOString()}`;
  if (error instanceof RemoteWriteError) return new RemoteWriteError(message, error.status, { cause: error });
  return new UncommittedCycleError(message, { cause: error });
}
