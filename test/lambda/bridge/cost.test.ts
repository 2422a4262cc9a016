import { Catalog, loadDefaultCatalog } from '../../../lambda/bridge/catalog/catalog';
import { estimateCost, formatCost, PRICES, variantLoad } from '../../../lambda/bridge/cost';

describe('cost estimate', () => {
  const catalog = new Catalog(loadDefaultCatalog());

  test('one real-time variant: 22 GetMetricData queries (5 counters, 2 summaries of 5 statistics, 7 gauges), 16 stream updates a minute, 27 series', () => {
    // Metrics only asynchronous, serverless, multi-model or inference-component endpoints publish are left out.
    expect(variantLoad(catalog, 1)).toEqual({ queries: 22, streamUpdatesPerMinute: 16, bridgeSeries: 27 });
  });

  test('100 variants and 10 Neuron hosts for a 30-day month at the table prices', () => {
    const lines = estimateCost({ ...variantLoad(catalog, 100), hostSeries: 400, hostScrapeSeconds: 30 }, 5, 60);
    const metricsRequested = 2200 * (43200 / 5);
    const samples = 2700 * 43200 + 400 * 86400;
    expect(lines.map((l) => [l.approach, l.cloudwatchUsd, l.ampUsd])).toEqual([
      ['inferwatch bridge, every 5 min', (metricsRequested / 1000) * PRICES.getMetricDataPer1000Metrics, (samples / 1e7) * PRICES.ampPer10MillionSamples],
      ['YACE-style scrape every 60 s', ((2200 * 43200) / 1000) * PRICES.getMetricDataPer1000Metrics, (samples / 1e7) * PRICES.ampPer10MillionSamples],
      ['CloudWatch Metric Streams (+ Firehose, not priced)', ((1600 * 43200) / 1000) * PRICES.metricStreamsPer1000Updates, (samples / 1e7) * PRICES.ampPer10MillionSamples],
    ]);
    expect(lines[0]?.cloudwatchUsd).toBeCloseTo(190.08, 2);
    expect(formatCost(lines)).toContain('3100 active series');
    expect(formatCost(lines)).toContain(PRICES.source);
  });
});
