import { Catalog } from '../../../lambda/bridge/catalog/catalog';
import { metricClass } from '../../../lambda/bridge/cloudwatch/freshness';
import { METADATA_FAMILIES } from '../../../lambda/bridge/sagemaker/metadata';
import { SELF_METRIC_FAMILIES } from '../../../lambda/bridge/self-metrics';
import { loadPromQlMapping } from '../../../lambda/bridge/sources/promql/mapping';
import { defaultRuleTimings, PROJECT_RULES_FILE, readRuleFile, RuleTimings, rulesOf, selectedNames } from '../../../lib/prometheus-workspace/rule-timings';
import { DEFAULT_SOURCE_TIMINGS, SeriesIndex, slowestTimings, sourceTimings, DEFAULT_WORKLOAD_READS } from '../../../lib/prometheus-workspace/series-sources';

describe('the series a rule reads, and where they come from', () => {
  const index = new SeriesIndex();

  test('the series names of an expression: not functions, label names, matchers, ranges, grouping lists or keywords', () => {
    const expr =
      'histogram_quantile(0.99, sum by (le, endpoint_name) (rate(a_bucket{endpoint_name!="", instance_id=""}[${window}] offset ${offset}))) ' +
      'or on (account_id) group_left () max(last_over_time(b{quantile="0.99"}[15m])) / ignoring(state) c:d:e > bool 1e6 unless absent_over_time(f[1h]) and vector(1)';
    expect(selectedNames(expr).sort()).toEqual(['a_bucket', 'b', 'c:d:e', 'f']);
    expect(selectedNames('max_over_time(timestamp(x{s!="In Service"})[${window}:1m]) >= on (a) group_left () y offset 10m')).toEqual(['x', 'y']);
  });

  test('every catalog series gets the class the bridge reads it at (lambda/bridge/cloudwatch/freshness.ts metricClass)', () => {
    const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'both');
    let checked = 0;
    for (const [namespace, metrics] of catalog.listedMetrics()) {
      for (const metric of metrics) {
        const mapping = catalog.resolve(namespace, metric);
        const cls = metricClass(namespace, mapping);
        for (const series of mapping.series) {
          expect({ series: series.name, sources: [...index.sourcesOf(series.name)] }).toEqual({ series: series.name, sources: expect.arrayContaining([cls]) });
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    // A gauge merely named ..._count is no timing, for the bridge and so here.
    expect([...index.sourcesOf('system_vcpu_count')]).toEqual(['other']);
  });

  test('what the bridge writes every cycle (SageMaker metadata, self-metrics, the PromQL source) and what the collector scrapes are known', () => {
    for (const { family } of [...METADATA_FAMILIES, ...SELF_METRIC_FAMILIES]) expect({ family, sources: [...index.sourcesOf(family)] }).toEqual({ family, sources: ['cycle'] });
    for (const metric of loadPromQlMapping().metrics) expect([...index.sourcesOf(metric.name)]).toEqual(['cycle']);
    expect([...index.sourcesOf('up')]).toEqual(['scrape']);
    expect([...index.sourcesOf('ts_inference_requests_total')]).toEqual(['scrape']);
    expect(index.sourcesOf('nv_inference_count').size).toBe(0);
  });

  test('every project rule with ${window} or ${offset} and every alert has a class, and recorded series are followed to what their rules read', () => {
    const timings = defaultRuleTimings();
    for (const rule of rulesOf(readRuleFile(PROJECT_RULES_FILE))) {
      if (/\$\{(window|offset)\}/.test(String(rule.expr))) expect(() => timings.timingOf(String(rule.expr), String(rule.record))).not.toThrow();
    }
    // The alert reads a recorded series whose rule reads instance metrics (bridge) and neuron-monitor's (collector).
    const neuron = timings.timingOf('instance:neuroncore_utilization_ratio:avg15m > 0.9', 'NeuronCoreSaturated');
    expect([...neuron.sources].sort()).toEqual(['other']);
    const torchserve = timings.timingOf('instance:ts_requests_5xx:ratio_rate5m > 0.05', 'TorchServeHigh5xxRatio');
    expect({ sources: [...torchserve.sources], every: torchserve.everySeconds }).toEqual({ sources: ['scrape'], every: 30 });
  });

  test('a recording rule that reads itself through another adds nothing and does not loop', () => {
    const rules = [
      { record: 'a:x:y', expr: 'b:x:y or rate(aws_sagemaker_invocations_total[${window}])' },
      { record: 'b:x:y', expr: 'a:x:y or aws_sagemaker_model_latency_seconds' },
    ];
    const timing = new RuleTimings(rules, DEFAULT_SOURCE_TIMINGS, index).timingOf('a:x:y > 1', 'Loop');
    expect([...timing.sources].sort()).toEqual(['counters', 'latency']);
    expect(timing.windows).toEqual({ window: '20m', offset: '15m' });
  });

  test('the slowest workload decides each source apart', () => {
    const slowLatency = sourceTimings({ ...DEFAULT_WORKLOAD_READS, readIntervals: { ...DEFAULT_WORKLOAD_READS.readIntervals, latency: 1800 } });
    const slowSchedule = sourceTimings({ ...DEFAULT_WORKLOAD_READS, scheduleSeconds: 900 });
    const slowest = slowestTimings([slowLatency, slowSchedule]);
    expect(slowest.latency).toEqual({ everySeconds: 1800, lagSeconds: 1980 });
    expect(slowest.counters).toEqual({ everySeconds: 900, lagSeconds: 1080 });
    expect(slowestTimings([])).toEqual(DEFAULT_SOURCE_TIMINGS);
  });
});
