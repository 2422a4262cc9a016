import { Catalog, loadDefaultCatalog } from '../../lambda/bridge/catalog/catalog';
import { estimateCost, formatCost, formatLatencyModeCosts, formatPromQlCost, highResolutionExtraSamples, latencyModeCosts, PRICES, promQlCost, variantLoad } from '../../cli/cost';
import { loadPromQlMapping } from '../../lambda/bridge/sources/promql/mapping';

describe('cost estimate', () => {
  const catalog = new Catalog(loadDefaultCatalog(), 'inferwatch', 'neuron_monitor', 'summary');

  test('one real-time variant: 22 GetMetricData queries (5 counters, 2 summaries of 5 statistics, 7 gauges), 16 stream updates a minute, 27 series', () => {
    // Metrics only asynchronous, serverless, multi-model or inference-component endpoints publish are left out.
    // Under the five-statistics reading a summary's 5 statistics are one metric: 5 + 2 + 7 = 14.
    expect(variantLoad(catalog, 1)).toEqual({ queries: 22, queriesFiveStats: 14, streamUpdatesPerMinute: 16, bridgeSeries: 27 });
  });

  test('highResolution: ConcurrentRequestsPerModel at 10 s adds 5 samples a minute per variant, $0.0194 a variant-month in AMP, nothing in CloudWatch', () => {
    expect(highResolutionExtraSamples(catalog, 1, { period: 60, highResolution: false })).toBe(0);
    expect(highResolutionExtraSamples(catalog, 100, { period: 60, highResolution: true })).toBe(500);
    expect(highResolutionExtraSamples(catalog, 1, { period: 120, highResolution: true })).toBe(11);
    const load = { ...variantLoad(catalog, 1), hostSeries: 0, hostScrapeSeconds: 30 };
    const [low, high] = [estimateCost(load, 5, 60), estimateCost({ ...load, bridgeSamplesPerPeriod: load.bridgeSeries + 5 }, 5, 60)];
    expect(high[0]?.cloudwatchUsd).toBe(low[0]?.cloudwatchUsd);
    // 5 more samples a minute, 43,200 minutes: 216,000 samples at $0.90 per 10 million.
    expect((high[0]?.ampUsd ?? 0) - (low[0]?.ampUsd ?? 0)).toBeCloseTo(0.01944, 5);
    // A 60 s scrape and a metric stream deliver one value a minute whatever the resolution: their lines do not change.
    expect(high.slice(2)).toEqual(low.slice(2));
  });

  test('histogram latency: 2 latencies of 11 TC + SampleCount + Sum = 13 queries each (the +Inf bucket shares SampleCount), 14 series each', () => {
    const histograms = new Catalog(loadDefaultCatalog());
    // 22 - 2 x 5 summary statistics + 2 x 13; series 27 - 2 x 5 + 2 x 14; the stream sends 11 TC as 3 extra updates.
    // Five statistics a billed metric: 13 statistics are 3 (5 + 5 + 3), 16 ('both') are 4: 5 + 2 x 3 + 7 = 18, 5 + 2 x 4 + 7 = 20.
    expect(variantLoad(histograms, 1)).toEqual({ queries: 38, queriesFiveStats: 18, streamUpdatesPerMinute: 20, bridgeSeries: 45 });
    expect(variantLoad(new Catalog(loadDefaultCatalog(), 'inferwatch', 'neuron_monitor', 'both'), 1)).toEqual({ queries: 44, queriesFiveStats: 20, streamUpdatesPerMinute: 20, bridgeSeries: 51 });
    const costs = latencyModeCosts((mode) => new Catalog(loadDefaultCatalog(), 'inferwatch', 'neuron_monitor', mode), 5, 60);
    // Every 5 minutes: 8,640 reads a month at $0.01 per 1,000 metrics; 43,200 samples a series at $0.90 per 10 million.
    const cents = (n: number) => Math.round(n * 1e6) / 1e6;
    expect(costs.map((c) => [c.mode, c.queries, c.series, cents(c.cloudwatchUsd), cents(c.cloudwatchUsdFiveStats), cents(c.ampUsd)])).toEqual([
      ['summary', 22, 27, cents((22 * 8640 * 0.01) / 1000), cents((14 * 8640 * 0.01) / 1000), cents((27 * 43200 * 0.9) / 1e7)],
      ['histogram', 38, 45, cents((38 * 8640 * 0.01) / 1000), cents((18 * 8640 * 0.01) / 1000), cents((45 * 43200 * 0.9) / 1e7)],
      ['both', 44, 51, cents((44 * 8640 * 0.01) / 1000), cents((20 * 8640 * 0.01) / 1000), cents((51 * 43200 * 0.9) / 1e7)],
    ]);
    expect(formatLatencyModeCosts(costs, 'histogram')).toMatch(/^histogram \(configured\) +38 +18 +45 +\$3\.283 +\$1\.555 +\$0\.175 +\$3\.458 \/ \$1\.730$/m);
  });

  test('100 variants and 10 Neuron hosts for a 30-day month at the table prices', () => {
    const lines = estimateCost({ ...variantLoad(catalog, 100), hostSeries: 400, hostScrapeSeconds: 30 }, 5, 60);
    const metricsRequested = 2200 * (43200 / 5);
    const samples = 2700 * 43200 + 400 * 86400;
    expect(lines.map((l) => [l.approach, l.cloudwatchUsd, l.ampUsd])).toEqual([
      ['inferwatch bridge, every 5 min', (metricsRequested / 1000) * PRICES.getMetricDataPer1000Metrics, (samples / 1e7) * PRICES.ampPer10MillionSamples],
      ['inferwatch bridge, every 5 min', ((1400 * 43200) / 5 / 1000) * PRICES.getMetricDataPer1000Metrics, (samples / 1e7) * PRICES.ampPer10MillionSamples],
      ['YACE-style scrape every 60 s', ((2200 * 43200) / 1000) * PRICES.getMetricDataPer1000Metrics, (samples / 1e7) * PRICES.ampPer10MillionSamples],
      ['CloudWatch Metric Streams (+ Firehose, not priced)', ((1600 * 43200) / 1000) * PRICES.metricStreamsPer1000Updates, (samples / 1e7) * PRICES.ampPer10MillionSamples],
    ]);
    expect(lines[0]?.cloudwatchUsd).toBeCloseTo(190.08, 2);
    expect(formatCost(lines)).toContain('3100 active series');
    expect(formatCost(lines)).toMatch(/^inferwatch bridge, every 5 min +19\.01 million metrics requested \(GetMetricData, billed per statistic\) +\$190\.08 /m);
    expect(formatCost(lines)).toMatch(/^inferwatch bridge, every 5 min +12\.10 million metrics requested \(GetMetricData, billed per metric, up to 5 statistics\) +\$120\.96 /m);
    expect(formatCost(lines)).toContain(PRICES.source);
  });
});

describe('the PromQL source in the estimate', () => {
  test('per vLLM instance: 5 counters and gauges, TTFT 19 buckets + +Inf, _sum, _count, inter-token 17 + 3: 47 series; 4 per GPU; CloudWatch $0 (preview), stated', () => {
    const cost = promQlCost(loadPromQlMapping(), 60);
    expect(cost).toMatchObject({ seriesPerEngine: 47, seriesPerGpu: 4 });
    expect(cost.ampUsdPerEngine).toBeCloseTo(((47 * 43_200) / 1e7) * PRICES.ampPer10MillionSamples, 10);
    const text = formatPromQlCost(cost, 60);
    expect(text).toContain('CloudWatch: $0.00. Its PromQL queries are in public preview and free of charge');
    expect(text).toContain(`AMP: 47 series per vLLM instance ($${cost.ampUsdPerEngine.toFixed(2)}) and 4 per GPU`);
  });
});
