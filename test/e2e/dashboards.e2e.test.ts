import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { forHost, prometheusScrapeConfig, renderCollectorConfig } from '../../lib/neuron-collector/render';
import { encodeWriteRequest } from '../../lambda/bridge/remote-write/encode';
import { buildLabels, type TimeSeries } from '../../lambda/bridge/series';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet, type Dimension } from '../support/stand-ins/fleet';
import { answerKey, compareAnswers, periodsIn, type Answers } from '../../demo/demo-queries';
import { interpolate, panelsOf } from '../../demo/demo-charts';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const FIXTURES = join(__dirname, '..', 'fixtures');
/** The neuron-monitor fixture's host: TorchServe's series get its id from the collector config. */
const HOST = 'i-0823d657f57057590';
/**
 * Two accounts of one fleet, one per latency mode, so every latency panel is run on a fleet that mixes histograms and
 * summaries (a bridge that writes only summaries leaves both accounts on the fallback).
 */
const ACCOUNTS = [
  { id: '123456789012', latency: 'histogram' },
  { id: '210987654321', latency: 'summary' },
] as const;

/**
 * An account whose latency histogram is known by construction, to hold the quantile panels' arithmetic to exact
 * answers whatever the bridge writes: two variants of 100 requests a minute; variant a all under 50 ms, variant b 90
 * under 50 ms and 10 between 0.5 s and 1 s. Pooled, the 198th of 200 requests sits 8 tenths into the (0.5, 1] bucket:
 * p99 = 0.5 + 0.8 * 0.5 = 0.9 s. Variant a also carries a summary p99 of 5 s, as `latency: both` writes: the histogram
 * must win. The maximum of the per-variant p99s (0.95 s for b) would be wrong.
 */
const HISTOGRAM_ACCOUNT = '999999999999';
const HISTOGRAM_P99 = 0.9;
function knownHistogram(from: number, to: number): TimeSeries[] {
  const edges: Array<[string, number, number]> = [
    // le, cumulative per minute for variant a, for variant b
    ['0.05', 100, 90],
    ['0.5', 100, 90],
    ['1', 100, 100],
    ['+Inf', 100, 100],
  ];
  const minutes = Array.from({ length: (to - from) / MINUTE + 1 }, (_, i) => i);
  const counter = (name: string, labels: Record<string, string>, perMinute: number): TimeSeries => ({
    labels: buildLabels(name, { account_id: HISTOGRAM_ACCOUNT, region: 'us-east-2', endpoint_name: 'known-histogram', ...labels }),
    samples: minutes.map((i) => ({ timestamp: from + i * MINUTE, value: (i + 1) * perMinute })),
    kind: 'counter',
  });
  return [
    ...edges.flatMap(([le, a, b]) => [counter('aws_sagemaker_model_latency_seconds_bucket', { variant_name: 'a', le }, a), counter('aws_sagemaker_model_latency_seconds_bucket', { variant_name: 'b', le }, b)]),
    counter('aws_sagemaker_model_latency_seconds_count', { variant_name: 'a' }, 100),
    counter('aws_sagemaker_model_latency_seconds_count', { variant_name: 'b' }, 100),
    counter('aws_sagemaker_model_latency_seconds_sum', { variant_name: 'a' }, 2),
    counter('aws_sagemaker_model_latency_seconds_sum', { variant_name: 'b' }, 12),
    { ...counter('aws_sagemaker_model_latency_seconds', { variant_name: 'a', quantile: '0.99' }, 0), samples: minutes.map((i) => ({ timestamp: from + i * MINUTE, value: 5 })), kind: 'gauge' },
  ];
}

/**
 * An LLM endpoint as the PromQL source writes detailed observability (names of the LLM name contract, per instance and
 * GPU), known by construction: two instances of component llama, 100 requests a minute each. Time to first token,
 * cumulative per minute at le 0.5 / 1 / 2 / +Inf: i-1 50, 90, 100, 100 and i-2 30, 60, 100, 100. Pooled: 80, 150,
 * 200, 200, so p99 (the 198th of 200) sits 48/50 into (1, 2]: 1.96 s. The largest per-instance p99 would be wrong.
 * GPU memory: i-1's GPU holds 23 of 24 GB (the fullest: 0.9583), i-2's 20 of 24.
 */
const LLM_ACCOUNT = '888888888888';
const LLM_TTFT_P99 = 1.96;
function knownLlm(from: number, to: number): TimeSeries[] {
  const minutes = Array.from({ length: (to - from) / MINUTE + 1 }, (_, i) => i);
  const where = { account_id: LLM_ACCOUNT, region: 'us-east-2', endpoint_name: 'llm-known', variant_name: 'AllTraffic', inference_component_name: 'llama', instance_type: 'ml.g5.2xlarge', engine: 'vllm' };
  const instances = [
    { instance_id: 'i-1', availability_zone: 'us-east-2a', ttft: [50, 90, 100, 100], gpuUsed: 23e9 },
    { instance_id: 'i-2', availability_zone: 'us-east-2b', ttft: [30, 60, 100, 100], gpuUsed: 20e9 },
  ];
  const series = (name: string, labels: Record<string, string>, kind: 'counter' | 'gauge', value: (i: number) => number): TimeSeries => ({
    labels: buildLabels(name, { ...where, ...labels }),
    samples: minutes.map((i) => ({ timestamp: from + i * MINUTE, value: value(i) })),
    kind,
  });
  return [
    ...instances.flatMap(({ ttft, gpuUsed, ...instance }) => [
      ...['0.5', '1', '2', '+Inf'].flatMap((le, b) => [
        series('sagemaker_llm_time_to_first_token_seconds_bucket', { ...instance, le }, 'counter', (i) => (i + 1) * (ttft[b] ?? NaN)),
        series('sagemaker_llm_inter_token_latency_seconds_bucket', { ...instance, le }, 'counter', (i) => (i + 1) * 100),
      ]),
      series('sagemaker_llm_prompt_tokens_total', instance, 'counter', (i) => (i + 1) * 6000),
      series('sagemaker_llm_generation_tokens_total', instance, 'counter', (i) => (i + 1) * 12000),
      series('sagemaker_llm_requests_running', instance, 'gauge', () => 8),
      series('sagemaker_llm_requests_waiting', instance, 'gauge', (i) => i % 5),
      series('sagemaker_llm_kv_cache_usage_ratio', instance, 'gauge', () => 0.7),
      series('sagemaker_gpu_utilization_ratio', { ...instance, gpu: '0' }, 'gauge', () => 0.8),
      series('sagemaker_gpu_memory_used_bytes', { ...instance, gpu: '0' }, 'gauge', () => gpuUsed),
      series('sagemaker_gpu_memory_free_bytes', { ...instance, gpu: '0' }, 'gauge', () => 24e9 - gpuUsed),
    ]),
    // Placement events are per endpoint.
    { ...series('sagemaker_insufficient_capacity_errors_total', {}, 'counter', (i) => Math.floor(i / 10)), labels: buildLabels('sagemaker_insufficient_capacity_errors_total', { account_id: LLM_ACCOUNT, region: 'us-east-2', endpoint_name: 'llm-known' }) },
    { ...series('sagemaker_scaling_latency_seconds', {}, 'gauge', () => 420), labels: buildLabels('sagemaker_scaling_latency_seconds', { account_id: LLM_ACCOUNT, region: 'us-east-2', endpoint_name: 'llm-known' }) },
  ];
}

describe('dashboards against bridge data in a real Prometheus', () => {
  // Plus a streaming endpoint over two zones: the streaming panels have data, and every per-variant answer below must
  // leave its per-zone series out.
  const fleet = defaultFleet('neuron_monitor', 0, { shapes: true });
  const standIn = new AwsStandIn({ ...fleet, endpoints: [...fleet.endpoints, { name: 'chat-llm', streaming: true, zones: ['us-east-2a', 'us-east-2b'], variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.12xlarge', instances: 2, weight: 1 }] }] });
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-dash-'));
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 90 * MINUTE;
  const servers: Server[] = [];
  const panels = panelsOf(allDashboards());

  /** Serves a fixture as the host's exporter would; returns its port. */
  async function serve(fixture: string): Promise<number> {
    const text = readFileSync(join(FIXTURES, fixture), 'utf8');
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    await Promise.all(
      ACCOUNTS.map(async ({ id, latency }) => {
        const config = join(work, `${id}.yaml`);
        writeFileSync(config, `accountId: "${id}"\nlatency: ${latency}\ninitialLookback: 45m\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
        // Two cycles: write results reach the self-metrics one cycle later.
        for (const now of [t0, t0 + 5 * MINUTE]) {
          const run = await runBridge(['--once', '--config', config, '--state-dir', join(work, `state-${id}`), '--now', String(now)], standIn.env());
          if (run.code !== 0) throw new Error(run.stderr);
        }
      }),
    );
    // Before anything newer arrives: Prometheus refuses samples an hour older than its newest.
    const written = await fetch(prometheus.remoteWriteUrl, {
      method: 'POST',
      headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' },
      body: encodeWriteRequest([...knownHistogram(t0 - 30 * MINUTE, t0), ...knownLlm(t0 - 30 * MINUTE, t0)]),
    });
    if (!written.ok) throw new Error(`the known histogram was refused: ${written.status} ${await written.text()}`);
    // Then a host as the collector sees it: neuron-monitor and TorchServe, scraped with the collector's rendered config.
    const rendered = renderCollectorConfig({
      scrapeIntervalSeconds: 2,
      exporterPort: await serve('neuron-monitor/exporter-running.prom'),
      torchServe: { port: await serve('torchserve/metrics.prom'), path: '/metrics' },
      accountId: ACCOUNTS[0].id,
      region: 'us-east-2',
      remoteWriteUrl: 'https://aps-workspaces.us-east-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      workspaceRegion: 'us-east-2',
    });
    prometheus.reload(toYaml(prometheusScrapeConfig(forHost(rendered, HOST))));
    // rate() needs two scrapes of each target.
    const deadline = Date.now() + 30_000;
    while (((await prometheus.query('min(count_over_time(up{job=~"neuron-monitor|torchserve"}[1m]))', Date.now()))[0]?.value ?? 0) < 3) {
      if (Date.now() > deadline) throw new Error('Prometheus did not scrape the fixtures three times within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  test('every dashboard defaults to the provisioned data source and filters by account and region', () => {
    expect(allDashboards().map((d) => d.title)).toEqual([
      'inferwatch / Fleet overview',
      'inferwatch / Endpoint detail',
      'inferwatch / Inference components',
      'inferwatch / LLM serving',
      'inferwatch / Asynchronous endpoints',
      'inferwatch / Serverless endpoints',
      'inferwatch / Multi-model endpoints',
      'inferwatch / Inferentia (Neuron)',
      'inferwatch / bridge',
    ]);
    for (const d of allDashboards()) {
      const names = (d.templating?.list ?? []).map((v) => v.name);
      expect(names.slice(0, 3)).toEqual(['datasource', 'account_id', 'region']);
    }
    expect(panels.length).toBeGreaterThan(60);
  });

  test('every panel query is valid PromQL and returns data', async () => {
    const failures: string[] = [];
    for (const { dashboard, panel } of panels) {
      for (const target of panel.targets ?? []) {
        const where = `${dashboard.title} / ${panel.title} / ${target.legendFormat}`;
        if (!target.expr) {
          failures.push(`${where}: no expr`);
          continue;
        }
        try {
          // Bridge data sits around t0, scraped data in the last seconds: the range ends exactly at now to see both.
          const now = Date.now();
          const result = await prometheus.queryRange(interpolate(target.expr, dashboard), now - Math.ceil((now - t0) / MINUTE + 60) * MINUTE, now, 60);
          if (result.length === 0) failures.push(`${where}: no data`);
        } catch (error) {
          failures.push(`${where}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  /** A panel's query (the first unless `index`) as the dashboard viewer sends it with one account chosen and "All" in every other variable. */
  const panelQuery = (uid: string, title: string, account: string = ACCOUNTS[0].id, index = 0) => {
    const found = panels.find((p) => p.dashboard.uid === uid && p.panel.title === title);
    return interpolate(found?.panel.targets?.[index]?.expr ?? `missing panel ${uid} / ${title}`, found?.dashboard ?? { templating: { list: [] } }, { account_id: account });
  };
  const d = (pairs: Record<string, string>): Dimension[] => Object.entries(pairs).map(([Name, Value]) => ({ Name, Value }));
  const variants = () => standIn.fleet.endpoints.flatMap((e) => e.variants.map((v) => ({ endpoint: e.name, variant: v.name, dims: d({ EndpointName: e.name, VariantName: v.name }) })));
  const got = (samples: Array<{ metric: Record<string, string>; value: number }>, labels: readonly string[]) =>
    new Map(samples.map((s) => [answerKey(Object.fromEntries(labels.map((l) => [l, s.metric[l] ?? '']))), s.value]));

  describe('panels give the right answers on bridge data, not merely some data', () => {
    // The bridge's last cycle ran at t0 + 5 min: evaluate there, as a dashboard refreshed then would.
    const at = t0 + 5 * MINUTE;
    const periods = periodsIn(at, 15);
    // The newest gauge sample is the last period of the last cycle: its window ended at the settle delay (2 min) before it ran.
    const lastPeriod = Math.floor((at - 2 * MINUTE) / MINUTE) * MINUTE - MINUTE;
    const sumOver = (namespace: string, metric: string, dims: Dimension[]) => periods.reduce<number | undefined>((n, p) => {
      const v = standIn.valueAt(namespace, metric, dims, 'Sum', p);
      return v === undefined ? n : (n ?? 0) + v;
    }, undefined);

    test('endpoint detail: invocations per variant, once each though enhanced metrics add per-instance series', async () => {
      const truth: Answers = new Map();
      for (const v of variants()) {
        const sum = sumOver('AWS/SageMaker', 'Invocations', v.dims);
        if (sum !== undefined) truth.set(answerKey({ endpoint_name: v.endpoint, variant_name: v.variant }), sum / (periods.length * 60));
      }
      expect(truth.has(answerKey({ endpoint_name: 'ranker', variant_name: 'AllTraffic' }))).toBe(true);
      const rates = await prometheus.query(panelQuery('inferwatch-sagemaker', 'Invocations per second'), at);
      expect(compareAnswers(truth, got(rates, ['endpoint_name', 'variant_name']))).toEqual([]);
    });

    test('fleet overview: requests per second by endpoint and by component, an endpoint of each account apart', async () => {
      const truth: Answers = new Map();
      const add = (labels: Record<string, string>, value: number) => {
        for (const { id } of ACCOUNTS) {
          const key = answerKey({ ...labels, account: id });
          truth.set(key, (truth.get(key) ?? 0) + value);
        }
      };
      for (const v of variants()) {
        const sum = sumOver('AWS/SageMaker', 'Invocations', v.dims);
        if (sum !== undefined) add({ endpoint_name: v.endpoint, inference_component_name: '' }, sum / (periods.length * 60));
      }
      for (const component of standIn.fleet.endpoints.flatMap((e) => e.components ?? [])) {
        add({ endpoint_name: '', inference_component_name: component }, (sumOver('AWS/SageMaker', 'Invocations', d({ InferenceComponentName: component })) ?? NaN) / (periods.length * 60));
      }
      // Every account: the two accounts' endpoints of one name are two series, not one of twice the rate.
      const rates = await prometheus.query(panelQuery('inferwatch-fleet', 'Requests per second', '.*'), at);
      const answers = new Map(rates.map((r) => [answerKey({ endpoint_name: r.metric.endpoint_name ?? '', inference_component_name: r.metric.inference_component_name ?? '', account: r.metric.account_id ?? '' }), r.value]));
      expect(compareAnswers(truth, answers)).toEqual([]);
    });

    test('endpoint detail: CPU per variant is the newest per-variant sample', async () => {
      const truth: Answers = new Map();
      for (const v of variants()) {
        const cpu = standIn.valueAt('/aws/sagemaker/Endpoints', 'CPUUtilization', v.dims, 'Average', lastPeriod);
        if (cpu !== undefined) truth.set(answerKey({ endpoint_name: v.endpoint, variant_name: v.variant }), cpu * 0.01);
      }
      const cpu = await prometheus.query(panelQuery('inferwatch-sagemaker', 'CPU, memory and disk'), at);
      expect(compareAnswers(truth, got(cpu, ['endpoint_name', 'variant_name']))).toEqual([]);
    });

    test('asynchronous: the backlog; inference components: invocations per copy', async () => {
      const backlog = await prometheus.query(panelQuery('inferwatch-async', 'Backlog'), at);
      const trueBacklog = new Map([[answerKey({ endpoint_name: 'orders-async' }), standIn.valueAt('AWS/SageMaker', 'ApproximateBacklogSize', d({ EndpointName: 'orders-async' }), 'Average', lastPeriod) ?? NaN]]);
      expect(compareAnswers(trueBacklog, got(backlog, ['endpoint_name']))).toEqual([]);
      const perCopy = await prometheus.query(panelQuery('inferwatch-inference-components', 'Invocations per copy per second'), at);
      const truePerCopy = new Map(
        ['llm-chat', 'llm-embed'].map((c) => [answerKey({ inference_component_name: c }), (sumOver('AWS/SageMaker', 'InvocationsPerCopy', d({ InferenceComponentName: c })) ?? NaN) / (periods.length * 60)]),
      );
      expect(compareAnswers(truePerCopy, got(perCopy, ['inference_component_name']))).toEqual([]);
    });
  });

  test('LLM serving: the pooled p99 time to first token and the fullest GPU of the known endpoint', async () => {
    const at = t0;
    const ttft = await prometheus.query(panelQuery('inferwatch-llm', 'Time to first token, p50 and p99', LLM_ACCOUNT), at);
    expect(ttft.map((s) => ({ component: s.metric.inference_component_name, value: Number(s.value.toFixed(9)) }))).toEqual([{ component: 'llama', value: LLM_TTFT_P99 }]);
    const memory = await prometheus.query(panelQuery('inferwatch-llm', 'GPU memory used, fullest GPU', LLM_ACCOUNT), at);
    expect(memory.map((s) => Number(s.value.toFixed(6)))).toEqual([Number((23 / 24).toFixed(6))]);
    const tokens = await prometheus.query(panelQuery('inferwatch-llm', 'Tokens per second, in and out', LLM_ACCOUNT, 1), at);
    expect(tokens.map((s) => s.value)).toEqual([400]);
  });

  describe('latency quantiles: histogram_quantile over pooled buckets where there are histograms, the summary where not', () => {
    const at = t0 + 5 * MINUTE;
    const p99 = async (title: string, account: string, index = 0) => (await prometheus.query(panelQuery('inferwatch-fleet', title, account, index), at)).map((s) => ({ labels: { ...s.metric }, value: Number(s.value.toFixed(9)) }));

    test('per endpoint and per account, the pooled p99 of the known histogram, not the summary beside it nor the largest variant p99', async () => {
      expect(await p99('p99 model latency per endpoint', HISTOGRAM_ACCOUNT)).toEqual([{ labels: { account_id: HISTOGRAM_ACCOUNT, endpoint_name: 'known-histogram', region: 'us-east-2' }, value: HISTOGRAM_P99 }]);
      expect(await p99('p99 model latency: fleet and per account', HISTOGRAM_ACCOUNT, 1)).toEqual([{ labels: { account_id: HISTOGRAM_ACCOUNT }, value: HISTOGRAM_P99 }]);
    });

    test('every account has a p99, histograms or not; the fleet has one', async () => {
      const accounts = (await p99('p99 model latency: fleet and per account', '.*', 1)).map((s) => s.labels.account_id).sort();
      expect(accounts).toEqual([...ACCOUNTS.map((a) => a.id), HISTOGRAM_ACCOUNT].sort());
      expect(await p99('p99 model latency: fleet and per account', '.*')).toHaveLength(1);
    });
  });

  test('every variable query finds values', async () => {
    for (const dashboard of allDashboards()) {
      for (const v of dashboard.templating?.list ?? []) {
        if (v.type !== 'query') continue;
        const match = /^label_values\((\w+)\{(.*)\}, (\w+)\)$/.exec(String(v.query));
        expect(match).not.toBeNull();
        const [, metric, selector, label] = match as unknown as [string, string, string, string];
        const values = await prometheus.query(`count by (${label}) (last_over_time(${metric}{${interpolate(selector, dashboard)}}[3h]))`, Date.now());
        expect({ variable: `${dashboard.uid}/${v.name}`, found: values.length > 0 }).toEqual({ variable: `${dashboard.uid}/${v.name}`, found: true });
      }
    }
  });
});
