import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { accountSeriesLimits, expectedSeries, HEADROOM, SERIES_PER_NEURON_HOST, SERIES_PER_VARIANT, SERIES_PER_VARIANT_BY_LATENCY } from '../../../lib/config/series-limits';
import { Catalog } from '../../../lambda/bridge/catalog/catalog';
import { variantLoad } from '../../../cli/cost';
import { LATENCY_MODES } from '../../../contract/latency';

const REPO = join(__dirname, '..', '..', '..');

describe('series limits per account', () => {
  test('SERIES_PER_VARIANT is what the built-in catalog yields per variant, plus the 5 metadata series', () => {
    const catalog = parseYaml(readFileSync(join(REPO, 'lambda/bridge/catalog/default-catalog.yaml'), 'utf8')) as {
      namespaces: Array<{ namespace: string; metrics: Array<{ type: string; quantiles?: number[]; shape?: string }> }>;
    };
    // A real-time variant: metrics only another endpoint shape publishes are not there.
    const perVariant = catalog.namespaces
      .filter((n) => n.namespace === 'AWS/SageMaker' || n.namespace === '/aws/sagemaker/Endpoints')
      .flatMap((n) => n.metrics)
      .filter((m) => m.shape === undefined)
      .reduce((total, m) => total + (m.type === 'summary' ? (m.quantiles?.length ?? 0) + 2 : 1), 0);
    // aws_sagemaker_endpoint_info, variant_instances{current,desired}, variant_weight{current,desired}
    expect(SERIES_PER_VARIANT_BY_LATENCY.summary).toBe(perVariant + 5);
  });

  test('per latency mode, SERIES_PER_VARIANT is the series the catalog plans for one real-time variant (histogram by default)', () => {
    for (const latency of LATENCY_MODES) {
      expect(SERIES_PER_VARIANT_BY_LATENCY[latency]).toBe(variantLoad(Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', latency), 1).bridgeSeries);
    }
    expect(SERIES_PER_VARIANT).toBe(SERIES_PER_VARIANT_BY_LATENCY.histogram);
    expect(expectedSeries({ variants: 10, neuronHosts: 0, latency: 'summary' })).toBe(27 * 10 + 30);
    expect(expectedSeries({ variants: 10, neuronHosts: 0, latency: 'both' })).toBe(51 * 10 + 30);
  });

  test('SERIES_PER_NEURON_HOST covers the captured exporter output of an inf1.xlarge after the collector drops what tells nothing', () => {
    const relabel = /^(python_gc_.*|python_info|process_.*|.*_created)$/;
    const series = readFileSync(join(REPO, 'test/fixtures/neuron-monitor/exporter-running.prom'), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .filter((line) => !relabel.test(line.replace(/[{ ].*$/, '')));
    expect(series.length).toBeLessThanOrEqual(SERIES_PER_NEURON_HOST);
    expect(series.length).toBeGreaterThan(SERIES_PER_NEURON_HOST - 5);
  });

  test('the limit is HEADROOM × the expected series, summed over an account\'s workloads, an explicit share as is, rounded up to a thousand', () => {
    expect(expectedSeries({ variants: 50, neuronHosts: 0 })).toBe(45 * 50 + 30);
    const limits = accountSeriesLimits([
      { account: '111111111111', fleet: { variants: 50, neuronHosts: 0 } },
      { account: '222222222222', fleet: { variants: 200, neuronHosts: 10 } },
      { account: '222222222222', fleet: { variants: 0, neuronHosts: 0 }, activeSeriesLimit: 5_000 },
      { account: '333333333333', fleet: { variants: 1, neuronHosts: 0 }, activeSeriesLimit: 0 },
    ]);
    expect(HEADROOM).toBe(3);
    expect([...limits]).toEqual([
      ['111111111111', 7_000], // 3 × 2,280 = 6,840
      ['222222222222', 34_000], // 3 × (9,000 + 400 + 30) = 28,290, + 5,000
      ['333333333333', 0], // 0: not enforced, usage still published to CloudWatch
    ]);
  });
});
