import fc from 'fast-check';
import { BatchBuilder, type BatchSeries } from '../../../../lambda/bridge/remote-write/batcher';
import { buildLabels, type Sample } from '../../../../lambda/bridge/series';
import type { SeriesState } from '../../../../lambda/bridge/state/series-state';
import { emptyStats, SeriesCursor, type CursorSettings } from '../../../../lambda/bridge/translate';

const MIN = 60_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);

/** Series as a cycle meets them: a counter read again over its revision window, an ended gauge, one held at an older base, a new one. */
interface Twin {
  readonly series: BatchSeries;
  /** Fed to the builder with a fresh journal state per add (the reference). */
  readonly eager: SeriesCursor;
  /** The same datapoints, fed through addFrom. */
  readonly lazy: SeriesCursor;
}

const settings: CursorSettings = { periodMs: MIN, readStart: T, fetchStart: T - 5 * MIN, heldBase: T - 5 * MIN, end: T + 30 * MIN, nextBase: T + 20 * MIN, writableFrom: T - 5 * MIN };

function twins(): Twin[] {
  const kinds: Array<{ name: string; counter: boolean; previous?: SeriesState }> = [
    { name: 'a_total', counter: true, previous: { frontier: T + 4 * MIN, counter: true, total: 100, pending: 0, window: 12, count: 0, moment: 3, baseline: true } },
    { name: 'b', counter: false, previous: { frontier: T + 2 * MIN, counter: false, total: 0, pending: 0, window: 7, count: 3, moment: 3, baseline: true, ended: true } },
    { name: 'c_total', counter: true, previous: { frontier: T - 2 * MIN, counter: true, total: 5, pending: 0, window: 5, count: 0, moment: 0, baseline: true, held: true } },
    // New: its first datapoint gives two samples (its 0 baseline and its value) in one add.
    { name: 'd_total', counter: true },
  ];
  return kinds.map(({ name, counter, previous }) => ({
    series: { labels: buildLabels(name, {}), kind: counter ? 'counter' : 'gauge', key: name },
    eager: new SeriesCursor(previous, counter, false, 1, settings, emptyStats()),
    lazy: new SeriesCursor(previous, counter, false, 1, settings, emptyStats()),
  }));
}

/** Each step: which series, how many of its next periods (in time order per series), and whether in one add. */
const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 6 }), fc.boolean()), { minLength: 1, maxLength: 30 });

describe('BatchBuilder.addFrom', () => {
  test('every request carries each series state as of its own last sample, as a fresh journalState per add would', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), steps, fc.constantFrom('stream' as const, 'byTimestamp' as const, 'whole' as const), (maxSamples, plan, mode) => {
        const series = twins();
        const eager = new BatchBuilder(maxSamples, mode);
        const lazy = new BatchBuilder(maxSamples, mode);
        const next = series.map(() => T - 5 * MIN);
        // Several periods in one add: a request may be cut before it, with the same series open in it.
        for (const [which, periods, together] of plan) {
          const twin = series[which] as Twin;
          const outEager: Sample[] = [];
          const outLazy: Sample[] = [];
          const add = () => {
            eager.add(twin.series, outEager, twin.eager.journalState());
            lazy.addFrom(twin.series, outLazy, twin.lazy);
            outEager.length = 0;
            outLazy.length = 0;
          };
          for (let i = 0; i < periods && (next[which] as number) < settings.end; i++) {
            const at = next[which] as number;
            next[which] = at + MIN;
            twin.eager.push(at, (at / MIN) % 7, outEager);
            twin.lazy.push(at, (at / MIN) % 7, outLazy);
            if (!together) add();
          }
          add();
        }
        // The tail as the read's finish writes it: a stale marker after the frontier.
        for (const twin of series) {
          const outEager: Sample[] = [];
          const outLazy: Sample[] = [];
          twin.eager.end(outEager);
          twin.lazy.end(outLazy);
          eager.add(twin.series, outEager, twin.eager.journalState());
          lazy.addFrom(twin.series, outLazy, twin.lazy);
        }
        eager.close();
        lazy.close();
        const expected = eager.drain();
        const actual = lazy.drain();
        expect(actual).toEqual(expected);
        // A state in one request is never the object of another's: a later add must not rewrite what was cut.
        const states = actual.flatMap((batch) => batch.states.map(([, state]) => state));
        expect(new Set(states).size).toBe(states.length);
      }),
      { numRuns: 300 },
    );
  });

  test('a state given to add is never rewritten by a later addFrom', () => {
    const [twin] = twins() as [Twin];
    const builder = new BatchBuilder(10, 'stream');
    const given: SeriesState = { frontier: T, counter: true, total: 0, pending: 0, window: 0, count: 0, moment: 0, baseline: true };
    const copy = { ...given };
    builder.add(twin.series, [{ timestamp: T, value: 0 }], given);
    const out: Sample[] = [];
    twin.lazy.push(T + 5 * MIN, 3, out);
    builder.addFrom(twin.series, out, twin.lazy);
    expect(given).toEqual(copy);
  });
});
