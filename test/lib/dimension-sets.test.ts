import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { Catalog, quantileFamilyName } from '../../lambda/bridge/catalog/catalog';

/**
 * CloudWatch publishes SageMaker's invocation, error and latency metrics in several dimension sets at once: per
 * variant (or component), per instance (enhanced metrics: InstanceId, ContainerId, AcceleratorId) and per zone
 * (Region, AvailabilityZone, InstanceType). The bridge writes each as its own series, so a query that does not pick
 * one set counts every request two or three times. This test reads every PromQL expression inferwatch ships (the
 * recording rules, the alerts and every dashboard target) and checks that each selector of a SageMaker CloudWatch
 * series picks exactly one set.
 */
const RULES_DIR = join(__dirname, '../../lib/prometheus-workspace');
/**
 * The SageMaker metrics CloudWatch publishes in more than one dimension set: the rows of the "Metric name mapping:
 * legacy to OTel" page (monitoring-detailed-observability-metric-mapping) and the per-instance metrics of the
 * enhanced-metrics page (monitoring-cloudwatch-enhanced-metrics). The others (async backlog, serverless, multi-model)
 * have one set, and a query of them needs no choice.
 */
const MULTI_SET_METRICS: ReadonlyArray<readonly [string, readonly string[]]> = [
  [
    'AWS/SageMaker',
    [
      'ConcurrentRequestsPerCopy',
      'ConcurrentRequestsPerModel',
      'Invocations',
      'InvocationsPerCopy',
      'InvocationsPerInstance',
      'Invocation4XXErrors',
      'Invocation5XXErrors',
      'InvocationModelErrors',
      'ModelLatency',
      'OverheadLatency',
      'MidStreamErrors',
      'FirstChunkLatency',
      'FirstChunkModelLatency',
      'FirstChunkOverheadLatency',
    ],
  ],
  ['/aws/sagemaker/Endpoints', ['CPUUtilization', 'MemoryUtilization', 'DiskUtilization', 'GPUUtilization', 'GPUMemoryUtilization']],
  ['/aws/sagemaker/InferenceComponents', ['CPUUtilizationNormalized', 'MemoryUtilizationNormalized', 'GPUUtilizationNormalized', 'GPUMemoryUtilizationNormalized']],
];

/** Every series name the built-in catalog writes for those metrics, in every latency mode. */
function sagemakerSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const latency of ['summary', 'histogram', 'both'] as const) {
    const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', latency);
    for (const [namespace, metrics] of MULTI_SET_METRICS) {
      for (const metric of metrics) {
        for (const template of catalog.resolve(namespace, metric).series) {
          names.add(template.name);
          names.add(quantileFamilyName(template.name));
        }
      }
    }
  }
  return names;
}

export interface Selector {
  readonly name: string;
  readonly matchers: ReadonlyMap<string, string>;
}

/**
 * The vector selectors of `expr` whose metric name is in `names`, with their label matchers (`label op "value"`). A
 * recording rule's name (`endpoint:aws_sagemaker_...:rate15m`) is not a selector of the raw series: names preceded
 * or followed by `:` are left out.
 */
export function selectorsOf(expr: string, names: ReadonlySet<string>): Selector[] {
  const found: Selector[] = [];
  const selector = /(?<![\w:])([a-zA-Z_][a-zA-Z0-9_]*)(?![\w:])\s*(\{([^}]*)\})?/g;
  for (const match of expr.matchAll(selector)) {
    const name = match[1] ?? '';
    if (!names.has(name)) continue;
    const matchers = new Map<string, string>();
    for (const m of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) matchers.set(m[1] ?? '', `${m[2] ?? ''}"${m[3] ?? ''}"`);
    found.push({ name, matchers });
  }
  return found;
}

/**
 * Why a selector may count a request twice, or undefined when it picks one set: the per-variant (or per-component)
 * set is `instance_id="", availability_zone=""`; a query about instances says `instance_id!=""` (the per-instance
 * sets have no zone), one about zones `availability_zone!=""` (the per-zone sets have no instance). A query that
 * groups by instance_id keeps the per-variant and per-instance series apart, so it need not choose between them.
 */
export function doubleCounting(selector: Selector, expr: string): string | undefined {
  const instance = selector.matchers.get('instance_id');
  const zone = selector.matchers.get('availability_zone');
  if (instance === '!=""' || zone === '!=""') return undefined;
  const groupsByInstance = /\bby\s*\([^)]*\binstance_id\b/.test(expr);
  if (instance !== '=""' && !groupsByInstance) return `${selector.name} selects the per-instance sets too: add instance_id=""`;
  if (zone !== '=""') return `${selector.name} selects the per-zone sets too: add availability_zone=""`;
  return undefined;
}

interface Expression {
  readonly where: string;
  readonly expr: string;
}

function ruleExpressions(): Expression[] {
  const rules = parseYaml(readFileSync(join(RULES_DIR, 'inferwatch.rules.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ record: string; expr: string }> }> };
  const alerts = parseYaml(readFileSync(join(RULES_DIR, 'inferwatch.alerts.yaml'), 'utf8')) as { alerts: Array<{ alert: string; expr: string }> };
  return [
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.record}`, expr: r.expr }))),
    ...alerts.alerts.map((a) => ({ where: `alert ${a.alert}`, expr: a.expr })),
  ];
}

/** Every panel target's `expr` in the dashboards' JSON (a variable's label_values lists values: it counts nothing). */
function dashboardExpressions(): Expression[] {
  const out: Expression[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, `${where}[${i}]`));
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') out.push({ where, expr: value });
        else walk(value, `${where}.${key}`);
      }
    }
  };
  for (const dashboard of allDashboards()) walk(JSON.parse(JSON.stringify(dashboard)), `dashboard ${dashboard.uid ?? dashboard.title}`);
  return out;
}

describe('every query picks one dimension set of each SageMaker metric', () => {
  const names = sagemakerSeriesNames();

  test('the catalog names the streaming families the queries are checked for', () => {
    expect(names).not.toContain('aws_sagemaker_async_backlog_size');
    for (const name of ['aws_sagemaker_invocations_total', 'aws_sagemaker_model_latency_seconds_bucket', 'aws_sagemaker_first_chunk_latency_seconds_bucket', 'aws_sagemaker_mid_stream_errors_total']) expect(names).toContain(name);
  });

  test.each([
    ['recording rules and alerts', ruleExpressions],
    ['dashboards', dashboardExpressions],
  ])('%s', (_, expressions) => {
    const all = expressions();
    const checked = all.flatMap(({ where, expr }) => selectorsOf(expr, names).map((s) => ({ where, expr, selector: s })));
    // The checker must see the SageMaker queries at all, or it passes by reading nothing.
    expect(checked.length).toBeGreaterThan(10);
    const problems = checked.map(({ where, expr, selector }) => [where, doubleCounting(selector, expr)]).filter(([, why]) => why !== undefined);
    expect(problems).toEqual([]);
  });
});

/**
 * SageMaker AI detailed observability (the PromQL source) publishes its LLM and GPU series per instance only: no
 * per-variant copy sits beside them, so sums over instances are right. Every query of them selects instance_id!=""
 * all the same, so that an aggregate copy, should one appear, is not added to the instances it sums.
 */
const LLM_PER_INSTANCE = new Set([
  ...['sagemaker_llm_time_to_first_token_seconds', 'sagemaker_llm_inter_token_latency_seconds'].flatMap((f) => [`${f}_bucket`, `${f}_sum`, `${f}_count`]),
  'sagemaker_llm_prompt_tokens_total',
  'sagemaker_llm_generation_tokens_total',
  'sagemaker_llm_requests_waiting',
  'sagemaker_llm_requests_running',
  'sagemaker_llm_kv_cache_usage_ratio',
  'sagemaker_gpu_utilization_ratio',
  'sagemaker_gpu_memory_used_bytes',
  'sagemaker_gpu_memory_free_bytes',
]);

describe('every query of the per-instance LLM series selects the instances', () => {
  test.each([
    ['recording rules and alerts', ruleExpressions],
    ['dashboards', dashboardExpressions],
  ])('%s', (_, expressions) => {
    const checked = expressions().flatMap(({ where, expr }) => selectorsOf(expr, LLM_PER_INSTANCE).map((s) => ({ where, name: s.name, instance: s.matchers.get('instance_id') })));
    expect(checked.length).toBeGreaterThan(10);
    expect(checked.filter((c) => c.instance !== '!=""')).toEqual([]);
  });
});

describe('the selector checker', () => {
  const names = new Set(['aws_sagemaker_invocations_total', 'aws_sagemaker_model_latency_seconds_bucket']);
  const why = (expr: string) => selectorsOf(expr, names).map((s) => doubleCounting(s, expr));

  test('accepts the per-variant set, and explicit per-instance or per-zone questions', () => {
    expect(why('sum by (endpoint_name) (rate(aws_sagemaker_invocations_total{endpoint_name!="", instance_id="", availability_zone=""}[15m]))')).toEqual([undefined]);
    expect(why('sum by (availability_zone) (rate(aws_sagemaker_invocations_total{availability_zone!=""}[15m]))')).toEqual([undefined]);
    expect(why('max by (instance_id) (aws_sagemaker_invocations_total{instance_id!=""})')).toEqual([undefined]);
  });

  test('refuses a selector that also takes the per-zone or per-instance series', () => {
    expect(why('sum(rate(aws_sagemaker_invocations_total{instance_id=""}[5m]))')).toEqual([expect.stringContaining('availability_zone=""')]);
    expect(why('histogram_quantile(0.99, sum by (le) (rate(aws_sagemaker_model_latency_seconds_bucket[5m])))')).toEqual([expect.stringContaining('instance_id=""')]);
  });

  test('reads recording rule names as names, not as selectors of the raw series', () => {
    expect(selectorsOf('endpoint:aws_sagemaker_invocations_total:rate15m > 1', names)).toEqual([]);
  });
});
