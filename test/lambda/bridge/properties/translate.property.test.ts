import fc from 'fast-check';
import { capByBudget } from '../../../../lambda/bridge/cycle';
import type { Sample } from '../../../../lambda/bridge/series';
import type { SeriesState } from '../../../../lambda/bridge/state/series-state';
import { emptyStats, SeriesCursor, type CursorSettings } from '../../../../lambda/bridge/translate';
import { planWindow, type WindowSettings } from '../../../../lambda/bridge/windows';

/*
 * One series driven through many cycles the way runCycle drives it (planWindow, capByBudget, readStart from
 * the stored base, nextBase = max(readStart, end - revisionWindow)), against a CloudWatch history that is
 * revised between cycles inside the window the next cycle reads.
 */

const MIN = 60_000;
const windows: WindowSettings = { period: 60, settle: 120, initialLookback: 900, revisionWindow: 600, maxCycleSpan: 3600 };
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
/** The history covers [H0, H0 + PERIODS * MIN); cycles run from T on. */
const H0 = T - 30 * MIN;
const PERIODS = 400;

interface Run {
  state: SeriesState | undefined;
  highWaterMark: number | undefined;
  base: number | undefined;
  /** GetMetricData StartTime of the first cycle that read: the first period the series can forward. */
  firstRead: number | undefined;
  /** The state's `rereadFrom` and `heldBase`: a partial answer makes the next cycle read from before its base. */
  rereadFrom: number | undefined;
  heldBase: number | undefined;
}

/** One request's worth for this series: an add to the batcher, with the journal state recorded with it. */
interface Add {
  readonly samples: Sample[];
  readonly state: SeriesState;
}

/**
 * One cycle. `killAfter`: the cycle dies after sending that many of its adds (0 = before any); the next one
 * resumes as runCycle's journal replay leaves it: the last sent add's state, the old high-water mark, and the
 * killed cycle's read start as the base.
 */
function cycle(run: Run, now: number, budget: number, history: ReadonlyMap<number, number>, counter: boolean, killAfter?: number, cut?: number): { sent: Add[]; killed: boolean } {
  const planned = planWindow(now, windows, run.highWaterMark);
  if (!planned) return { sent: [], killed: false };
  const window = capByBudget(planned, 1, MIN, budget);
  const readStart = Math.min(run.base ?? window.readStart, window.start);
  run.firstRead ??= readStart;
  const fetchStart = Math.min(readStart, run.rereadFrom ?? Infinity, run.heldBase ?? Infinity);
  // As the plan: while series are held the revision base stays.
  const nextBase = run.heldBase === undefined ? Math.max(readStart, window.end - windows.revisionWindow * 1000) : readStart;
  const settings: CursorSettings = { periodMs: MIN, readStart, fetchStart, heldBase: run.heldBase, end: window.end, nextBase, writableFrom: -Infinity };
  const cursor = new SeriesCursor(run.state, counter, false, 1, settings, emptyStats());
  const adds: Add[] = [];
  const all = [...history].filter(([t]) => t >= fetchStart && t < window.end).sort((a, b) => a[0] - b[0]);
  // PartialData with no NextToken: the answer leaves out its newest `cut` datapoints.
  const points = cut === undefined ? all : all.slice(0, Math.max(0, all.length - cut));
  cursor.incomplete = cut !== undefined;
  for (const [t, v] of points) {
    const out: Sample[] = [];
    cursor.push(t, v, out);
    if (out.length > 0) adds.push({ samples: out, state: cursor.journalState() });
  }
  const tail: Sample[] = [];
  cursor.finish(tail);
  if (tail.length > 0) adds.push({ samples: tail, state: cursor.journalState() });
  if (killAfter !== undefined) {
    const sent = adds.slice(0, Math.min(killAfter, adds.length));
    const last = sent.at(-1);
    if (last) run.state = last.state;
    run.base = readStart;
    return { sent, killed: true };
  }
  run.state = cursor.finalState();
  run.highWaterMark = window.end;
  run.base = settings.nextBase;
  const missingFrom = cursor.missingFrom();
  run.rereadFrom = missingFrom !== undefined && missingFrom < nextBase ? missingFrom : undefined;
  run.heldBase = cursor.held ? (run.heldBase ?? readStart) : undefined;
  return { sent: adds, killed: false };
}

interface Schedule {
  /** Per period, repeated over the history: a value, or undefined when CloudWatch has no datapoint (yet). */
  readonly pattern: ReadonlyArray<number | undefined>;
  /** Minutes from the history's start with no data at all: the series appears later. */
  readonly quiet: number;
  readonly cycles: ReadonlyArray<{
    readonly gapMinutes: number;
    readonly budget: number;
    /** Revisions made before this cycle reads: `pick` chooses a period the next read covers; undefined deletes it. */
    readonly revisions: ReadonlyArray<{ pick: number; value: number | undefined }>;
    /** Kill this cycle after sending this many adds. */
    readonly kill: number | undefined;
    /** PartialData with no NextToken: the answer leaves out this many of its newest datapoints. */
    readonly cut?: number;
  }>;
}

function scheduleArbitrary(kills: boolean): fc.Arbitrary<Schedule> {
  const value = fc.nat({ max: 1000 });
  return fc.record({
    pattern: fc.array(fc.option(value, { nil: undefined, freq: 5 }), { minLength: 1, maxLength: 40 }),
    quiet: fc.oneof(fc.constant(0), fc.nat({ max: 90 })),
    cycles: fc.array(
      fc.record({
        gapMinutes: fc.integer({ min: 1, max: 15 }),
        budget: fc.integer({ min: 1, max: 40 }),
        revisions: fc.array(fc.record({ pick: fc.nat(), value: fc.option(value, { nil: undefined, freq: 4 }) }), { maxLength: 4 }),
        kill: kills ? fc.option(fc.nat({ max: 12 }), { nil: undefined, freq: 2 }) : fc.constant(undefined),
        cut: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined, freq: 2 }),
      }),
      { minLength: 1, maxLength: 14 },
    ),
  });
}

interface Outcome {
  readonly run: Run;
  readonly history: Map<number, number>;
  /** Every sample sent, in send order, with the history as the cycle that wrote it read it. */
  readonly written: Array<{ sample: Sample; seen: ReadonlyMap<number, number> }>;
}

/** Runs the schedule, then cycles with no revision until the read window has passed every revised period. */
function play(schedule: Schedule, counter: boolean): Outcome {
  const history = new Map<number, number>();
  for (let i = schedule.quiet; i < PERIODS; i++) {
    const v = schedule.pattern[i % schedule.pattern.length];
    if (v !== undefined) history.set(H0 + i * MIN, v);
  }
  const run: Run = { state: undefined, highWaterMark: undefined, base: undefined, firstRead: undefined, rereadFrom: undefined, heldBase: undefined };
  const written: Outcome['written'] = [];
  const record = (sent: readonly Add[], seen: ReadonlyMap<number, number>) => {
    for (const add of sent) for (const sample of add.samples) written.push({ sample, seen });
  };
  let now = T;
  for (const step of schedule.cycles) {
    const lo = run.base ?? H0;
    const hi = now - (now % MIN);
    for (const revision of step.revisions) {
      if (hi <= lo) break;
      const t = lo + (revision.pick % ((hi - lo) / MIN)) * MIN;
      if (revision.value === undefined) history.delete(t);
      else history.set(t, revision.value);
    }
    const seen = new Map(history);
    record(cycle(run, now, step.budget, seen, counter, step.kill, step.cut).sent, seen);
    now += step.gapMinutes * MIN;
  }
  // CloudWatch stops revising: enough cycles to catch up (budget-capped cycles may have fallen behind).
  for (let i = 0; i < 8; i++) {
    record(cycle(run, now, 10_000, history, counter).sent, history);
    now += 5 * MIN;
  }
  return { run, history, written };
}

function sumOver(history: ReadonlyMap<number, number>, from: number, to: number): number {
  let sum = 0;
  for (const [t, v] of history) if (t >= from && t <= to) sum += v;
  return sum;
}

function expectStrictlyIncreasingTimestamps(samples: readonly Sample[]): void {
  for (let i = 1; i < samples.length; i++) {
    if ((samples[i] as Sample).timestamp <= (samples[i - 1] as Sample).timestamp) {
      throw new Error(`timestamp ${(samples[i] as Sample).timestamp} written after ${(samples[i - 1] as Sample).timestamp} (sample ${i})`);
    }
  }
}

function checkCounter(outcome: Outcome): void {
  const samples = outcome.written.map((w) => w.sample);
  expectStrictlyIncreasingTimestamps(samples);
  for (let i = 1; i < samples.length; i++) expect((samples[i] as Sample).value).toBeGreaterThanOrEqual((samples[i - 1] as Sample).value);
  const last = samples.at(-1);
  if (!last) {
    expect(sumOver(outcome.history, outcome.run.firstRead ?? Infinity, (outcome.run.highWaterMark ?? -Infinity) - 1)).toBe(0);
    return;
  }
  const state = outcome.run.state as SeriesState;
  const expected = sumOver(outcome.history, outcome.run.firstRead as number, last.timestamp);
  // A revision downwards waits in `pending` until the counter has grown past it; nothing else is outstanding.
  expect(state.pending).toBeLessThanOrEqual(0);
  expect(last.value + state.pending).toBe(expected);
  if (state.pending === 0) expect(last.value).toBe(expected);
}

/** Once the counter grows past any pending revision downwards, the last sample is exactly CloudWatch's sum. */
function growAndCheck(outcome: Outcome): void {
  const { run, history } = outcome;
  // Past the pending revision downwards: it can exceed what CloudWatch still holds, once a forwarded datapoint is withdrawn.
  const growth = [...history.values()].reduce((a, b) => a + b, 1) - (run.state?.pending ?? 0);
  const at = (run.highWaterMark as number) + 2 * MIN;
  for (const t of [...history.keys()]) if (t >= run.highWaterMark!) history.delete(t);
  history.set(at, growth);
  const sent = cycle(run, at + 10 * MIN, 10_000, history, true).sent.flatMap((a) => a.samples);
  const last = sent.at(-1);
  expect(last?.timestamp).toBe(at);
  expect(run.state?.pending).toBe(0);
  expect(last?.value).toBe(sumOver(history, run.firstRead as number, at));
}

const RUNS = 250;

describe('SeriesCursor properties over random cycle schedules', () => {
  test.each([
    ['counters: monotone, strictly increasing timestamps, last value = final CloudWatch sum since the first read', false],
    ['counters with kills: resuming from the journaled state of the last sent add stays exact, no timestamp twice', true],
  ])('%s', (_name, kills) => {
    fc.assert(
      fc.property(scheduleArbitrary(kills), (schedule) => {
        const outcome = play(schedule, true);
        checkCounter(outcome);
        growAndCheck(outcome);
      }),
      { numRuns: RUNS },
    );
  });

  // Found by a random seed (378253436) on 2026-12-04 and pinned as a cursor bug; the cursor was right. A datapoint is
  // forwarded (2 at T - 7 min), then CloudWatch withdraws it: the revision, -2, waits in `pending`, since a counter
  // that drops reads as a reset. The check then grew the counter by CloudWatch's remaining sum + 1 = 1, which cannot
  // absorb -2: growth must pass the pending revision itself.
  test('counters: a forwarded datapoint withdrawn waits as a pending revision downwards until the counter grows past it', () => {
    const schedule: Schedule = {
      pattern: [undefined],
      quiet: 0,
      cycles: [
        { gapMinutes: 2, budget: 1, revisions: [], kill: undefined },
        // Reads [T - 17, T): 2 at T - 7 min, written with its 0 baseline.
        { gapMinutes: 11, budget: 16, revisions: [{ pick: 10, value: 2 }], kill: undefined },
        // T - 7 min withdrawn before the read of [T - 10, T + 1).
        { gapMinutes: 1, budget: 1, revisions: [{ pick: 26, value: undefined }], kill: undefined },
        { gapMinutes: 1, budget: 1, revisions: [], kill: undefined },
      ],
    };
    const outcome = play(schedule, true);
    expect(outcome.written.map((w) => w.sample)).toEqual([
      { timestamp: T - 8 * MIN, value: 0 },
      { timestamp: T - 7 * MIN, value: 2 },
    ]);
    expect(outcome.run.state).toMatchObject({ total: 2, pending: -2 });
    checkCounter(outcome);
    growAndCheck(outcome);
  });

  test('counters: increase() over everything written equals the CloudWatch sum (the first sample is a 0 baseline)', () => {
    fc.assert(
      fc.property(scheduleArbitrary(true), (schedule) => {
        const outcome = play(schedule, true);
        const samples = outcome.written.map((w) => w.sample);
        const first = samples[0];
        const last = samples.at(-1);
        if (!first || !last) return;
        // Late data for periods before the first sample is folded into later ones: the baseline must be 0.
        expect(first.value).toBe(0);
        expect(last.value).toBeGreaterThanOrEqual(first.value);
      }),
      { numRuns: RUNS },
    );
  });

  test('gauges: every sample is the value CloudWatch had for its period when it was read; no period twice', () => {
    fc.assert(
      fc.property(scheduleArbitrary(true), (schedule) => {
        const outcome = play(schedule, false);
        expectStrictlyIncreasingTimestamps(outcome.written.map((w) => w.sample));
        for (const { sample, seen } of outcome.written) expect(sample.value).toBe(seen.get(sample.timestamp));
      }),
      { numRuns: RUNS },
    );
  });
});
