import type { Sample } from '../../../lambda/bridge/series';
import type { SeriesState } from '../../../lambda/bridge/state/series-state';
import { emptyStats, SeriesCursor, type CursorSettings, type TranslateStats } from '../../../lambda/bridge/translate';
import { planWindow, type WindowSettings } from '../../../lambda/bridge/windows';

const MIN = 60_000;
const windowSettings: WindowSettings = { period: 60, settle: 120, initialLookback: 900, revisionWindow: 600, maxCycleSpan: 3600 };
const T = 1_800_000_000_000; // aligned to the minute

interface Run {
  state: SeriesState | undefined;
  highWaterMark: number | undefined;
  base: number | undefined;
}

/** One cycle of one series, as runCycle drives it: read [base, end), feed oldest first, finish. */
function cycle(run: Run, now: number, history: Map<number, number>, kind: 'counter' | 'gauge' = 'counter', extra: Partial<CursorSettings> = {}, quantile = false) {
  const window = planWindow(now, windowSettings, run.highWaterMark);
  if (!window) return undefined;
  const readStart = run.highWaterMark !== undefined && run.base !== undefined ? run.base : window.readStart;
  const settings: CursorSettings = { periodMs: MIN, readStart, end: window.end, nextBase: Math.max(readStart, window.end - 10 * MIN), writableFrom: -Infinity, ...extra };
  const stats = emptyStats();
  const cursor = new SeriesCursor(run.state, kind === 'counter', quantile, 1, settings, stats);
  const out: Sample[] = [];
  for (const [t, v] of [...history].filter(([t]) => t >= readStart && t < window.end).sort((a, b) => a[0] - b[0])) cursor.push(t, v, out);
  cursor.finish(out);
  run.state = cursor.finalState();
  run.highWaterMark = window.end;
  run.base = settings.nextBase;
  return { samples: out, stats };
}

function runCycles(nows: number[], history: (cycle: number) => Map<number, number>, kind: 'counter' | 'gauge' = 'counter') {
  const run: Run = { state: undefined, highWaterMark: undefined, base: undefined };
  const written: Array<[number, number]> = [];
  const stats: TranslateStats[] = [];
  nows.forEach((now, i) => {
    const result = cycle(run, now, history(i), kind);
    if (!result) return;
    for (const s of result.samples) written.push([s.timestamp, s.value]);
    stats.push(result.stats);
  });
  return { written, stats, run };
}

describe('SeriesCursor: counters', () => {
  test('a new counter starts with a 0 baseline one period before its first data, then cumulative sums at period starts', () => {
    const { written } = runCycles([T + 5 * MIN], () => new Map([[T, 5], [T + MIN, 7], [T + 2 * MIN, 1]]));
    expect(written).toEqual([
      [T - MIN, 0],
      [T, 5],
      [T + MIN, 12],
      [T + 2 * MIN, 13],
    ]);
  });

  test('increase over all cycles equals the final CloudWatch Sum, with revisions up, late data and a revision down', () => {
    const base = new Map<number, number>();
    for (let t = T - 20 * MIN; t < T + 60 * MIN; t += MIN) base.set(t, 10);
    const history = (c: number) => {
      const h = new Map(base);
      if (c === 0) h.delete(T - 4 * MIN); // not yet published when cycle 0 reads
      if (c >= 1) h.set(T - 6 * MIN, 25); // revised up after being forwarded
      if (c >= 2) h.set(T - 1 * MIN, 4); // revised down after being forwarded
      return h;
    };
    const nows = [T, T + 5 * MIN, T + 9 * MIN, T + 14 * MIN, T + 20 * MIN];
    const { written, stats } = runCycles(nows, history);
    const finalHistory = history(99);
    const firstForwarded = T - 2 * MIN - 15 * MIN;
    const lastWritten = written[written.length - 1] as [number, number];
    let expected = 0;
    for (const [t, v] of finalHistory) if (t >= firstForwarded && t <= lastWritten[0]) expected += v;
    expect(lastWritten[1]).toBe(expected);
    // Monotonic (a revision down waits instead of producing a reset), timestamps strictly increasing.
    for (let i = 1; i < written.length; i++) {
      expect(written[i]?.[0]).toBeGreaterThan(written[i - 1]?.[0] as number);
      expect(written[i]?.[1]).toBeGreaterThanOrEqual(written[i - 1]?.[1] as number);
    }
    // The withheld period was behind the frontier when it came: its value went into the next sample.
    expect(written.filter(([t]) => t === T - 4 * MIN)).toHaveLength(0);
    expect(stats.reduce((n, s) => n + s.revisions.counter, 0)).toBe(2);
  });

  test('a period missing in the middle is not rewritten later: its late value goes into the next sample', () => {
    const full = new Map<number, number>();
    for (let t = T - 15 * MIN; t < T + 10 * MIN; t += MIN) full.set(t, 1);
    const gap = new Map(full);
    gap.delete(T - 6 * MIN);
    const { written } = runCycles([T, T + 5 * MIN], (c) => (c === 0 ? gap : full));
    expect(written.filter(([t]) => t === T - 6 * MIN)).toHaveLength(0);
    expect(written.at(-1)).toEqual([T + 2 * MIN, 18]);
  });

  test('a revision with no new datapoint is written at the last new period', () => {
    const run: Run = { state: undefined, highWaterMark: undefined, base: undefined };
    cycle(run, T, new Map([[T - 3 * MIN, 3]]));
    const second = cycle(run, T + 2 * MIN, new Map([[T - 3 * MIN, 8]]));
    expect(second?.samples).toEqual([{ timestamp: T - MIN, value: 8 }]);
    expect(second?.stats.revisions.counter).toBe(1);
    // Its lateness, from the state's aggregates alone: the revised period to the end of the window that saw it.
    expect(second?.stats.lateness.counter).toBe(180);
  });

  test('NaN and infinities are dropped and counted', () => {
    const { written, stats } = runCycles([T + 5 * MIN], () => new Map([[T, NaN], [T + MIN, Infinity], [T + 2 * MIN, 2]]));
    expect(stats[0]?.nonFinite).toBe(2);
    expect(written.map(([, v]) => v)).toEqual([0, 2]);
  });

  test('datapoints older than the receiver accepts are not written; the counter carries them on', () => {
    const run: Run = { state: undefined, highWaterMark: undefined, base: undefined };
    const history = new Map<number, number>();
    for (let t = T - 17 * MIN; t < T; t += MIN) history.set(t, 2);
    const result = cycle(run, T, history, 'counter', { writableFrom: T - 5 * MIN });
    expect(result?.samples.map((s) => s.timestamp)).toEqual([T - 5 * MIN, T - 4 * MIN, T - 3 * MIN]);
    expect(result?.samples[0]?.value).toBe(2 * 13);
    expect(result?.stats.tooOld).toEqual({ samples: 12, from: T - 17 * MIN, to: T - 6 * MIN });
  });

  test('a counter whose newest datapoints are older than the receiver accepts writes their sum at the last period', () => {
    const run: Run = { state: undefined, highWaterMark: undefined, base: undefined };
    cycle(run, T - 10 * MIN, new Map([[T - 20 * MIN, 4]]));
    // Read late (a partial answer held it, or a catch-up): no later datapoint carries it, so the window's last period does.
    const late = cycle(run, T, new Map([[T - 20 * MIN, 4], [T - 18 * MIN, 6]]), 'counter', { writableFrom: T - 10 * MIN });
    expect(late?.samples).toEqual([{ timestamp: T - 3 * MIN, value: 10 }]);
    expect(late?.stats.tooOld.samples).toBe(1);
    expect(run.state?.pending).toBe(0);
  });

  test('the journaled state after each sample is a state a killed cycle can resume from exactly', () => {
    const history = new Map<number, number>();
    for (let t = T - 20 * MIN; t < T + 10 * MIN; t += MIN) history.set(t, 3);
    const run: Run = { state: undefined, highWaterMark: undefined, base: undefined };
    cycle(run, T, history);
    // A second cycle dies after writing its first two samples: resume from the journaled state.
    const window = planWindow(T + 5 * MIN, windowSettings, run.highWaterMark);
    const settings: CursorSettings = { periodMs: MIN, readStart: run.base as number, end: window?.end as number, nextBase: 0, writableFrom: -Infinity };
    const cursor = new SeriesCursor(run.state, true, false, 1, settings, emptyStats());
    const out: Sample[] = [];
    const points = [...history].filter(([t]) => t >= settings.readStart && t < settings.end);
    for (const [t, v] of points) {
      cursor.push(t, v, out);
      if (out.length === 2) break;
    }
    run.state = cursor.journalState();
    // HWM stays where it was: the next cycle reads the same base again, and writes only what is newer.
    const resumed = cycle(run, T + 6 * MIN, history);
    const written = [...out, ...(resumed?.samples ?? [])].map((s) => [s.timestamp, s.value]);
    expect(new Set(written.map(([t]) => t)).size).toBe(written.length);
    expect(written.at(-1)?.[1]).toBe(3 * ((written.at(-1)?.[0] as number) - (T - 17 * MIN) + MIN) / MIN);
    expect(resumed?.stats.revisions.counter).toBe(0);
  });
});

describe('SeriesCursor: gauges and quantiles', () => {
  test('gauges are written as they are; revisions are counted, not rewritten', () => {
    const history = (c: number) =>
      new Map<number, number>([
        [T - 5 * MIN, c === 0 ? 0.5 : 0.7],
        [T - 4 * MIN, 0.6],
      ]);
    const { written, stats } = runCycles([T, T + 3 * MIN], history, 'gauge');
    expect(written).toEqual([
      [T - 5 * MIN, 0.5],
      [T - 4 * MIN, 0.6],
    ]);
    expect(stats[1]?.revisions.gauge).toBe(1);
  });

  test('a quantile revision is counted as such; data for a gauge period that was empty behind the frontier as late', () => {
    const run: Run = { state: undefined, highWaterMark: undefined, base: undefined };
    cycle(run, T, new Map([[T - 3 * MIN, 3]]), 'gauge', {}, true);
    const revised = cycle(run, T + 2 * MIN, new Map([[T - 3 * MIN, 4]]), 'gauge', {}, true);
    expect(revised?.stats.revisions).toMatchObject({ quantile: 1, late: 0 });
    const late = cycle(run, T + 4 * MIN, new Map([[T - 3 * MIN, 4], [T - 4 * MIN, 1]]), 'gauge', {}, true);
    expect(late?.stats.revisions).toMatchObject({ quantile: 0, late: 1 });
    expect(late?.stats.lateness.late).toBe(360);
    expect(late?.samples).toEqual([]);
  });
});

describe('an answer cut short (PartialData with no NextToken)', () => {
  const settings: CursorSettings = { periodMs: MIN, readStart: T, end: T + 20 * MIN, nextBase: T + 10 * MIN, writableFrom: -Infinity };
  const every = (from: number, to: number) => Array.from({ length: (to - from) / MIN }, (_, i) => from + i * MIN);

  test('cut before the frontier: the short re-read is no revision; the series is held at the read start, its previous window kept', () => {
    // Forwarded up to T + 4 min, with 3 a period; this cycle's answer stops after T + 1 min.
    const previous: SeriesState = { counter: true, frontier: T + 4 * MIN, total: 15, pending: 0, window: 15, count: 0, moment: 10 * 3, baseline: true };
    const stats = emptyStats();
    const cursor = new SeriesCursor(previous, true, false, 1, settings, stats);
    const out: Sample[] = [];
    for (const t of every(T, T + 2 * MIN)) cursor.push(t, 3, out);
    cursor.incomplete = true;
    cursor.finish(out);
    expect(out).toEqual([]);
    expect(stats.revisions.counter).toBe(0);
    expect(cursor.held).toBe(true);
    expect(cursor.finalState()).toEqual({ counter: true, frontier: T + 4 * MIN, total: 15, pending: 0, window: 15, count: 0, moment: 30, baseline: true, held: true });
    expect(cursor.missingFrom()).toBe(T + 5 * MIN);
  });

  test('a held series: the next cycle reads from the held base and counts a revision in the periods the cut answer missed', () => {
    const held: SeriesState = { counter: true, frontier: T + 4 * MIN, total: 15, pending: 0, window: 15, count: 0, moment: 30, baseline: true, held: true };
    const next: CursorSettings = { periodMs: MIN, readStart: T + 10 * MIN, fetchStart: T, heldBase: T, end: T + 25 * MIN, nextBase: T + 10 * MIN, writableFrom: -Infinity };
    const stats = emptyStats();
    const cursor = new SeriesCursor(held, true, false, 1, next, stats);
    const out: Sample[] = [];
    // T + 3 min was revised from 3 to 5 after it was forwarded.
    for (const t of every(T, T + 25 * MIN)) cursor.push(t, t === T + 3 * MIN ? 5 : 3, out);
    cursor.finish(out);
    expect(stats.revisions.counter).toBe(1);
    expect(stats.lateness.counter).toBe(22 * 60);
    expect(out.map((s) => s.timestamp)).toEqual(every(T + 5 * MIN, T + 25 * MIN));
    expect(out[0]?.value).toBe(15 + 2 + 3);
    expect(out.at(-1)?.value).toBe(15 + 2 + 3 * 20);
    expect(cursor.held).toBe(false);
    // Released: its window refers to the revision base, which stayed at the read start while it was held.
    expect(cursor.finalState()).toMatchObject({ window: 3 * 15, moment: 3 * 105, baseline: true });
    expect(cursor.finalState().held).toBeUndefined();
  });

  test('cut before the frontier but past the next base: the previous window moves to the next base, and the next cycle counts a revision there', () => {
    // Forwarded T .. T + 14 min at 3 a period (window and moment refer to T); this answer stops after T + 11 min.
    const previous: SeriesState = { counter: true, frontier: T + 14 * MIN, total: 45, pending: 0, window: 45, count: 0, moment: 3 * 105, baseline: true };
    const stats = emptyStats();
    const cursor = new SeriesCursor(previous, true, false, 1, settings, stats);
    const out: Sample[] = [];
    for (const t of every(T, T + 12 * MIN)) cursor.push(t, 3, out);
    cursor.incomplete = true;
    cursor.finish(out);
    expect(out).toEqual([]);
    expect(cursor.held).toBe(false);
    // T + 10 .. T + 14 min: 5 periods of 3, at 0 .. 4 periods after the next base.
    const moved = cursor.finalState();
    expect(moved).toMatchObject({ frontier: T + 14 * MIN, total: 45, window: 15, moment: 3 * 10, baseline: true });
    expect(moved.held).toBeUndefined();

    const after: CursorSettings = { periodMs: MIN, readStart: T + 10 * MIN, end: T + 25 * MIN, nextBase: T + 15 * MIN, writableFrom: -Infinity };
    const later = emptyStats();
    const next = new SeriesCursor(moved, true, false, 1, after, later);
    const written: Sample[] = [];
    for (const t of every(T + 10 * MIN, T + 25 * MIN)) next.push(t, t === T + 12 * MIN ? 7 : 3, written);
    next.finish(written);
    expect(later.revisions.counter).toBe(1);
    expect(later.lateness.counter).toBe(13 * 60);
    expect(written[0]).toEqual({ timestamp: T + 15 * MIN, value: 45 + 4 + 3 });
  });

  test('cut before the frontier while other series are held: the revision base stays, and the series keeps its window as it is', () => {
    // Forwarded T + 10 .. T + 20 min at 3 a period (window and moment refer to T + 10); series held at T are read from there.
    const previous: SeriesState = { counter: true, frontier: T + 20 * MIN, total: 63, pending: 0, window: 33, count: 0, moment: 3 * 55, baseline: true };
    const whileHeld: CursorSettings = { periodMs: MIN, readStart: T + 10 * MIN, fetchStart: T, heldBase: T, end: T + 25 * MIN, nextBase: T + 10 * MIN, writableFrom: -Infinity };
    const cursor = new SeriesCursor(previous, true, false, 1, whileHeld, emptyStats());
    const out: Sample[] = [];
    // Nothing at all: the answer was cut before this query's first datapoint.
    cursor.incomplete = true;
    cursor.finish(out);
    expect(out).toEqual([]);
    expect(cursor.held).toBe(false);
    const kept = cursor.finalState();
    expect(kept).toEqual({ ...previous });

    const after: CursorSettings = { periodMs: MIN, readStart: T + 10 * MIN, end: T + 26 * MIN, nextBase: T + 16 * MIN, writableFrom: -Infinity };
    const later = emptyStats();
    const next = new SeriesCursor(kept, true, false, 1, after, later);
    const written: Sample[] = [];
    for (const t of every(T + 10 * MIN, T + 26 * MIN)) next.push(t, t === T + 18 * MIN ? 8 : 3, written);
    next.finish(written);
    expect(later.revisions.counter).toBe(1);
    expect(later.lateness.counter).toBe(8 * 60);
    expect(written[0]).toEqual({ timestamp: T + 21 * MIN, value: 63 + 5 + 3 });
  });

  test('the next cycle reads from before its revision base: the unread periods are written at their own timestamps, the forwarded ones skipped', () => {
    const previous: SeriesState = { counter: true, frontier: T + 4 * MIN, total: 15, pending: 0, window: 0, count: 0, moment: 0, baseline: false };
    const next: CursorSettings = { periodMs: MIN, readStart: T + 10 * MIN, fetchStart: T + 2 * MIN, end: T + 25 * MIN, nextBase: T + 15 * MIN, writableFrom: -Infinity };
    const stats = emptyStats();
    const cursor = new SeriesCursor(previous, true, false, 1, next, stats);
    const out: Sample[] = [];
    for (const t of every(T + 2 * MIN, T + 25 * MIN)) cursor.push(t, 3, out);
    cursor.finish(out);
    expect(out.map((s) => s.timestamp)).toEqual(every(T + 5 * MIN, T + 25 * MIN));
    expect(out.at(-1)?.value).toBe(15 + 3 * 20);
    expect(stats.revisions.counter).toBe(0);
    expect(cursor.missingFrom()).toBeUndefined();
    // Its window is this cycle's, from the next base on: what the cycle after compares its re-read with.
    expect(cursor.finalState()).toMatchObject({ window: 3 * 10, baseline: true });
  });
});
