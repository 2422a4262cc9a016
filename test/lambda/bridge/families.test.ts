import { Catalog, loadDefaultCatalog } from '../../../lambda/bridge/catalog/catalog';
import { familyLookup } from '../../../lambda/bridge/families';
import { buildSelfMetrics } from '../../../lambda/bridge/self-metrics';

test('every series the bridge writes about itself has a family with HELP', () => {
  const { series } = buildSelfMetrics(
    {
      timestamp: 0,
      baseLabels: { region: 'us-east-1' },
      collectSeconds: 1,
      lastWriteSeconds: 1,
      lagSeconds: 1,
      seriesActive: 1,
      queries: 1,
      increments: [
        { name: 'inferwatch_bridge_cloudwatch_requests_total', labels: { api: 'GetMetricData' }, by: 1 },
        { name: 'inferwatch_bridge_sagemaker_requests_total', labels: { api: 'ListEndpoints' }, by: 1 },
      ],
    },
    {},
  );
  const lookup = familyLookup(new Catalog(loadDefaultCatalog()));
  const undescribed = series.map((s) => s.labels[0]?.value ?? '').filter((name) => lookup(name)?.help === undefined);
  expect(undescribed).toEqual([]);
  expect(lookup('aws_sagemaker_variant_instances')?.type).toBe('gauge');
});
