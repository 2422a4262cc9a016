import { capByBudget, skipToOf } from '../../../lambda/bridge/cycle/plan';
import type { Sample } from '../../../lambda/bridge/series';
import { coarseSpan, counterPositions } from '../../../lambda/bridge/sources/coarse-read';
import type { SourceSeries } from '../../../lambda/bridge/sources/source';
import { SeriesTable } from '../../../lambda/bridge/state/series-table';
import { newSeriesState, seriesKeyOf, type SeriesState } from '../../../lambda/bridge/state/series-state';
import { emptyStats, SeriesCursor, type CursorSettings } from '../../../lambda/bridge/translate';
import { planWindow, type WindowSettings } from '../../../lambda/bridge/windows';
import type { PlannedQuery } from '../../../lambda/bridge/cloudwatch/plan';

const MIN = 60_000;
const T = 1_800_000_000_000; // aligned to the minute
const windows: WindowSettings = { period: 60, settle: 120, initialLookback: 900, revisionWindow: 600, maxCycleSpan: 3600 };

/** One series' history: a value every minute from `from` to `to`, with some minutes missing. */
function history(from: number, to: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let t = from; t < to; t += MIN) if ((t / MIN) % 5 !== 3) out.set(t, 10 + ((t / MIN) % 7));
  return out;
}

function sumOf(h: Map<number, number>, from: number, to: number): number {
  let sum = 0;
  for (const [t, v] of h) if (t >= from && t < to) sum += v;
  return sum;
}

/** A first cycle at T (its window [T - 17m, T - 2m)), per period. */
function firstCycle(h: Map<number, number>, kind: 'counter' | 'gauge' = 'counter') {
  const window = planWindow(T, windows, undefined) as { start: number; end: number; readStart: number };
  const settings: CursorSettings = { periodMs: MIN, readStart: window.readStart, end: window.end, nextBase: window.end - 10 * MIN, writableFrom: -Infinity };
  const cursor = new SeriesCursor(undefined, kind === 'counter', false, 1, settings, emptyStats());
  const out: Sample[] = [];
  for (const [t, v] of [...h].filter(([t]) => t < window.end).sort((a, b) => a[0] - b[0])) cursor.push(t, v, out);
  cursor.finish(out);
  return { state: cursor.finalState(), hwm: window.end, base: settings.nextBase, out };
}

/**
 * The comeback cycle after a 6-hour outage: `coarse` reads [base, skipTo) as one datapoint (the span's Sum, at the
 * span's start) and the rest per period; otherwise every period. Returns the samples and the state.
 */
function comeback(previous: SeriesState | undefined, base: number, hwm: number, h: Map<number, number>, coarse: boolean, kind: 'counter' | 'gauge' = 'counter') {
  const now = T + 6 * 60 * MIN;
  const writableFrom = now - 50 * MIN;
  const window = planWindow(now, windows, hwm, writableFrom) as { start: number; end: number };
  const nextBase = window.end - 10 * MIN;
  const skipTo = skipToOf(base, window.start, nextBase, writableFrom, MIN) as number;
  const settings: CursorSettings = { periodMs: MIN, readStart: base, end: window.end, nextBase, writableFrom, ...(coarse ? { skipTo, coarseTo: skipTo } : {}) };
  const stats = emptyStats();
  const cursor = new SeriesCursor(previous, kind === 'counter', false, 1, settings, stats);
  const out: Sample[] = [];
  const points = [...h].filter(([t]) => t >= base && t < window.end).sort((a, b) => a[0] - b[0]);
  if (coarse && kind === 'counter' && points.some(([t]) => t < skipTo)) cursor.push(base, sumOf(h, base, skipTo), out);
  for (const [t, v] of points) if (!coarse || t >= skipTo) cursor.push(t, v, out);
  cursor.finish(out);
  return { out, state: cursor.finalState(), stats, window, skipTo, writableFrom };
}

describe('a long outage read coarsely: the too-old span in one datapoint, the rest per period', () => {
  test('the window is bounded from writableFrom: one cycle forwards everything still writable', () => {
    const now = T + 6 * 60 * MIN;
    const writableFrom = now - 50 * MIN;
    expect(planWindow(now, windows, T - 2 * MIN, writableFrom)).toEqual({ start: T - 2 * MIN, end: now - 2 * MIN, readStart: T - 12 * MIN });
    // Without it (a read that cannot skip): at most maxCycleSpan from the high-water mark, as before.
    expect(planWindow(now, windows, T - 2 * MIN)?.end).toBe(T + 58 * MIN);
    // The sample budget counts the writable periods only.
    expect(capByBudget({ start: T, end: now, readStart: T - 10 * MIN }, 10, MIN, 100, writableFrom).end).toBe(writableFrom + 10 * MIN);
  });

  test('skipTo: writableFrom or the next base, whichever is first; none when nothing lies past the high-water mark', () => {
    expect(skipToOf(T - 12 * MIN, T - 2 * MIN, T + 5 * 60 * MIN, T + 4 * 60 * MIN + 30_000, MIN)).toBe(T + 4 * 60 * MIN);
    expect(skipToOf(T - 12 * MIN, T - 2 * MIN, T + 60 * MIN, T + 4 * 60 * MIN, MIN)).toBe(T + 60 * MIN);
    expect(skipToOf(T - 12 * MIN, T - 2 * MIN, T - 2 * MIN, T + 60 * MIN, MIN)).toBeUndefined();
  });

  test('a counter: the same samples and state as reading every period, a revision made during the outage included', () => {
    const h = history(T - 17 * MIN, T + 7 * 60 * MIN);
    const first = firstCycle(h);
    // CloudWatch revises a forwarded period while the bridge is away.
    h.set(T - 5 * MIN, (h.get(T - 5 * MIN) ?? 0) + 17);
    const coarse = comeback(first.state, first.base, first.hwm, h, true);
    const perPeriod = comeback(first.state, first.base, first.hwm, h, false);
    expect(coarse.out).toEqual(perPeriod.out);
    expect(coarse.out[0]?.timestamp).toBe(coarse.writableFrom);
    expect(coarse.out.at(-1)).toEqual({ timestamp: coarse.window.end - MIN, value: sumOf(h, T - 17 * MIN, coarse.window.end) });
    expect(coarse.state).toEqual(perPeriod.state);
    // One datapoint stood for the span, counted as too old once; its new periods are no revision.
    expect(coarse.stats.tooOld.samples).toBe(1);
    expect(coarse.stats.revisions.counter).toBe(0);
  });

  test('a counter whose forwarded periods CloudWatch no longer has, and no datapoint in the span: the sum goes down by them', () => {
    const h = history(T - 17 * MIN, T - 2 * MIN);
    const first = firstCycle(h);
    const later = new Map([...history(T + 6 * 60 * MIN - 40 * MIN, T + 6 * 60 * MIN)]);
    const gone = new Map([...h].filter(([t]) => t < first.base));
    for (const [t, v] of later) gone.set(t, v);
    const coarse = comeback(first.state, first.base, first.hwm, gone, true);
    const perPeriod = comeback(first.state, first.base, first.hwm, gone, false);
    expect(coarse.out).toEqual(perPeriod.out);
    expect(coarse.state).toEqual(perPeriod.state);
  });

  test('a counter never seen before: all of the span is new, carried into its first sample', () => {
    const h = history(T + 60 * MIN, T + 7 * 60 * MIN);
    const coarse = comeback(undefined, T - 12 * MIN, T - 2 * MIN, h, true);
    const perPeriod = comeback(undefined, T - 12 * MIN, T - 2 * MIN, h, false);
    expect(coarse.out).toEqual(perPeriod.out);
    expect(coarse.out[0]).toEqual({ timestamp: coarse.writableFrom, value: sumOf(h, 0, coarse.writableFrom + MIN) });
  });

  test('a gauge: not read over the span, nothing counted as a revision, the same samples from writableFrom', () => {
    const h = history(T - 17 * MIN, T + 7 * 60 * MIN);
    const first = firstCycle(h, 'gauge');
    const coarse = comeback(first.state, first.base, first.hwm, h, true, 'gauge');
    const perPeriod = comeback(first.state, first.base, first.hwm, h, false, 'gauge');
    expect(coarse.out).toEqual(perPeriod.out);
    expect(coarse.stats.revisions).toEqual({ counter: 0, gauge: 0, quantile: 0, late: 0 });
    expect({ window: coarse.state.window, count: coarse.state.count }).toEqual({ window: perPeriod.state.window, count: perPeriod.state.count });
  });
});

describe('coarseSpan: which reads may skip', () => {
  const key = (name: string) => seriesKeyOf(name);
  const series = (name: string): SourceSeries => ({ labels: [], key: key(name), kind: 'counter', quantile: false, scale: 1, ended: false });
  const now = T + 6 * 60 * MIN;
  const skip = (table: SeriesTable) => ({ to: now - 50 * MIN, table });
  const baseline = (frontier: number): SeriesState => ({ ...newSeriesState(true), frontier, baseline: true });

  test('a read from its windows base, every series a baseline behind the span: the span [start, skipTo)', () => {
    const table = new SeriesTable();
    table.set(key('a'), baseline(T - 3 * MIN));
    expect(coarseSpan(T - 12 * MIN, T - 12 * MIN, skip(table), [series('a'), series('new')], now)).toEqual({ start: T - 12 * MIN, end: now - 50 * MIN });
  });

  test('per period instead: a read from before its base (woken variant, unread periods), a series no baseline or held or past the span, a span past 15 days', () => {
    const table = new SeriesTable();
    table.set(key('a'), baseline(T - 3 * MIN));
    table.set(key('unsure'), { ...baseline(T - 3 * MIN), baseline: false });
    table.set(key('held'), { ...baseline(T - 3 * MIN), held: true });
    table.set(key('ahead'), baseline(now - 40 * MIN));
    expect(coarseSpan(T - 20 * MIN, T - 12 * MIN, skip(table), [series('a')], now)).toBeUndefined();
    expect(coarseSpan(T - 12 * MIN, T - 12 * MIN, undefined, [series('a')], now)).toBeUndefined();
    for (const name of ['unsure', 'held', 'ahead']) expect(coarseSpan(T - 12 * MIN, T - 12 * MIN, skip(table), [series('a'), series(name)], now)).toBeUndefined();
    expect(coarseSpan(T - 12 * MIN, T - 12 * MIN, skip(table), [series('a')], T + 16 * 24 * 60 * MIN)).toBeUndefined();
  });

  test('a query that feeds a counter and a gauge at once makes its chunk read per period', () => {
    const query = (kinds: Array<'counter' | 'gauge'>) => ({ template: { kind: kinds[0] }, also: kinds.slice(1).map((kind) => ({ template: { kind } })) }) as unknown as PlannedQuery;
    expect(counterPositions([query(['counter', 'counter']), query(['gauge']), query(['counter'])])).toEqual([0, 2]);
    expect(counterPositions([query(['counter', 'gauge'])])).toBeUndefined();
  });
});
