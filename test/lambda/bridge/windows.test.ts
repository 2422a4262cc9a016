import { alignDown, planWindow, type WindowSettings } from '../../../lambda/bridge/windows';

const settings: WindowSettings = { period: 60, settle: 120, initialLookback: 900, revisionWindow: 600, maxCycleSpan: 3600 };
const T = Date.UTC(2026, 10, 22, 12, 0, 0);

describe('planWindow', () => {
  test('first run: the initial lookback up to the last period that ended at least `settle` ago', () => {
    expect(planWindow(T + 30_000, settings, undefined)).toEqual({ start: T - 17 * 60_000, end: T - 2 * 60_000, readStart: T - 17 * 60_000 });
  });

  test('later runs start at the high-water mark and re-read the revision window behind it', () => {
    const hwm = T - 5 * 60_000;
    expect(planWindow(T, settings, hwm)).toEqual({ start: hwm, end: T - 2 * 60_000, readStart: hwm - 600_000 });
  });

  test('nothing to do until a whole new period has settled', () => {
    expect(planWindow(T + 59_000, settings, T - 2 * 60_000)).toBeUndefined();
    expect(planWindow(T + 60_000, settings, T - 2 * 60_000)).toEqual({ start: T - 120_000, end: T - 60_000, readStart: T - 720_000 });
  });

  test('a long outage is caught up at most maxCycleSpan per cycle', () => {
    const hwm = T - 5 * 3600_000;
    expect(planWindow(T, settings, hwm)?.end).toBe(hwm + 3600_000);
  });

  test('longer periods align to their own boundaries', () => {
    const w = planWindow(T + 7 * 60_000, { ...settings, period: 300, initialLookback: 1800 }, undefined);
    expect(w).toEqual({ start: T - 25 * 60_000, end: T + 5 * 60_000, readStart: T - 25 * 60_000 });
    expect(alignDown(T + 299_999, 300_000)).toBe(T);
  });
});
