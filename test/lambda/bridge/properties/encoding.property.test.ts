import fc from 'fast-check';
import { Catalog, loadDefaultCatalog, type NamingProfile } from '../../../../lambda/bridge/catalog/catalog';
import type { DiscoveredMetric } from '../../../../lambda/bridge/cloudwatch/discovery';
import { QueryPlan } from '../../../../lambda/bridge/cloudwatch/plan';
import { BatchBuilder } from '../../../../lambda/bridge/remote-write/batcher';
import { encodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import type { Sample } from '../../../../lambda/bridge/series';
import type { SeriesKey, SeriesState } from '../../../../lambda/bridge/state/series-state';
import { emptyStats, SeriesCursor, type CursorSettings } from '../../../../lambda/bridge/translate';
import { identityOf, RemoteWriteValidator } from '../../../support/harness/remote-write-validity';

/*
 * Discovered metrics with any dimension names and values -> QueryPlan -> SeriesCursor -> BatchBuilder (stream)
 * -> encodeWriteRequest, as runCycle wires them, over two cycles: every request decodes to valid remote write.
 */

const MIN = 60_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
const namespaces = loadDefaultCatalog();
const catalogMetrics = namespaces.flatMap((ns) => ns.metrics.flatMap((m) => [m.metric, ...m.aliases].map((metricName) => ({ namespace: ns.namespace, metricName }))));

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** UTF-8 of every plane, lone surrogates, empty, and values far over any receiver's limit. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 3 }), loneSurrogate), { maxLength: 6 }).map((parts) => parts.join('')),
  fc.constant(''),
  fc.tuple(fc.constantFrom('a', 'é', '東', '😀', '\ud800'), fc.integer({ min: 600, max: 5000 }), fc.string({ maxLength: 4 })).map(([c, n, tail]) => c.repeat(n).slice(0, 5000 - tail.length) + tail),
);
/** CloudWatch namespaces and metric names are at most 255 characters (dimension names and values get no such mercy here). */
const name = text.map((t) => t.slice(0, 255));
const metric: fc.Arbitrary<DiscoveredMetric> = fc.record({
  name: fc.oneof(fc.constantFrom(...catalogMetrics), fc.record({ namespace: fc.oneof(fc.constantFrom(...namespaces.map((ns) => ns.namespace)), name), metricName: name })),
  dimensions: fc.array(fc.record({ Name: text, Value: text }), { maxLength: 5 }),
}).map(({ name, dimensions }) => ({ ...name, dimensions }));

/** CloudWatch values lie within ±2^360; NaN and infinities come from metric math and are dropped. */
const value = fc.oneof(
  fc.nat({ max: 10_000 }),
  fc.double({ min: -(2 ** 360), max: 2 ** 360, noNaN: true }),
  fc.constantFrom(NaN, Infinity, -Infinity, 2 ** 360, -(2 ** 360), 0, Number.MIN_VALUE),
);
/** Datapoints of one query over 30 periods (deduplicated, oldest first when fed). */
const points = fc.uniqueArray(fc.tuple(fc.nat({ max: 29 }), value), { selector: ([p]) => p, maxLength: 14 });

const input = fc.record({
  fleet: fc.array(metric, { minLength: 1, maxLength: 6 }),
  profile: fc.constantFrom<NamingProfile>('inferwatch', 'yace'),
  maxLabelValueLength: fc.integer({ min: 16, max: 1024 }),
  maxSamples: fc.integer({ min: 1, max: 30 }),
  chunkSize: fc.integer({ min: 1, max: 5 }),
  data: fc.array(points, { minLength: 1, maxLength: 8 }),
});

type Input = typeof input extends fc.Arbitrary<infer I> ? I : never;

interface Sent {
  readonly bodies: Uint8Array[];
  /** What the cursors produced, per series identity, for the completeness check. */
  readonly produced: Map<string, Sample[]>;
  readonly adds: number[];
}

/** Two cycles: [T, T+20m), then [T+10m, T+30m) from the first one's state, as runCycle wires cursor and batcher. */
function run(inp: Input): Sent {
  const catalog = Catalog.withDefaults([], inp.profile, 'neuron_monitor');
  const states = new Map<SeriesKey, SeriesState>();
  const sent: Sent = { bodies: [], produced: new Map(), adds: [] };
  const windows: CursorSettings[] = [
    { periodMs: MIN, readStart: T, end: T + 20 * MIN, nextBase: T + 10 * MIN, writableFrom: -Infinity },
    { periodMs: MIN, readStart: T + 10 * MIN, end: T + 30 * MIN, nextBase: T + 20 * MIN, writableFrom: -Infinity },
  ];
  for (const settings of windows) {
    const plan = new QueryPlan(inp.fleet, catalog, { region: 'us-east-1' }, inp.maxLabelValueLength);
    let q = 0;
    for (const chunk of plan.chunks(inp.chunkSize)) {
      const batcher = new BatchBuilder(inp.maxSamples, 'stream');
      const send = () => {
        for (const batch of batcher.drain()) sent.bodies.push(encodeWriteRequest(batch.series));
      };
      const cursors = chunk.map((query) => new SeriesCursor(states.get(query.key), query.template.kind === 'counter', query.template.constLabels.quantile !== undefined, query.template.scale, settings, emptyStats()));
      const add = (index: number, out: Sample[]) => {
        if (out.length === 0) return;
        const query = chunk[index] as (typeof chunk)[number];
        const identity = JSON.stringify(query.labels.map((l) => [l.name, l.value]));
        sent.produced.set(identity, [...(sent.produced.get(identity) ?? []), ...out]);
        sent.adds.push(out.length);
        batcher.add({ labels: query.labels, kind: query.template.kind, key: query.key }, out, (cursors[index] as SeriesCursor).journalState());
      };
      chunk.forEach((_, index) => {
        const data = inp.data[(q + index) % inp.data.length] ?? [];
        const cursor = cursors[index] as SeriesCursor;
        for (const [period, v] of [...data].sort((a, b) => a[0] - b[0])) {
          const t = T + period * MIN;
          if (t < settings.readStart || t >= settings.end) continue;
          const out: Sample[] = [];
          cursor.push(t, v, out);
          add(index, out);
        }
        send();
      });
      chunk.forEach((query, index) => {
        const out: Sample[] = [];
        (cursors[index] as SeriesCursor).finish(out);
        add(index, out);
        states.set(query.key, (cursors[index] as SeriesCursor).finalState());
      });
      batcher.close();
      send();
      q += chunk.length;
    }
  }
  return sent;
}

describe('encoding properties', () => {
  test('any dimensions, metric names and values: every request decodes to valid remote write, nothing lost or repeated', () => {
    fc.assert(
      fc.property(input, (inp) => {
        const sent = run(inp);
        const validator = new RemoteWriteValidator(inp.maxLabelValueLength);
        const received = new Map<string, Sample[]>();
        const largestAdd = Math.max(0, ...sent.adds);
        for (const body of sent.bodies) {
          const decoded = validator.check(body);
          const samples = decoded.reduce((n, s) => n + s.samples.length, 0);
          // Stream mode never splits one add (a cursor adds at most a 0 baseline and a sample at once).
          expect(samples).toBeLessThanOrEqual(Math.max(inp.maxSamples, largestAdd));
          expect(largestAdd).toBeLessThanOrEqual(2);
          for (const s of decoded) received.set(identityOf(s), [...(received.get(identityOf(s)) ?? []), ...s.samples]);
        }
        expect(received).toEqual(sent.produced);
      }),
      { numRuns: 150 },
    );
  });
});
