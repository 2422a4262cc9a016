import type { SeriesTable } from '../state/series-table';
import type { ChunkOutcome, ReadSpan as FetchSpan } from '../cloudwatch/fetch';
import { MAX_QUERIES_PER_CALL, type PlannedQuery } from '../cloudwatch/plan';
import type { PagePoints, ReadSpan, SourceSeries } from './source';

/** How far back CloudWatch answers a Period that is a multiple of 60 s (MetricStat Period; StartTime rounding). */
const MINUTE_PERIODS_MS = 15 * 86_400_000;

/** Where a read may take its too-old span at one coarse period (`CursorSettings.skipTo`), and the series states it checks. */
export interface SkipOptions {
  /** Epoch ms: the end of the coarse span; the read goes on per period from here. */
  readonly to: number;
  /** The previous state's series (the cursors' `previous`). */
  readonly table: SeriesTable;
}

/**
 * The coarse span `[start, skip.to)` of one read, or undefined when this read must read every period one by one:
 * its read does not start at the base its windows refer to (a woken idle variant, a held base, periods a partial
 * answer left unread), or the span reaches back past 15 days (CloudWatch then answers only Periods in multiples of
 * 300 s or 3600 s from rounded start times), or one of its series was forwarded past the span, or has a window that
 * is no baseline (no previous sum to compare the span's Sum with) or held.
 */
export function coarseSpan(start: number, readStart: number | undefined, skip: SkipOptions | undefined, series: readonly SourceSeries[], startedAt: number): { start: number; end: number } | undefined {
  if (!skip || readStart === undefined || start !== readStart || start >= skip.to) return undefined;
  if (start < startedAt - MINUTE_PERIODS_MS || (skip.to - start) % 60_000 !== 0) return undefined;
  for (const { key } of series) {
    const state = skip.table.get(key);
    if (state && (!state.baseline || state.held === true || state.frontier >= skip.to)) return undefined;
  }
  return { start, end: skip.to };
}

/**
 * The positions in a chunk of its counter queries (Sum, SampleCount, histogram buckets): what a coarse span reads.
 * Undefined when a query feeds a counter and a gauge at once (the span would be missing for one of them).
 */
export function counterPositions(chunk: readonly PlannedQuery[]): number[] | undefined {
  const out: number[] = [];
  for (let position = 0; position < chunk.length; position++) {
    const query = chunk[position] as PlannedQuery;
    const counters = [query, ...query.also].filter((planned) => planned.template.kind === 'counter').length;
    if (counters === query.also.length + 1) out.push(position);
    else if (counters > 0) return undefined;
  }
  return out;
}

/** GetMetricData answers at most this many datapoints a call (then NextToken: another call for the same queries). */
const MAX_DATAPOINTS_PER_CALL = 100_800;
/** A coarse query's period is its whole span: it answers at most one datapoint. */
const DATAPOINTS_PER_COARSE_QUERY = 1;
/** Coarse queries a shared call holds: within both GetMetricData limits. */
const COARSE_QUERIES_PER_CALL = Math.min(MAX_QUERIES_PER_CALL, Math.floor(MAX_DATAPOINTS_PER_CALL / DATAPOINTS_PER_COARSE_QUERY));
/**
 * Reads whose queries one shared call holds at most. A read is handed out only once every call it is in is complete
 * (no read ever waits on one not handed out yet), so the reads held back, and their queries, stay a few chunks.
 */
export const MAX_READS_PER_COARSE_CALL = 8;

/** A read's coarse queries: its counter queries, where they are in its chunk, and how their answer is noted. */
export interface CoarseQueries {
  readonly window: ReadSpan;
  readonly positions: readonly number[];
  readonly queries: readonly PlannedQuery[];
  /** Notes one query's datapoints as the call answers (the idle variants' watch), whether or not the read takes them. */
  readonly note: (query: PlannedQuery, points: PagePoints) => void;
}

/** One read's coarse answer: its datapoints at its own positions, and whether all of its queries came back whole. */
export interface CoarseAnswer {
  readonly page: PagePoints[];
  readonly complete: boolean;
}

/** Reads one call's queries over `span` (the plan's `fetchChunk`, its client, limiter and counters). */
export type CoarseFetch = (queries: readonly PlannedQuery[], span: FetchSpan, onPage: (page: readonly PagePoints[]) => void) => Promise<ChunkOutcome>;

/** A read's part of one call's answer: its datapoints (at its own positions), and whether they all came whole. */
interface Slot {
  readonly call: CoarseCall;
  readonly points: PagePoints[];
  complete: boolean;
}

interface Entry {
  readonly slot: Slot;
  readonly position: number;
  readonly query: PlannedQuery;
  readonly note: CoarseQueries['note'];
}

/**
 * One coarse GetMetricData call shared by the reads whose queries it holds: run once, by the first that needs it. Its
 * answer goes to each member's slot as it comes; then the call lets go of its entries, so that no chain of calls
 * sharing reads keeps a whole window's reads alive.
 */
class CoarseCall {
  private entries: Entry[] = [];
  /** Reads whose queries joined. */
  members = 0;
  closed = false;
  private answer?: Promise<void>;

  constructor(
    readonly window: ReadSpan,
    private readonly fetch: CoarseFetch,
  ) {}

  get room(): number {
    return COARSE_QUERIES_PER_CALL - this.entries.length;
  }

  add(entry: Entry): void {
    this.entries.push(entry);
  }

  run(): Promise<void> {
    this.answer ??= this.read();
    return this.answer;
  }

  private async read(): Promise<void> {
    const entries = this.entries;
    const { start, end } = this.window;
    try {
      const outcome = await this.fetch(
        entries.map((entry) => entry.query),
        { start, end, periodSeconds: (end - start) / 1000 },
        (page) => {
          for (const p of page) {
            const entry = entries[p.index] as Entry;
            entry.note(entry.query, p);
            entry.slot.points.push({ ...p, index: entry.position });
          }
        },
      );
      for (const index of outcome.incomplete) (entries[index] as Entry).slot.complete = false;
    } finally {
      this.entries = [];
    }
  }
}

/** A read's part in the shared coarse calls of its window: one call, or two where its queries straddle a call's end. */
export class CoarseShare {
  readonly slots: Slot[] = [];

  constructor(readonly window: ReadSpan) {}

  get ready(): boolean {
    return this.slots.every(({ call }) => call.closed);
  }

  /** Its datapoints from every call it is in (starting those not started yet), at its own positions, in their order. */
  async answer(): Promise<CoarseAnswer> {
    await Promise.all(this.slots.map(({ call }) => call.run()));
    const page = this.slots.flatMap((slot) => slot.points).sort((a, b) => a.index - b.index);
    return { page, complete: this.slots.every((slot) => slot.complete) };
  }

  /** Its slot in `call`, made when its first query joins. */
  slotIn(call: CoarseCall): Slot {
    let slot = this.slots.find((s) => s.call === call);
    if (!slot) {
      slot = { call, points: [], complete: true };
      this.slots.push(slot);
      call.members += 1;
    }
    return slot;
  }
}

/**
 * Packs the coarse queries of a plan's reads into shared calls, one open call a window, filled to
 * `COARSE_QUERIES_PER_CALL` in the order the reads come: a window's calls are ceil(its queries / 500), the fewest (but
 * where a call holds `MAX_READS_PER_COARSE_CALL` reads first). A read's queries go metric by metric, so that only the
 * metric a call's end falls in is split across two (CloudWatch bills up to five statistics of a metric in one request
 * as one metric; the stand-in draws a timing's raw values once a call): a query-by-query fill in the chunk's order,
 * statistic before dimensions, split every metric of a read that straddled two calls.
 */
class CoarsePacker<R> {
  private readonly open = new Map<string, CoarseCall>();
  private held: Array<{ read: R; share: CoarseShare }> = [];

  constructor(private readonly fetch: CoarseFetch) {}

  /** Adds a read's queries, metric by metric, to its window's open call (and the next); the read is held until they are complete. */
  join(read: R, coarse: CoarseQueries): CoarseShare {
    const share = new CoarseShare(coarse.window);
    const key = `${coarse.window.start}|${coarse.window.end}`;
    for (const group of byMetric(coarse.queries)) this.place(key, share, coarse, group);
    this.held.push({ read, share });
    return share;
  }

  /** The reads held whose calls are all complete, in the order they came; they are no longer held. */
  *ready(): Generator<R> {
    const out = this.held.filter(({ share }) => share.ready);
    if (out.length === 0) return;
    this.held = this.held.filter(({ share }) => !share.ready);
    for (const { read } of out) yield read;
  }

  /** No read comes after: every open call is complete as it stands. */
  finish(): void {
    for (const call of this.open.values()) call.closed = true;
    this.open.clear();
  }

  /** One metric's queries (indexes into `coarse.queries`) into the window's open call, the rest into the next. */
  private place(key: string, share: CoarseShare, coarse: CoarseQueries, group: readonly number[]): void {
    let rest = group;
    while (rest.length > 0) {
      let call = this.open.get(key);
      if (call && call.members >= MAX_READS_PER_COARSE_CALL && !share.slots.some((slot) => slot.call === call)) call = this.close(key, call);
      if (!call) {
        call = new CoarseCall(coarse.window, this.fetch);
        this.open.set(key, call);
      }
      const slot = share.slotIn(call);
      const taken = rest.slice(0, call.room);
      for (const i of taken) call.add({ slot, position: coarse.positions[i] as number, query: coarse.queries[i] as PlannedQuery, note: coarse.note });
      rest = rest.slice(taken.length);
      if (call.room === 0) this.close(key, call);
    }
  }

  /** No query joins the call any more: its members may be handed out. */
  private close(key: string, call: CoarseCall): undefined {
    call.closed = true;
    this.open.delete(key);
    return undefined;
  }
}

/** The queries of each metric (by index), widest metrics first: a call's end then more often falls between narrow ones. */
function byMetric(queries: readonly PlannedQuery[]): number[][] {
  const groups = new Map<PlannedQuery['metric'], number[]>();
  queries.forEach((query, i) => {
    const group = groups.get(query.metric) ?? [];
    group.push(i);
    groups.set(query.metric, group);
  });
  return [...groups.values()].sort((a, b) => b.length - a.length);
}

/** One read's coarse queries in a call of its own: a read not packed with others (a dry run's). */
export function shareAlone(coarse: CoarseQueries, fetch: CoarseFetch): CoarseShare {
  const packer = new CoarsePacker<CoarseQueries>(fetch);
  const share = packer.join(coarse, coarse);
  packer.finish();
  return share;
}

/** A read that may take its coarse span from calls shared with others. */
export interface CoarseReader {
  /** Its coarse span's queries when the cycle reads `span`, or undefined: it reads every period. */
  coarseQueries(span: ReadSpan): CoarseQueries | undefined;
  share?: CoarseShare;
}

/**
 * `reads` with their coarse spans' queries packed into shared calls (see `CoarsePacker`). A read is handed out once
 * every call it shares is complete, so no read ever waits on one not handed out yet, whatever the concurrency; a
 * read with no coarse queries is handed out at once.
 */
export function* packCoarse<R extends CoarseReader>(reads: Iterable<R>, span: ReadSpan, fetch: CoarseFetch): Generator<R> {
  const packer = new CoarsePacker<R>(fetch);
  for (const read of reads) {
    const coarse = read.coarseQueries(span);
    if (!coarse || coarse.queries.length === 0) {
      yield read;
      continue;
    }
    read.share = packer.join(read, coarse);
    yield* packer.ready();
  }
  packer.finish();
  yield* packer.ready();
}
