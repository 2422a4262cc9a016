import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { formatLe } from '../../lambda/bridge/catalog/catalog';
import { leBounds } from '../../lambda/bridge/sources/promql/histogram';
import { loadPromQlMapping } from '../../lambda/bridge/sources/promql/mapping';
import { DEFAULT_RULE_FILES } from '../../lib/prometheus-workspace';
import { bridgeWindows, fillBridgeWindows, renderAlertGroups } from '../../lib/prometheus-workspace/alert-rules';
import { promqlSourceWrites } from '../../demo/demo-charts';
import { answerKey, compareAnswers, histogramQuantile, periodsIn, type Answers } from '../../demo/demo-queries';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { CloudWatchPromQlStandIn, reduceScale, type ExponentialHistogram } from '../support/stand-ins/cloudwatch-promql-stand-in';
import { classicBuckets, defaultLlmFleet, instancePeriod, LlmFleetFeed, pooled, quantileBucket, type InstancePeriod, type LlmInstance } from '../support/stand-ins/llm-fleet';

const MINUTE = 60_000;
const ACCOUNT = '123456789012';
const REGION = 'us-east-2';
const SETTLE = 2 * MINUTE;

/** The `le` bounds the PromQL source writes for a histogram family, ascending (its mapping's buckets). */
function sourceLes(family: string): number[] {
  const metric = loadPromQlMapping().metrics.find((m) => m.name === family && m.type === 'histogram');
  if (!metric?.buckets) throw new Error(`the PromQL mapping writes no histogram ${family}`);
  return leBounds(metric.buckets, metric.scale);
}

/** CloudWatch's served scale: the finest the PromQL stand-in serves (its histogramMaxScale). */
const SERVED_SCALE = new CloudWatchPromQlStandIn().histogramMaxScale;

/**
 * The selectors a rule expression reads: `name{matchers}`, and bare names of recording rules (with colons) or of the
 * PromQL source's series (`sagemaker_`), which keeps function names and `by (...)` labels out.
 */
function selectorsOf(expr: string): Array<{ name: string; matchers: Array<{ label: string; op: string; value: string }>; text: string }> {
  return [...expr.matchAll(/(?<![a-zA-Z0-9_:"])([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?/g)]
    .filter((m) => m[2] !== undefined || (m[1] as string).includes(':') || (m[1] as string).startsWith('sagemaker_'))
    .map((m) => ({
      name: m[1] as string,
      text: m[0],
      matchers: [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => ({ label: x[1] as string, op: x[2] as string, value: x[3] as string })),
    }));
}
function matches(labels: Readonly<Record<string, string>>, m: { label: string; op: string; value: string }): boolean {
  const value = labels[m.label] ?? '';
  const hit = m.op.includes('~') ? new RegExp(`^(?:${m.value})$`).test(value) : value === m.value;
  return m.op.startsWith('!') ? !hit : hit;
}

/**
 * The LLM serving recording rules on what the bridge really writes: the vLLM fleet served by the CloudWatch PromQL
 * stand-in, read by the bridge's PromQL source, written to a real Prometheus, each rule's expression evaluated there
 * and compared with the fleet's own numbers (gauges exactly; rates within 5%, since rate() extrapolates to its
 * window's edges). Quantiles are compared twice: exactly with histogram_quantile over the fleet's observations counted
 * at the `le` bounds the source writes (powers of two), and against the fleet's own quantile, which must lie in the
 * power-of-two bucket the answer lands in.
 */
describe('LLM serving rules on bridge data in a real Prometheus', () => {
  const aws = new AwsStandIn({ endpoints: [], neuronHosts: [], neuronNamespace: 'neuron_monitor' });
  const promql = new CloudWatchPromQlStandIn(REGION);
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-llm-rules-'));
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
  const fleet = defaultLlmFleet({ endpoint: 'llm-chat', start: t0 - 40 * MINUTE, end: t0 + 30 * MINUTE });
  /** The bridge's second cycle runs here; rules are evaluated as Prometheus would then. */
  const at = t0 + 5 * MINUTE;
  /** The newest period the second cycle forwarded. */
  const lastPeriod = Math.floor((at - SETTLE) / MINUTE) * MINUTE - MINUTE;
  /** Gauge periods and counter samples a 15m window reaching `at` holds: [at - 15m, lastPeriod] (Prometheus 2's ranges include their start). */
  const windowPeriods = Array.from({ length: 16 }, (_, i) => at - 15 * MINUTE + i * MINUTE).filter((p) => p <= lastPeriod);
  const written = promqlSourceWrites();

  beforeAll(async () => {
    await Promise.all([aws.start(), promql.start(), prometheus.start()]);
    new LlmFleetFeed(fleet, promql.series, t0 - 3 * 60 * MINUTE).fill(at + 10 * MINUTE);
    const config = join(work, 'inferwatch.yaml');
    writeFileSync(config, `accountId: "${ACCOUNT}"\nsagemakerMetadata: false\ninitialLookback: 45m\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\npromql:\n  enabled: true\n  endpoint: ${promql.url}\n`);
    for (const now of [t0, at]) {
      const run = await runBridge(['--once', '--config', config, '--state-dir', join(work, 'state'), '--now', String(now)], { ...aws.env(), AWS_REGION: REGION });
      if (run.code !== 0) throw new Error(run.stderr);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([prometheus.stop(), promql.stop(), aws.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  const components = () => [...new Set(fleet.instances.map((i) => `${i.endpoint}/${i.component ?? ''}`))].map((key) => fleet.instances.filter((i) => `${i.endpoint}/${i.component ?? ''}` === key));
  const keyOf = (i: LlmInstance, extra: Record<string, string> = {}) => answerKey({ endpoint_name: i.endpoint, ...(i.component === undefined ? {} : { inference_component_name: i.component }), ...extra });
  const truth = (period: number, instance: LlmInstance) => instancePeriod(fleet, instance, period);

  /** The histograms a rate() over the rules' 15m window reaching `at` adds up: the periods after its first sample. */
  const rated = (instances: readonly LlmInstance[], field: 'ttft' | 'itl'): ExponentialHistogram =>
    pooled(instances.flatMap((i) => windowPeriods.slice(1).flatMap((p) => (truth(p, i)[field] as InstancePeriod['ttft']).map(([, h]) => h))));
  const QUANTILES = ['0.5', '0.99'];
  /** Instances by endpoint, or by endpoint and component, with the answer key of their group. */
  const groupsOf = (level: 'endpoint' | 'inference_component') =>
    level === 'endpoint'
      ? [...new Set(fleet.instances.map((i) => i.endpoint))].map((e) => ({ instances: fleet.instances.filter((i) => i.endpoint === e), key: (extra: Record<string, string>) => answerKey({ endpoint_name: e, ...extra }) }))
      : components().map((instances) => ({ instances, key: (extra: Record<string, string>) => keyOf(instances[0] as LlmInstance, extra) }));
  /** histogram_quantile over the fleet's observations counted at the source's `le` bounds: what the rule must answer. */
  const quantileTruth = (level: 'endpoint' | 'inference_component', family: string, field: 'ttft' | 'itl') => (): Answers =>
    new Map(
      groupsOf(level).flatMap(({ instances, key }) => {
        const buckets = classicBuckets(rated(instances, field), sourceLes(family));
        return QUANTILES.map((q): [string, number] => [key({ quantile: q }), histogramQuantile(Number(q), buckets)]);
      }),
    );
  const QUANTILE_RULES = (['endpoint', 'inference_component'] as const).flatMap((level) =>
    ([['sagemaker_llm_time_to_first_token_seconds', 'ttft'], ['sagemaker_llm_inter_token_latency_seconds', 'itl']] as const).map(([family, field]) => ({ record: `${level}:${family}:quantile15m`, level, family, field })),
  );

  /** Each checked rule: the series it reads and its true answers. */
  const TRUTHS: Record<string, { reads: string[]; answers: () => Answers; tolerance: number }> = {
    ...Object.fromEntries(QUANTILE_RULES.map(({ record, level, family, field }) => [record, { reads: [family], tolerance: 1e-9, answers: quantileTruth(level, family, field) }])),
    'inference_component:sagemaker_gpu_utilization_ratio:avg15m': {
      reads: ['sagemaker_gpu_utilization_ratio'],
      tolerance: 1e-9,
      answers: () =>
        new Map(
          components().map((instances) => {
            const gpus = instances.flatMap((i) => Array.from({ length: i.gpus }, (_, gpu) => windowPeriods.map((p) => (truth(p, i).gpuUtilPercent - gpu * 3) * 0.01)));
            return [keyOf(instances[0] as LlmInstance), gpus.flat().reduce((a, b) => a + b, 0) / gpus.flat().length];
          }),
        ),
    },
    'inference_component:sagemaker_llm_kv_cache_usage_ratio:max15m': {
      reads: ['sagemaker_llm_kv_cache_usage_ratio'],
      tolerance: 1e-9,
      answers: () => new Map(components().map((instances) => [keyOf(instances[0] as LlmInstance), Math.max(...instances.map((i) => truth(lastPeriod, i).kvCache))])),
    },
    'endpoint:sagemaker_llm_prompt_tokens:rate15m': {
      reads: ['sagemaker_llm_prompt_tokens_total'],
      tolerance: 0.05,
      answers: () => {
        const periods = periodsIn(at, 15);
        return new Map(components().map((instances) => [answerKey({ endpoint_name: (instances[0] as LlmInstance).endpoint }), instances.reduce((n, i) => n + periods.reduce((m, p) => m + truth(p, i).promptTokens, 0), 0) / (periods.length * 60)]));
      },
    },
  };

  const recordingRules = () =>
    (parseYaml(fillBridgeWindows(readFileSync(DEFAULT_RULE_FILES[0] as string, 'utf8'), bridgeWindows())) as { groups: Array<{ name: string; rules: Array<{ record: string; expr: string; labels?: Record<string, string> }> }> }).groups
      .filter((g) => g.name === 'inferwatch-llm')
      .flatMap((g) => g.rules);

  test('every checked rule gives the fleet\'s true answer; the spike shows in time to first token', async () => {
    const rules = recordingRules();
    const checked: string[] = [];
    for (const [record, { reads, answers, tolerance }] of Object.entries(TRUTHS)) {
      expect({ record, unwritten: reads.filter((name) => !written.has(name)) }).toEqual({ record, unwritten: [] });
      const actual: Answers = new Map();
      for (const rule of rules.filter((r) => r.record === record)) {
        for (const sample of await prometheus.query(rule.expr, at)) actual.set(answerKey({ ...sample.metric, ...rule.labels }), sample.value);
      }
      const expected = answers();
      expect({ record, problems: compareAnswers(expected, actual, tolerance) }).toEqual({ record, problems: [] });
      checked.push(record);
    }
    expect(checked).toEqual(Object.keys(TRUTHS));
    const p99 = TRUTHS['inference_component:sagemaker_llm_time_to_first_token_seconds:quantile15m']?.answers();
    expect([...(p99 ?? new Map<string, number>())].filter(([key]) => key.includes('quantile="0.99"')).map(([key, v]) => [key.includes('llm-chat'), v > 2])).toEqual([
      [true, true],
      [false, false],
    ]);
  });

  test('each p50 and p99 lands in the power-of-two bucket that holds the fleet\'s own quantile, as CloudWatch serves it', async () => {
    const rules = recordingRules();
    for (const { record, level, family, field } of QUANTILE_RULES) {
      for (const { instances, key } of groupsOf(level)) {
        // The source's histogram as the stand-in serves it (scale 3), over the same periods as the rate().
        const served = reduceScale(rated(instances, field), SERVED_SCALE);
        for (const q of QUANTILES) {
          const rule = rules.find((r) => r.record === record && r.labels?.quantile === q);
          const answer = (await prometheus.query(rule?.expr ?? `missing rule ${record} ${q}`, at)).find((s) => answerKey({ ...s.metric, quantile: q }) === key({ quantile: q }))?.value;
          // The bucket the source's quantile lies in, and the source's `le` (a power of two) at or above it.
          const [, upper] = quantileBucket(served, Number(q));
          const le = sourceLes(family).find((b) => b >= upper * (1 - 1e-12));
          expect({ record, group: key({ quantile: q }), le, inBucket: answer !== undefined && le !== undefined && answer > le / 2 && answer <= le }).toEqual({ record, group: key({ quantile: q }), le, inBucket: true });
        }
      }
    }
  });

  test('every LLM rule and alert reads series that exist: each selector finds series, each `le` is one the source writes', async () => {
    const rules = recordingRules();
    const alerts = renderAlertGroups().flatMap((g) => g.rules as Array<{ alert?: string; expr: string }>).filter((r) => r.alert !== undefined && /(^|[^_a-z])sagemaker_(llm|gpu|insufficient|scaling)/.test(r.expr));
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining(['SageMakerLlmTimeToFirstTokenP99High', 'SageMakerLlmRequestQueueGrowing', 'SageMakerLlmKvCacheNearFull', 'SageMakerGpuMemoryPressure']));
    const les = new Map(['sagemaker_llm_time_to_first_token_seconds', 'sagemaker_llm_inter_token_latency_seconds'].map((f) => [`${f}_bucket`, new Set([...sourceLes(f).map(formatLe), '+Inf'])]));
    const problems: string[] = [];
    for (const { expr, name: reader } of [...rules.map((r) => ({ expr: r.expr, name: r.record })), ...alerts.map((a) => ({ expr: a.expr, name: a.alert as string }))]) {
      for (const selector of selectorsOf(expr)) {
        for (const m of selector.matchers.filter((x) => x.label === 'le' && x.op === '=')) {
          if (!(les.get(selector.name)?.has(m.value) ?? false)) problems.push(`${reader}: ${selector.text}: the PromQL source writes no le="${m.value}"`);
        }
        const recorded = rules.filter((r) => r.record === selector.name);
        if (recorded.length > 0) {
          // A recording rule's output: its expression's answers with the rule's labels, matched by the selector, at any
          // time of the fleet's last hour (a sparse event ages out of a 15m window).
          const matching = await Promise.all(
            recorded.map(async (r) => (await prometheus.queryRange(r.expr, at - 60 * MINUTE, at, 60)).filter((s) => s.values.length > 0 && selector.matchers.every((x) => matches({ ...s.metric, ...r.labels }, x)))),
          );
          if (matching.flat().length === 0) problems.push(`${reader}: ${selector.text} matches no answer of the rule that records it`);
        } else if ((await prometheus.query(`count(last_over_time(${selector.text}[3h]))`, at)).length === 0) {
          problems.push(`${reader}: ${selector.text} finds no series the bridge wrote`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('an insufficient-capacity error of the spiking endpoint, and none of the other, in the last hour', async () => {
    const rule = (parseYaml(fillBridgeWindows(readFileSync(DEFAULT_RULE_FILES[0] as string, 'utf8'), bridgeWindows())) as { groups: Array<{ rules: Array<{ record: string; expr: string }> }> }).groups
      .flatMap((g) => g.rules)
      .find((r) => r.record === 'endpoint:sagemaker_insufficient_capacity_errors:increase1h');
    const errors = await prometheus.query(`${rule?.expr ?? 'missing rule'} > 0`, at);
    expect(errors.map((s) => s.metric.endpoint_name)).toEqual(['llm-chat']);
  });
});
