import fc from 'fast-check';
import { CatalogNamespaceSchema } from '../../../../contract/catalog-schema';
import { LATENCY_MODES } from '../../../../contract/latency';
import { Catalog, type NamingProfile } from '../../../../lambda/bridge/catalog/catalog';
import type { DiscoveredMetric } from '../../../../lambda/bridge/cloudwatch/discovery';
import { billedMetrics, MAX_QUERIES_PER_CALL, metricIdentity, QueryPlan, type PlannedQuery } from '../../../../lambda/bridge/cloudwatch/plan';

/**
 * A user namespace with shapes the default catalog lacks: a 30-bucket histogram (32 statistics, 35 with quantiles),
 * and unlisted metrics read with seven default statistics (seven families in the yace or generic names).
 */
const WIDE = CatalogNamespaceSchema.parse({
  namespace: 'Custom/Wide',
  defaultStatistics: ['Average', 'Minimum', 'Maximum', 'Sum', 'SampleCount', 'p50', 'p99'],
  metrics: [
    {
      metric: 'StepLatency',
      type: 'summary',
      name: 'custom_step_latency_seconds',
      histogram: true,
      buckets: Array.from({ length: 30 }, (_, i) => 0.001 * 2 ** i),
    },
  ],
});

/** Every metric a catalog lists, in every namespace (endpoint shapes included), plus two the catalog does not list. */
function everyMetric(catalog: Catalog, dimensionSets: number): DiscoveredMetric[] {
  const names: Array<[string, string]> = catalog.listedMetrics().flatMap(([namespace, metrics]) => metrics.map((m): [string, string] => [namespace, m]));
  names.push(['Custom/Wide', 'QueueDepth'], ['AWS/SageMaker', 'SomethingNew']);
  return names.flatMap(([namespace, metricName]) =>
    Array.from({ length: dimensionSets }, (_, i) => ({
      namespace,
      metricName,
      // Dimensions in either order: CloudWatch tells metrics apart by the set, not the order.
      dimensions: i % 2 ? [{ Name: 'VariantName', Value: 'AllTraffic' }, { Name: 'EndpointName', Value: `e${i}` }] : [{ Name: 'EndpointName', Value: `e${i}` }, { Name: 'VariantName', Value: 'AllTraffic' }],
    })),
  );
}

interface Shape {
  readonly profile: NamingProfile;
  readonly latency: (typeof LATENCY_MODES)[number];
  readonly period: number;
  readonly highResolution: boolean;
}

const SHAPES: Shape[] = (['inferwatch', 'yace'] as const).flatMap((profile) =>
  LATENCY_MODES.flatMap((latency) =>
    [
      { period: 60, highResolution: false },
      { period: 60, highResolution: true },
      { period: 120, highResolution: true },
    ].map((p) => ({ profile, latency, ...p })),
  ),
);

const describeShape = (s: Shape) => `${s.profile} ${s.latency} period ${s.period}${s.highResolution ? ' high-resolution' : ''}`;

/** Checks the billing invariants of one plan's chunks; returns them for further checks. */
function checkChunks(plan: QueryPlan, size: number): PlannedQuery[][] {
  const chunks = [...plan.chunks(size)];
  const chunkOf = new Map<string, number>();
  const statsOf = new Map<string, string[]>();
  const faults: string[] = [];
  for (const [n, chunk] of chunks.entries()) {
    if (chunk.length === 0 || chunk.length > size) faults.push(`call ${n} holds ${chunk.length} queries`);
    if (new Set(chunk.map((q) => q.periodSeconds)).size !== 1) faults.push(`call ${n} mixes periods`);
    for (const query of chunk) {
      const id = metricIdentity(query.metric);
      if ((chunkOf.get(id) ?? n) !== n) faults.push(`${id} ${query.template.stat} in calls ${chunkOf.get(id)} and ${n}`);
      chunkOf.set(id, n);
      statsOf.set(id, [...(statsOf.get(id) ?? []), query.template.stat]);
    }
  }
  for (const [id, stats] of statsOf) if (new Set(stats).size !== stats.length) faults.push(`${id} requests a statistic twice: ${stats.join(',')}`);
  // A metric's statistics are never split across calls, and each is requested once.
  expect(faults.slice(0, 5)).toEqual([]);
  const billed = chunks.map(billedMetrics);
  expect(billed.reduce((n, b) => n + b.perStatistic, 0)).toBe(plan.size);
  expect(billed.reduce((n, b) => n + b.perMetricFiveStats, 0)).toBe(plan.billedFiveStats);
  expect(plan.billedFiveStats).toBe([...statsOf.values()].reduce((n, stats) => n + Math.ceil(stats.length / 5), 0));
  return chunks;
}

/** In family order (next-fit), calls closed early are closed because the next metric's statistics did not fit. */
function checkFewestCalls(chunks: readonly PlannedQuery[][], size: number, statisticsOf: (q: PlannedQuery) => number): void {
  const early: string[] = [];
  for (const [n, chunk] of chunks.entries()) {
    const next = chunks[n + 1]?.[0];
    if (next === undefined || next.periodSeconds !== chunk[0]?.periodSeconds) continue;
    if (chunk.length + statisticsOf(next) <= size) early.push(`call ${n} closed at ${chunk.length} queries`);
  }
  expect(early).toEqual([]);
}

describe('QueryPlan: every statistic of a metric in one GetMetricData call', () => {
  test.each(SHAPES.map((s) => [describeShape(s), s] as const))('%s: every chunk at every call size', (_, shape) => {
    const catalog = Catalog.withDefaults([WIDE], shape.profile, 'neuron_monitor', shape.latency);
    for (const dimensionSets of [1, 40]) {
      const metrics = everyMetric(catalog, dimensionSets);
      // A plan marks the series it hands out: one plan per read of its chunks.
      const planOf = (familiesTogether = false) => new QueryPlan(metrics, catalog, { region: 'us-east-1' }, 1024, { period: shape.period, highResolution: shape.highResolution, familiesTogether });
      const statistics = new Map<string, number>();
      for (const query of [...planOf().chunks()].flat()) statistics.set(metricIdentity(query.metric), (statistics.get(metricIdentity(query.metric)) ?? 0) + 1);
      for (const size of [MAX_QUERIES_PER_CALL, 35, 64]) {
        const inFamilyOrder = checkChunks(planOf(true), size);
        checkFewestCalls(inFamilyOrder, size, (q) => statistics.get(metricIdentity(q.metric)) ?? 0);
        expect(checkChunks(planOf(), size).length).toBeLessThanOrEqual(inFamilyOrder.length);
      }
    }
  });

  test('the default catalog (histograms) at fleet sizes around every call boundary: calls are ceil(queries/500), where next-fit needed more', () => {
    const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
    const realTime = catalog.listedMetrics(true).filter(([ns]) => ns === 'AWS/SageMaker' || ns === '/aws/sagemaker/Endpoints');
    const fleet = (variants: number): DiscoveredMetric[] =>
      Array.from({ length: variants }, (_, i) => realTime.flatMap(([namespace, names]) => names.map((metricName) => ({ namespace, metricName, dimensions: [{ Name: 'EndpointName', Value: `e${i}` }, { Name: 'VariantName', Value: 'AllTraffic' }] })))).flat();
    let nextFitExtra = 0;
    for (const variants of [...Array.from({ length: 60 }, (_, i) => i + 1), 500, 1000, 2500]) {
      const plan = new QueryPlan(fleet(variants), catalog, {}, 1024);
      expect(checkChunks(plan, MAX_QUERIES_PER_CALL).length).toBe(Math.ceil(plan.size / MAX_QUERIES_PER_CALL));
      const inFamilyOrder = new QueryPlan(fleet(variants), catalog, {}, 1024, { period: 60, highResolution: false, familiesTogether: true });
      nextFitExtra += checkChunks(inFamilyOrder, MAX_QUERIES_PER_CALL).length - Math.ceil(plan.size / MAX_QUERIES_PER_CALL);
    }
    // The case the packing is for: next-fit closes calls a metric's statistics short of 500.
    expect(nextFitExtra).toBeGreaterThan(0);
  });

  test('the default catalog in family order (a dry run): each Prometheus family in one run across every call, as the exposition needs', () => {
    const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'histogram');
    const plan = new QueryPlan(everyMetric(catalog, 90), catalog, {}, 1024, { period: 60, highResolution: false, familiesTogether: true });
    const families = [...plan.chunks()].flat().map((q) => catalog.familyOf(q.labels[0]?.value ?? '')?.family);
    const runs = families.filter((f, i) => f !== families[i - 1]);
    expect(runs.length).toBe(new Set(runs).size);
  });

  test('random fleets and call sizes', () => {
    const catalog = Catalog.withDefaults([WIDE], 'inferwatch', 'neuron_monitor', 'both');
    const names = catalog.listedMetrics().flatMap(([namespace, metrics]) => metrics.map((metricName) => ({ namespace, metricName })));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(names.length - 1), fc.nat(40)), { minLength: 1, maxLength: 200 }), fc.integer({ min: 35, max: 600 }), (picks, size) => {
        const seen = new Set<string>();
        const metrics = picks
          .map(([n, e]) => ({ ...(names[n] as { namespace: string; metricName: string }), dimensions: [{ Name: 'EndpointName', Value: `e${e}` }] }))
          .filter((m) => !seen.has(metricIdentity(m)) && Boolean(seen.add(metricIdentity(m))));
        checkChunks(new QueryPlan(metrics, catalog, {}, 1024, { period: 60, highResolution: true }), size);
      }),
      { numRuns: 60 },
    );
  });

  test('only a call smaller than a metric\'s statistics splits it, into calls of its own', () => {
    const catalog = Catalog.withDefaults([WIDE], 'inferwatch', 'neuron_monitor', 'both');
    const metrics: DiscoveredMetric[] = [
      { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: [] },
      { namespace: 'Custom/Wide', metricName: 'StepLatency', dimensions: [{ Name: 'EndpointName', Value: 'a' }] },
      { namespace: 'Custom/Wide', metricName: 'StepLatency', dimensions: [{ Name: 'EndpointName', Value: 'b' }] },
    ];
    const chunks = [...new QueryPlan(metrics, catalog, {}, 1024).chunks(34)];
    expect(chunks.map((c) => [c.length, new Set(c.map((q) => metricIdentity(q.metric))).size])).toEqual([
      [1, 1],
      [34, 1],
      [1, 1],
      [34, 1],
      [1, 1],
    ]);
  });
});

describe('billedMetrics: both readings of "up to five statistics for the same metric in a single request"', () => {
  const metric = (endpoint: string, dimensions = [{ Name: 'EndpointName', Value: endpoint }]): Pick<PlannedQuery, 'metric'> => ({ metric: { namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions } });

  test('13 statistics of one metric: 13 per statistic, 3 per metric (5 + 5 + 3)', () => {
    expect(billedMetrics(Array.from({ length: 13 }, () => metric('a')))).toEqual({ perStatistic: 13, perMetricFiveStats: 3 });
  });

  test('five statistics are one metric; the sixth is another; other dimensions are other metrics', () => {
    expect(billedMetrics(Array.from({ length: 5 }, () => metric('a')))).toEqual({ perStatistic: 5, perMetricFiveStats: 1 });
    expect(billedMetrics(Array.from({ length: 6 }, () => metric('a')))).toEqual({ perStatistic: 6, perMetricFiveStats: 2 });
    expect(billedMetrics([metric('a'), metric('b'), metric('a')])).toEqual({ perStatistic: 3, perMetricFiveStats: 2 });
  });

  test('dimension order does not make another metric', () => {
    const ab = [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }];
    expect(billedMetrics([metric('', ab), metric('', [...ab].reverse())])).toEqual({ perStatistic: 2, perMetricFiveStats: 1 });
  });
});
