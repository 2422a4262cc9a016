import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_RULE_FILES } from '../../lib/prometheus-workspace';
import { bridgeWindows, fillBridgeWindows } from '../../lib/prometheus-workspace/alert-rules';
import { promqlSourceWrites } from '../../demo/demo-charts';
import { answerKey, compareAnswers, histogramQuantile, periodsIn, type Answers } from '../../demo/demo-queries';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { CloudWatchPromQlStandIn } from '../support/stand-ins/cloudwatch-promql-stand-in';
import { defaultLlmFleet, instancePeriod, LlmFleetFeed, TTFT_BUCKETS, type LlmInstance } from '../support/stand-ins/llm-fleet';

const MINUTE = 60_000;
const ACCOUNT = '123456789012';
const REGION = 'us-east-2';
const SETTLE = 2 * MINUTE;

/**
 * The LLM serving recording rules on what the bridge really writes: the vLLM fleet served by the CloudWatch PromQL
 * stand-in, read by the bridge's PromQL source, written to a real Prometheus, each rule's expression evaluated there
 * and compared with the fleet's own numbers (gauges and quantiles exactly; rates within 5%, since rate() extrapolates
 * to its window's edges). A rule is checked
 * once the PromQL source writes every series it reads (its metric mapping's names); the names the source does not
 * map yet are listed, so nothing passes by reading nothing.
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

  /** Each checked rule: the series it reads and its true answers. */
  const TRUTHS: Record<string, { reads: string[]; answers: () => Answers; tolerance: number }> = {
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
    'inference_component:sagemaker_llm_time_to_first_token_seconds:quantile15m': {
      reads: ['sagemaker_llm_time_to_first_token_seconds'],
      tolerance: 1e-6,
      answers: () =>
        new Map(
          components().map((instances) => {
            // rate() takes the window's last cumulative sample less its first: the periods after the first.
            const periods = windowPeriods.slice(1);
            const count = (bucket: number) => instances.reduce((n, i) => n + periods.reduce((m, p) => m + (truth(p, i).ttftBuckets[bucket] as number), 0), 0);
            const buckets = [...TTFT_BUCKETS.map((b, k): [number, number] => [b, count(k)]), [Infinity, count(TTFT_BUCKETS.length)] as [number, number]];
            return [keyOf(instances[0] as LlmInstance, { quantile: '0.99' }), histogramQuantile(0.99, buckets)];
          }),
        ),
    },
  };

  test('every rule whose series the PromQL source writes gives the fleet\'s true answer; the spike shows in time to first token', async () => {
    const rules = (parseYaml(fillBridgeWindows(readFileSync(DEFAULT_RULE_FILES[0] as string, 'utf8'), bridgeWindows())) as { groups: Array<{ name: string; rules: Array<{ record: string; expr: string; labels?: Record<string, string> }> }> }).groups
      .filter((g) => g.name === 'inferwatch-llm')
      .flatMap((g) => g.rules);
    const checked: string[] = [];
    for (const [record, { reads, answers, tolerance }] of Object.entries(TRUTHS)) {
      if (!reads.every((name) => written.has(name))) continue;
      const actual: Answers = new Map();
      for (const rule of rules.filter((r) => r.record === record)) {
        for (const sample of await prometheus.query(rule.expr, at)) actual.set(answerKey({ ...sample.metric, ...rule.labels }), sample.value);
      }
      const expected = answers();
      // Only the quantiles the truth states (p99): the rule also records p50.
      for (const key of [...actual.keys()]) if (key.includes('quantile') && !expected.has(key)) actual.delete(key);
      expect({ record, problems: compareAnswers(expected, actual, tolerance) }).toEqual({ record, problems: [] });
      checked.push(record);
    }
    expect(checked).toContain('inference_component:sagemaker_gpu_utilization_ratio:avg15m');
    if (checked.includes('inference_component:sagemaker_llm_time_to_first_token_seconds:quantile15m')) {
      const p99 = TRUTHS['inference_component:sagemaker_llm_time_to_first_token_seconds:quantile15m']?.answers();
      expect([...(p99 ?? new Map<string, number>())].find(([key]) => key.includes('llm-chat'))?.[1]).toBeGreaterThan(2);
    }
  });

  test('an insufficient-capacity error of the spiking endpoint, and none of the other, in the last hour', async () => {
    const rule = (parseYaml(fillBridgeWindows(readFileSync(DEFAULT_RULE_FILES[0] as string, 'utf8'), bridgeWindows())) as { groups: Array<{ rules: Array<{ record: string; expr: string }> }> }).groups
      .flatMap((g) => g.rules)
      .find((r) => r.record === 'endpoint:sagemaker_insufficient_capacity_errors:increase1h');
    const errors = await prometheus.query(`${rule?.expr ?? 'missing rule'} > 0`, at);
    expect(errors.map((s) => s.metric.endpoint_name)).toEqual(['llm-chat']);
  });
});
