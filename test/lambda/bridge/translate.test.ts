import { emptyState, type BridgeState } from '../../../lambda/bridge/state/state';
import { translate, type QueryResult } from '../../../lambda/bridge/translate';
import { planWindow, type WindowSettings } from '../../../lambda/bridge/windows';

const MIN = 60_000;
const settings = { periodMs: MIN, revisionWindowMs: 10 * MIN, retentionMs: 24 * 60 * MIN };
const windowSettings: WindowSettings = { period: 60, settle: 120, initialLookback: 900, revisionWindow: 600, maxCycleSpan: 3600 };
const T = 1_800_000_000_000; // aligned to the minute

function counter(points: Array<[number, number]>, extra: Partial<QueryResult> = {}): QueryResult {
  return { name: 'x_total', labels: { endpoint_name: 'e' }, kind: 'counter', quantile: false, scale: 1, points, ...extra };
}

/** Runs cycles at successive "now"s over a CloudWatch history that may change between cycles. */
function runCycles(nows: number[], history: (cycle: number) => Map<number, number>, kind: 'counter' | 'gauge' = 'counter') {
  let state: BridgeState = emptyState();
  const written: Array<[number, number]> = [];
  const stats = [];
  for (const [cycle, now] of nows.entries()) {
    const window = planWindow(now, windowSettings, state.highWaterMark);
    if (!window) continue;
    const points = [...history(cycle)].filter(([t]) => t >= window.readStart && t < window.end);
    const out = translate([counter(points, { kind })], window, state, settings);
    for (const s of out.series[0]?.samples ?? []) written.push([s.timestamp, s.value]);
    stats.push(out.stats);
    state = out.state;
  }
  return { written, state, stats };
}

describe('translate: counters', () => {
  test('a new counter starts with a 0 baseline one period before its first data, then cumulative sums at period starts', () => {
    const window = { start: T, end: T + 3 * MIN, readStart: T };
    const out = translate([counter([[T, 5], [T + MIN, 7], [T + 2 * MIN, 1]])], window, emptyState(), settings);
    expect(out.series[0]?.samples).toEqual([
      { timestamp: T - MIN, value: 0 },
      { timestamp: T, value: 5 },
      { timestamp: T + MIN, value: 12 },
      { timestamp: T + 2 * MIN, value: 13 },
    ]);
    expect(out.state.highWaterMark).toBe(T + 3 * MIN);
    expect(out.series[0]?.labels).toEqual([
      { name: '__name__', value: 'x_total' },
      { name: 'endpoint_name', value: 'e' },
    ]);
  });

  test('increase over all cycles equals the final CloudWatch Sum, with revisions up, late data and a revision down', () => {
    const base = new Map<number, number>();
    for (let t = T - 20 * MIN; t < T + 60 * MIN; t += MIN) base.set(t, 10);
    const history = (cycle: number) => {
      const h = new Map(base);
      if (cycle === 0) h.delete(T - 4 * MIN); // not yet published when cycle 0 reads
      if (cycle >= 1) h.set(T - 6 * MIN, 25); // revised up after being forwarded
      if (cycle >= 2) h.set(T - 1 * MIN, 4); // revised down after being forwarded
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
    // Monotonic (a revision down waits instead of producing a reset), and timestamps strictly increasing.
    for (let i = 1; i < written.length; i++) {
      expect(written[i]?.[0]).toBeGreaterThan(written[i - 1]?.[0] as number);
      expect(written[i]?.[1]).toBeGreaterThanOrEqual(written[i - 1]?.[1] as number);
    }
    expect(stats.reduce((n, s) => n + s.revisions.counter, 0)).toBe(3);
  });

  test('a revision with no new datapoint is written at the last new period', () => {
    const prev: BridgeState = { ...emptyState(), highWaterMark: T, series: {} };
    const first = translate([counter([[T - 2 * MIN, 3]])], { start: T - 3 * MIN, end: T, readStart: T - 3 * MIN }, emptyState(), settings);
    const second = translate([counter([[T - 2 * MIN, 8]])], { start: T, end: T + 2 * MIN, readStart: T - 10 * MIN }, { ...prev, ...first.state }, settings);
    expect(second.series[0]?.samples).toEqual([{ timestamp: T + MIN, value: 8 }]);
  });

  test('NaN and infinities are dropped and counted', () => {
    const out = translate([counter([[T, NaN], [T + MIN, Infinity], [T + 2 * MIN, 2]])], { start: T, end: T + 3 * MIN, readStart: T }, emptyState(), settings);
    expect(out.stats.nonFinite).toBe(2);
    expect(out.series[0]?.samples.map((s) => s.value)).toEqual([0, 2]);
  });

  test('scale converts units (µs -> s)', () => {
    const out = translate([counter([[T, 1_500_000]], { scale: 1e-6, name: 'lat_seconds_sum' })], { start: T, end: T + MIN, readStart: T }, emptyState(), settings);
    expect(out.series[0]?.samples.at(-1)?.value).toBeCloseTo(1.5, 12);
  });

  test('forwarded values older than the revision window are forgotten; idle series are kept for the retention', () => {
    const { state } = runCycles([T, T + 30 * MIN], () => new Map([[T - 10 * MIN, 1]]));
    const series = Object.values(state.series)[0];
    expect(series?.t).toBe(1);
    expect(Object.keys(series?.f ?? {})).toEqual([]);
  });
});

describe('translate: gauges and quantiles', () => {
  test('gauges are written as they are; revisions are counted, not rewritten', () => {
    const history = (cycle: number) =>
      new Map<number, number>([
        [T - 5 * MIN, cycle === 0 ? 0.5 : 0.7],
        [T - 4 * MIN, 0.6],
      ]);
    const { written, stats } = runCycles([T, T + 3 * MIN], history, 'gauge');
    expect(written).toEqual([
      [T - 5 * MIN, 0.5],
      [T - 4 * MIN, 0.6],
    ]);
    expect(stats[1]?.revisions.gauge).toBe(1);
  });

  test('a quantile revision is counted as such, and late gauge data as late', () => {
    const window = { start: T, end: T + MIN, readStart: T - 10 * MIN };
    const previous: BridgeState = { ...emptyState(), highWaterMark: T };
    const q: QueryResult = { name: 'lat', labels: { quantile: '0.99' }, kind: 'gauge', quantile: true, scale: 1, points: [[T - MIN, 3]] };
    const first = translate([q], { start: T - 2 * MIN, end: T, readStart: T - 2 * MIN }, previous, settings);
    const second = translate([{ ...q, points: [[T - MIN, 4], [T - 2 * MIN, 1]] }], window, first.state, settings);
    expect(second.stats.revisions).toMatchObject({ quantile: 1, late: 1 });
  });
});
