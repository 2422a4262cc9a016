import { Catalog, loadDefaultCatalog } from '../../../lambda/bridge/catalog/catalog';
import { familyLookup } from '../../../lambda/bridge/families';
import { METADATA_FAMILIES, metadataSeries } from '../../../lambda/bridge/sagemaker/metadata';
import { buildSelfMetrics } from '../../../lambda/bridge/self-metrics';
import type { SageMakerCache } from '../../../lambda/bridge/sagemaker/cache';

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

test('every endpoint metadata series has a gauge family with HELP, endpoints with and without variants', () => {
  const cache: SageMakerCache = {
    endpoints: {
      a: { modified: 1, described: 1, status: 'InService', config: 'a-config', variants: [['blue', 2, 2, 1, 1, 0]] },
      creating: { modified: 1, described: 1, status: 'Creating', config: '', variants: [] },
    },
    configs: { 'a-config': { blue: ['ml.inf1.xlarge', 'm'] } },
    components: { chat: { endpoint: 'a', variant: 'blue', arn: 'arn:aws:sagemaker:us-east-2:123456789012:inference-component/chat', modified: 1, described: 1, status: 'InService', desired: 2, current: 1 } },
  };
  const names = new Set([...metadataSeries(cache, { timestamp: 0, baseLabels: {}, maxLabelValueLength: 1024 })].map((s) => s.labels[0]?.value ?? ''));
  const lookup = familyLookup(new Catalog(loadDefaultCatalog()));
  expect([...names].sort()).toEqual(METADATA_FAMILIES.map((f) => f.family).sort());
  for (const name of names) expect(lookup(name)).toEqual(expect.objectContaining({ family: name, type: 'gauge', help: expect.stringMatching(/SageMaker/) }));
});
