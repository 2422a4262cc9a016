import fc from 'fast-check';
import { LabelPool } from '../../../../lambda/bridge/cloudwatch/plan';
import { buildLabels, seriesKey } from '../../../../lambda/bridge/series';

describe('LabelPool', () => {
  test('gives exactly buildLabels and seriesKey: the keys of stored states depend on it', () => {
    const name = fc.oneof(fc.constantFrom('__name__', 'le', 'endpoint_name', 'Z', '_a', 'region'), fc.string({ maxLength: 6 }));
    const labels = fc.dictionary(name, fc.oneof(fc.constant(''), fc.string({ maxLength: 8 }), fc.constantFrom('"', '\\', 'é', '+Inf')), { maxKeys: 8 });
    const pool = new LabelPool();
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 10 }), labels, (metric, set) => {
        const expected = buildLabels(metric, set);
        const got = pool.labelSet(metric, set);
        expect(got.labels).toEqual(expected);
        expect(got.identity).toBe(seriesKey(expected));
      }),
    );
  });

  test('a label is one object however many series carry it', () => {
    const pool = new LabelPool();
    const a = pool.labelSet('m_total', { endpoint_name: 'e1', region: 'us-east-2' });
    const b = pool.labelSet('m_bucket', { endpoint_name: 'e1', region: 'us-east-2', le: '0.5' });
    expect(b.labels.find((l) => l.name === 'endpoint_name')).toBe(a.labels.find((l) => l.name === 'endpoint_name'));
  });
});
