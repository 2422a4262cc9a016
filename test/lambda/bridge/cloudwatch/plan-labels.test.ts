import fc from 'fast-check';
import { LabelPool } from '../../../../lambda/bridge/cloudwatch/plan';
import { buildLabels, seriesKey } from '../../../../lambda/bridge/series';

describe('LabelPool', () => {
  test('a series from its template and metric halves is exactly buildLabels and seriesKey of the three spread together: stored states are keyed by it', () => {
    const name = fc.oneof(fc.constantFrom('__name__', 'le', 'endpoint_name', 'Z', '_a', 'region', 'account_id', 'constructor'), fc.string({ maxLength: 6 }));
    const labels = fc.dictionary(name, fc.oneof(fc.constant(''), fc.string({ maxLength: 8 }), fc.constantFrom('"', '\\', 'é', '+Inf')), { maxKeys: 6 });
    const pool = new LabelPool();
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 10 }), labels, labels, labels, (metric, dimensions, constLabels, base) => {
        const expected = buildLabels(metric, { ...dimensions, ...constLabels, ...base });
        const got = pool.series(pool.templateLabels(metric, constLabels), pool.metricLabels(dimensions, base));
        expect(got.labels).toEqual(expected);
        expect(got.identity).toBe(seriesKey(expected));
      }),
      { numRuns: 2000 },
    );
  });

  test('a label is one object however many series carry it', () => {
    const pool = new LabelPool();
    const variant = pool.metricLabels({ endpoint_name: 'e1' }, { region: 'us-east-2' });
    const a = pool.series(pool.templateLabels('m_total', {}), variant);
    const b = pool.series(pool.templateLabels('m_bucket', { le: '0.5' }), pool.metricLabels({ endpoint_name: 'e1' }, { region: 'us-east-2' }));
    expect(b.labels.find((l) => l.name === 'endpoint_name')).toBe(a.labels.find((l) => l.name === 'endpoint_name'));
  });
});
