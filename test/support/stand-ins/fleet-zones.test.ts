import { buildMetrics, FLEET_REGION, identity, zoneShare, type Dimension, type MetricDef } from './fleet';

const ZONES = ['us-east-2a', 'us-east-2b', 'us-east-2c'];
const metrics = buildMetrics({
  endpoints: [{ name: 'chat', streaming: true, zones: ZONES, variants: [{ name: 'blue', instanceType: 'ml.g5.12xlarge', instances: 5, weight: 1 }] }],
  neuronHosts: [],
  neuronNamespace: 'neuron_monitor',
});
const variant: Dimension[] = [
  { Name: 'EndpointName', Value: 'chat' },
  { Name: 'VariantName', Value: 'blue' },
];
const zone = (z: string): Dimension[] => [...variant, { Name: 'Region', Value: FLEET_REGION }, { Name: 'AvailabilityZone', Value: z }, { Name: 'InstanceType', Value: 'ml.g5.12xlarge' }];
const find = (metricName: string, dimensions: Dimension[]): MetricDef | undefined => metrics.find((m) => identity(m.namespace, m.metricName, m.dimensions) === identity('AWS/SageMaker', metricName, dimensions));
const periods = Array.from({ length: 12 }, (_, i) => 1_700_000_040 + i * 60);

describe('the stand-in fleet: every dimension set SageMaker publishes, consistent', () => {
  test('zoneShare splits a count so the zones add up to it exactly', () => {
    for (const total of [0, 1, 4, 5, 6, 99, 100]) {
      for (const instances of [1, 2, 5]) {
        const shares = ZONES.map((_, z) => zoneShare(total, instances, ZONES.length, z));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
      }
    }
    // Two instances in three zones: the third zone serves nothing.
    expect(zoneShare(10, 2, 3, 2)).toBe(0);
  });

  test.each(['Invocations', 'Invocation4XXErrors', 'ModelLatency', 'OverheadLatency', 'FirstChunkLatency', 'FirstChunkModelLatency', 'FirstChunkOverheadLatency'])(
    '%s: Sum and SampleCount of the zones add up to the per-variant datapoint, period by period',
    (metricName) => {
      const perVariant = find(metricName, variant);
      const perZone = ZONES.map((z) => find(metricName, zone(z)));
      expect(perVariant).toBeDefined();
      expect(perZone.every((m) => m !== undefined)).toBe(true);
      for (const t of periods) {
        for (const stat of metricName.startsWith('Invocation') ? ['Sum'] : ['Sum', 'SampleCount']) {
          const parts = perZone.map((m) => m?.value(stat, t) ?? 0);
          expect(parts.reduce((a, b) => a + b, 0)).toBeCloseTo(perVariant?.value(stat, t) ?? NaN, 6);
        }
      }
    },
  );

  test('the time to the first chunk is the model share plus the SageMaker share, request by request', () => {
    const t = periods[3] as number;
    const [total, model, overhead] = ['FirstChunkLatency', 'FirstChunkModelLatency', 'FirstChunkOverheadLatency'].map((m) => find(m, variant)?.raw?.(t) ?? new Float64Array());
    expect(total?.length).toBeGreaterThan(0);
    expect(Array.from(total ?? []).every((v, i) => Math.abs(v - ((model?.[i] ?? NaN) + (overhead?.[i] ?? NaN))) < 1e-6)).toBe(true);
    // In microseconds, as AWS publishes them: the model's share is hundreds of milliseconds.
    expect(find('FirstChunkModelLatency', variant)?.value('p50', t)).toBeGreaterThan(50_000);
  });

  test('MidStreamErrors has the per-variant set only, as the mapping page lists it', () => {
    expect(metrics.filter((m) => m.metricName === 'MidStreamErrors').map((m) => m.dimensions)).toEqual([variant]);
  });
});
