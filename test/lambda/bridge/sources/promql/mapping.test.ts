import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../../../contract/errors';
import { loadPromQlMapping, prometheusLabels, sourceIdentity } from '../../../../../lambda/bridge/sources/promql/mapping';
import { escapeRegex, selector, splitByLabels } from '../../../../../lambda/bridge/sources/promql/selector';

const mapping = loadPromQlMapping();
const metric = (source: string) => {
  const found = mapping.metrics.find((m) => m.source === source);
  if (!found) throw new Error(`no mapping for ${source}`);
  return found;
};

describe('the PromQL metric mapping (promql-metrics.yaml)', () => {
  test('OTel labels become the Prometheus labels the README lists; unmapped ones (container id, service) are dropped', () => {
    const labels = prometheusLabels(
      mapping,
      metric('DCGM_FI_DEV_GPU_UTIL'),
      {
        __name__: 'DCGM_FI_DEV_GPU_UTIL',
        'aws.sagemaker.endpoint.name': 'llm-a',
        'aws.sagemaker.variant.name': 'AllTraffic',
        'aws.sagemaker.inference_component.name': 'llama-chat',
        'aws.sagemaker.container.id': 'c-1',
        '@resource.host.id': 'i-0a1',
        '@resource.cloud.availability_zone': 'us-east-2a',
        '@resource.host.type': 'ml.g5.12xlarge',
        '@resource.service.name': 'dcgm-exporter',
        gpu: '3',
      },
      { region: 'us-east-2', account_id: '123456789012' },
      1024,
    );
    expect(Object.fromEntries(labels.map((l) => [l.name, l.value]))).toEqual({
      __name__: 'sagemaker_gpu_utilization_ratio',
      account_id: '123456789012',
      region: 'us-east-2',
      endpoint_name: 'llm-a',
      variant_name: 'AllTraffic',
      inference_component_name: 'llama-chat',
      instance_id: 'i-0a1',
      availability_zone: 'us-east-2a',
      instance_type: 'ml.g5.12xlarge',
      gpu: '3',
    });
    // Sorted by name, as remote write requires.
    expect(labels.map((l) => l.name)).toEqual([...labels.map((l) => l.name)].sort());
  });

  test('types and scales: delta sums are counters named _total, percentages become ratios', () => {
    expect(metric('vllm:prompt_tokens_total')).toMatchObject({ name: 'sagemaker_llm_prompt_tokens_total', type: 'counter', scale: 1 });
    expect(metric('ICECount')).toMatchObject({ name: 'sagemaker_insufficient_capacity_errors_total', type: 'counter' });
    expect(metric('DCGM_FI_DEV_GPU_UTIL')).toMatchObject({ type: 'gauge', scale: 0.01 });
    expect(metric('DCGM_FI_DEV_FB_USED')).toMatchObject({ name: 'sagemaker_gpu_memory_used_bytes', scale: 1048576 });
    expect(metric('DCGM_FI_DEV_FB_FREE')).toMatchObject({ name: 'sagemaker_gpu_memory_free_bytes', scale: 1048576 });
    expect(metric('E2EScalingLatency')).toMatchObject({ name: 'sagemaker_scaling_latency_seconds', type: 'gauge' });
  });

  test('vLLM and SGLang write one engine-neutral family, told apart by the engine label', () => {
    const labelsOf = (source: string) => Object.fromEntries(prometheusLabels(mapping, metric(source), { '@resource.host.id': 'i-1' }, {}, 1024).map((l) => [l.name, l.value]));
    expect(labelsOf('vllm:num_requests_waiting')).toEqual({ __name__: 'sagemaker_llm_requests_waiting', engine: 'vllm', instance_id: 'i-1' });
    expect(labelsOf('sglang:num_queue_reqs')).toEqual({ __name__: 'sagemaker_llm_requests_waiting', engine: 'sglang', instance_id: 'i-1' });
    // vLLM V1's and V0's KV-cache names write the same series: the current one is listed first, so it is the one kept.
    const kv = mapping.metrics.filter((m) => m.name === 'sagemaker_llm_kv_cache_usage_ratio').map((m) => m.source);
    expect(kv).toEqual(['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'sglang:token_usage']);
  });

  test('every series name of the LLM name contract is written, with its type', () => {
    const families = new Map(mapping.metrics.map((m) => [m.name, m.type]));
    expect(Object.fromEntries(['sagemaker_llm_prompt_tokens_total', 'sagemaker_llm_generation_tokens_total', 'sagemaker_llm_requests_waiting', 'sagemaker_llm_requests_running', 'sagemaker_llm_kv_cache_usage_ratio', 'sagemaker_gpu_utilization_ratio', 'sagemaker_gpu_memory_used_bytes', 'sagemaker_gpu_memory_free_bytes', 'sagemaker_insufficient_capacity_errors_total', 'sagemaker_scaling_latency_seconds'].map((n) => [n, families.get(n)]))).toEqual({
      sagemaker_llm_prompt_tokens_total: 'counter',
      sagemaker_llm_generation_tokens_total: 'counter',
      sagemaker_llm_requests_waiting: 'gauge',
      sagemaker_llm_requests_running: 'gauge',
      sagemaker_llm_kv_cache_usage_ratio: 'gauge',
      sagemaker_gpu_utilization_ratio: 'gauge',
      sagemaker_gpu_memory_used_bytes: 'gauge',
      sagemaker_gpu_memory_free_bytes: 'gauge',
      sagemaker_insufficient_capacity_errors_total: 'counter',
      sagemaker_scaling_latency_seconds: 'gauge',
    });
  });

  test('a mapping that breaks the conventions is refused, naming the file and the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iw-promql-map-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'labels: {}\nsplit: []\nmetrics:\n  - { source: x, name: x_tokens, type: counter, help: h }\n');
      expect(() => loadPromQlMapping(file)).toThrow(ConfigError);
      expect(() => loadPromQlMapping(file)).toThrow(/bad\.yaml.*_total/s);
      writeFileSync(file, 'labels: {}\nsplit: []\nmetrics:\n  - { source: x, name: a_total, type: counter, help: h }\n  - { source: x, name: b_total, type: counter, help: h }\n');
      expect(() => loadPromQlMapping(file)).toThrow('two entries read x');
      writeFileSync(file, 'labels: {}\nsplit: []\nmetrics:\n  - { source: x, name: a_total, type: counter, help: h }\n  - { source: y, name: a_total, type: counter, help: other }\n');
      expect(() => loadPromQlMapping(file)).toThrow('different help texts');
      writeFileSync(file, 'labels: {}\nsplit: []\nmetrics:\n  - { source: x, name: a_total, type: counter, help: h }\n  - { source: y, name: b_total, type: counter, help: h }\n  - { source: z, name: a_total, type: counter, help: h }\n');
      expect(() => loadPromQlMapping(file)).toThrow('must follow one another');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a series is known by its labels without the metric name (range functions drop it)', () => {
    expect(sourceIdentity({ __name__: 'x', b: '2', a: '1' })).toBe(sourceIdentity({ a: '1', b: '2' }));
    expect(sourceIdentity({ a: '1' })).not.toBe(sourceIdentity({ a: '2' }));
  });
});

describe('selectors', () => {
  test('every name in the quoted UTF-8 form, values escaped', () => {
    expect(selector('vllm:prompt_tokens_total', [{ label: '@resource.host.id', op: '=', value: 'i-"1"' }])).toBe('{"vllm:prompt_tokens_total", "@resource.host.id"="i-\\"1\\""}');
    expect(escapeRegex('a.b|c(d)')).toBe('a\\.b\\|c\\(d\\)');
  });

  const series = (endpoint: string, host: string, n: number) => Array.from({ length: n }, (_, gpu) => ({ e: endpoint, h: host, gpu: String(gpu) }));
  const labelsOf = (s: { e: string; h: string; gpu: string }) => ({ endpoint: s.e, host: s.h, gpu: s.gpu });

  test('under the limit: one selection, no extra matcher', () => {
    expect(splitByLabels(series('a', 'h1', 3), labelsOf, ['endpoint'], 3)).toEqual([{ matchers: [], members: series('a', 'h1', 3) }]);
  });

  test('over it: whole label values packed, a value over the limit split by the next label; every series exactly once', () => {
    const members = [...series('a', 'h1', 2), ...series('a', 'h2', 2), ...series('b', 'h3', 1), ...series('c', 'h4', 1)];
    const splits = splitByLabels(members, labelsOf, ['endpoint', 'host', 'gpu'], 3);
    expect(splits.map((s) => [s.matchers, s.members.length])).toEqual([
      [[{ label: 'endpoint', op: '=', value: 'a' }, { label: 'host', op: '=~', value: 'h1' }], 2],
      [[{ label: 'endpoint', op: '=', value: 'a' }, { label: 'host', op: '=~', value: 'h2' }], 2],
      [[{ label: 'endpoint', op: '=~', value: 'b|c' }], 2],
    ]);
    expect(splits.flatMap((s) => s.members).sort()).toEqual([...members].sort());
    expect(splits.every((s) => s.members.length <= 3)).toBe(true);
  });

  test('series without the split label are selected by the empty value; a group no label splits is returned whole', () => {
    const members = [{ e: '', h: 'h1', gpu: '0' }, ...series('a', 'h1', 2)];
    expect(splitByLabels(members, (s): Record<string, string> => (s.e ? { endpoint: s.e } : {}), ['endpoint'], 2).map((s) => s.matchers[0]?.value)).toEqual(['', 'a']);
    const unsplittable = splitByLabels(series('a', 'h1', 3), labelsOf, ['endpoint'], 2);
    expect(unsplittable).toHaveLength(1);
    expect(unsplittable[0]?.members).toHaveLength(3);
  });
});
