import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Catalog } from '../../lambda/bridge/catalog/catalog';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet, instanceIdOf, type Dimension } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';
import { ASYNC_FAILURE_COUNTERS, ASYNC_LATENCY_SUMMARIES, COMPONENT_ENDPOINT_GAUGES, COMPONENT_UTILISATION, MME_LOADING_SUMMARIES } from '../support/harness/shape-metrics';

const MINUTE = 60_000;
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
const ACCOUNT = '123456789012';
const SM = 'AWS/SageMaker';
const ENDPOINTS = '/aws/sagemaker/Endpoints';
const COMPONENTS = '/aws/sagemaker/InferenceComponents';

type Labels = Record<string, string>;

/** One CloudWatch metric of one shape and the Prometheus series it must become. */
interface Expectation {
  readonly namespace: string;
  readonly metric: string;
  readonly dimensions: readonly Dimension[];
  readonly labels: Labels;
  readonly name: string;
  /** `summary` entries the catalog marks `histogram: true` are histograms in the default latency mode. */
  readonly type: 'counter' | 'gauge' | 'summary' | 'histogram';
  /** gauges only */
  readonly stat?: string;
  readonly scale?: number;
  /** summaries only. @default [0.5, 0.9, 0.99] */
  readonly quantiles?: readonly number[];
}

const d = (pairs: Record<string, string>): Dimension[] => Object.entries(pairs).map(([Name, Value]) => ({ Name, Value }));
const variantOf = (endpoint: string) => ({ dims: d({ EndpointName: endpoint, VariantName: 'AllTraffic' }), labels: { endpoint_name: endpoint, variant_name: 'AllTraffic' } });

function expectations(): Expectation[] {
  const list: Expectation[] = [];
  const async = variantOf('orders-async');
  const asyncEndpoint = { dims: d({ EndpointName: 'orders-async' }), labels: { endpoint_name: 'orders-async' } };
  for (const [metric, name, stat] of [
    ['ApproximateBacklogSize', 'aws_sagemaker_async_backlog_size', 'Average'],
    ['ApproximateBacklogSizePerInstance', 'aws_sagemaker_async_backlog_size_per_instance', 'Average'],
    ['ApproximateAgeOfOldestRequest', 'aws_sagemaker_async_oldest_request_age_seconds', 'Maximum'],
    ['HasBacklogWithoutCapacity', 'aws_sagemaker_async_backlog_without_capacity', 'Maximum'],
  ] as const) {
    list.push({ namespace: SM, metric, dimensions: asyncEndpoint.dims, labels: asyncEndpoint.labels, name, type: 'gauge', stat });
  }
  for (const [metric, name] of [...ASYNC_FAILURE_COUNTERS, ['InvocationsProcesssed', 'aws_sagemaker_async_invocations_processed_total'] as const]) {
    list.push({ namespace: SM, metric, dimensions: async.dims, labels: async.labels, name, type: 'counter' });
  }
  for (const [metric, name, scale] of ASYNC_LATENCY_SUMMARIES) {
    list.push({ namespace: SM, metric, dimensions: async.dims, labels: async.labels, name, type: 'histogram', scale });
  }

  const serverless = variantOf('faq-serverless');
  for (const [metric, name, stat, scale] of [
    ['ModelSetupTime', 'aws_sagemaker_model_setup_seconds', 'Average', 1e-6],
    ['ServerlessConcurrentExecutionsUtilization', 'aws_sagemaker_serverless_concurrent_executions_utilization_ratio', 'Average', 1],
    ['ServerlessProvisionedConcurrencyExecutions', 'aws_sagemaker_serverless_provisioned_concurrency_executions', 'Maximum', 1],
    ['ServerlessProvisionedConcurrencyUtilization', 'aws_sagemaker_serverless_provisioned_concurrency_utilization_ratio', 'Average', 1],
  ] as const) {
    list.push({ namespace: SM, metric, dimensions: serverless.dims, labels: serverless.labels, name, type: 'gauge', stat, scale });
  }
  for (const [metric, name] of [
    ['ServerlessProvisionedConcurrencyInvocations', 'aws_sagemaker_serverless_provisioned_concurrency_invocations_total'],
    ['ServerlessProvisionedConcurrencySpilloverInvocations', 'aws_sagemaker_serverless_provisioned_concurrency_spillover_invocations_total'],
  ] as const) {
    list.push({ namespace: SM, metric, dimensions: serverless.dims, labels: serverless.labels, name, type: 'counter' });
  }

  const mme = variantOf('tenant-models');
  for (const [metric, name] of MME_LOADING_SUMMARIES) {
    list.push({ namespace: SM, metric, dimensions: mme.dims, labels: mme.labels, name, type: 'summary', scale: 1e-6, quantiles: [] });
  }
  list.push({ namespace: SM, metric: 'ModelCacheHit', dimensions: mme.dims, labels: mme.labels, name: 'aws_sagemaker_model_cache_hit_ratio', type: 'gauge', stat: 'Average' });
  list.push({ namespace: ENDPOINTS, metric: 'LoadedModelCount', dimensions: mme.dims, labels: mme.labels, name: 'aws_sagemaker_endpoint_loaded_models', type: 'gauge', stat: 'Maximum' });

  const hub = variantOf('llm-hub');
  for (const [metric, name] of COMPONENT_ENDPOINT_GAUGES) {
    list.push({ namespace: ENDPOINTS, metric, dimensions: hub.dims, labels: hub.labels, name, type: 'gauge', stat: 'Average', scale: 0.01 });
  }
  for (const component of ['llm-chat', 'llm-embed']) {
    const ic = { dims: d({ InferenceComponentName: component }), labels: { inference_component_name: component } };
    list.push(
      { namespace: SM, metric: 'Invocations', dimensions: ic.dims, labels: ic.labels, name: 'aws_sagemaker_invocations_total', type: 'counter' },
      { namespace: SM, metric: 'InvocationsPerCopy', dimensions: ic.dims, labels: ic.labels, name: 'aws_sagemaker_invocations_per_copy_total', type: 'counter' },
      { namespace: SM, metric: 'ConcurrentRequestsPerCopy', dimensions: ic.dims, labels: ic.labels, name: 'aws_sagemaker_concurrent_requests_per_copy', type: 'gauge', stat: 'Maximum' },
      { namespace: SM, metric: 'ModelLatency', dimensions: ic.dims, labels: ic.labels, name: 'aws_sagemaker_model_latency_seconds', type: 'histogram', scale: 1e-6 },
    );
    for (const [metric, name] of COMPONENT_UTILISATION) {
      list.push({ namespace: COMPONENTS, metric, dimensions: ic.dims, labels: ic.labels, name, type: 'gauge', stat: 'Average', scale: 0.01 });
    }
    for (let i = 0; i < 2; i++) {
      const enhanced = { InferenceComponentName: component, InstanceId: instanceIdOf('llm-hub', i), ContainerId: `${component}-c${i}`, AcceleratorId: '0' };
      list.push({
        namespace: COMPONENTS,
        metric: 'GPUUtilizationNormalized',
        dimensions: d(enhanced),
        labels: { inference_component_name: component, instance_id: enhanced.InstanceId, container_id: enhanced.ContainerId, accelerator_id: '0' },
        name: 'aws_sagemaker_inference_component_gpu_utilization_ratio',
        type: 'gauge',
        stat: 'Average',
        scale: 0.01,
      });
    }
  }

  // Enhanced metrics on a real-time endpoint: per-instance series beside the per-variant ones, which keep their labels.
  const ranker = variantOf('ranker');
  list.push(
    { namespace: SM, metric: 'Invocations', dimensions: ranker.dims, labels: ranker.labels, name: 'aws_sagemaker_invocations_total', type: 'counter' },
    { namespace: SM, metric: 'InvocationsPerInstance', dimensions: ranker.dims, labels: ranker.labels, name: 'aws_sagemaker_invocations_per_instance_total', type: 'counter' },
    { namespace: SM, metric: 'ConcurrentRequestsPerModel', dimensions: ranker.dims, labels: ranker.labels, name: 'aws_sagemaker_concurrent_requests_per_model', type: 'gauge', stat: 'Maximum' },
    { namespace: ENDPOINTS, metric: 'CPUUtilization', dimensions: ranker.dims, labels: ranker.labels, name: 'aws_sagemaker_endpoint_cpu_utilization_ratio', type: 'gauge', stat: 'Average', scale: 0.01 },
  );
  for (const endpoint of ['ranker', 'llm-hub']) {
    const variant = variantOf(endpoint);
    for (let i = 0; i < 2; i++) {
      const instanceId = instanceIdOf(endpoint, i);
      const dims = [...variant.dims, { Name: 'InstanceId', Value: instanceId }];
      const labels = { ...variant.labels, instance_id: instanceId };
      if (endpoint === 'ranker') list.push({ namespace: SM, metric: 'Invocations', dimensions: dims, labels, name: 'aws_sagemaker_invocations_total', type: 'counter' });
      list.push(
        { namespace: ENDPOINTS, metric: 'CPUUtilization', dimensions: dims, labels, name: 'aws_sagemaker_endpoint_cpu_utilization_ratio', type: 'gauge', stat: 'Average', scale: 0.01 },
        {
          namespace: ENDPOINTS,
          metric: 'GPUUtilization',
          dimensions: [...dims, { Name: 'AcceleratorId', Value: '0' }],
          labels: { ...labels, accelerator_id: '0' },
          name: 'aws_sagemaker_endpoint_gpu_utilization_ratio',
          type: 'gauge',
          stat: 'Average',
          scale: 0.01,
        },
      );
    }
  }
  return list;
}

describe('every inference shape end to end: CLI -> CloudWatch stand-in (shapes on) -> real Prometheus', () => {
  const standIn = new AwsStandIn(defaultFleet('neuron_monitor', 0, { shapes: true }));
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-shapes-'));
  const configFile = join(work, 'inferwatch.yaml');
  // Two hours back, so Prometheus accepts every timestamp. The first cycle reads the 15 settled periods before t0 - 2 min.
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 120 * MINUTE;
  const first = t0 - 17 * MINUTE;
  const last = t0 - 3 * MINUTE;
  const periods = Array.from({ length: (last - first) / MINUTE + 1 }, (_, i) => first + i * MINUTE);
  const all = expectations();
  let dryRun = '';

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    writeFileSync(configFile, `accountId: "${ACCOUNT}"\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
    const dry = await runBridge(['--dry-run', '--config', configFile, '--state-dir', join(work, 'dry'), '--now', String(t0)], standIn.env());
    expect(dry.code).toBe(0);
    dryRun = dry.stdout;
    const run = await runBridge(['--once', '--config', configFile, '--state-dir', join(work, 'state'), '--now', String(t0)], standIn.env());
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('wrote') as unknown });
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const exact = (name: string, labels: Labels, extra: Labels = {}) => ({ __name__: name, account_id: ACCOUNT, region: 'us-east-2', ...labels, ...extra });
  const selector = (name: string, labels: Labels) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  /** CloudWatch's Sum of every period read, times `scale`: what a counter built from it reads at `last`. */
  const total = (e: Expectation, stat: string, scale: number) => periods.reduce((sum, t) => sum + (standIn.valueAt(e.namespace, e.metric, e.dimensions, stat, t) ?? 0) * scale, 0);

  /** The one series with exactly these labels (no more): its latest value at `last`. */
  const counterAt = async (name: string, labels: Labels, extra: Labels = {}) => {
    // A counter gets a sample only in periods CloudWatch has a datapoint for: its latest is its total.
    const found = (await prometheus.query(`last_over_time(${selector(name, { ...labels, ...extra })}[30m])`, last)).filter((s) =>
      isDeepStrictEqual({ __name__: name, ...s.metric }, exact(name, labels, extra)),
    );
    expect(found).toHaveLength(1);
    return found[0]?.value;
  };

  /** Every sample of the one series with exactly these labels: one per period CloudWatch has a datapoint for, in base units. */
  const gaugeSamples = async (name: string, labels: Labels, extra: Labels = {}) => {
    // Spread: the answer's objects come from another realm than Jest's, which strict equality would tell apart.
    const found = (await prometheus.rawSamples(`${selector(name, { ...labels, ...extra })}[30m]`, last)).filter((s) => isDeepStrictEqual({ ...s.metric }, exact(name, labels, extra)));
    expect(found).toHaveLength(1);
    return found[0]?.values ?? [];
  };
  const expectedSamples = (e: Expectation, stat: string, scale: number) =>
    periods.flatMap((t) => {
      const v = standIn.valueAt(e.namespace, e.metric, e.dimensions, stat, t);
      return v === undefined ? [] : [[t, v * scale]];
    });

  test('every new series name arrives in Prometheus', async () => {
    const names = await prometheus.seriesNames();
    const wanted = new Set(
      all.flatMap((e) => {
        if (e.type === 'histogram') return [`${e.name}_bucket`, `${e.name}_sum`, `${e.name}_count`];
        return e.type === 'summary' ? [e.name, `${e.name}_sum`, `${e.name}_count`].filter((n) => n !== e.name || (e.quantiles ?? [0.5]).length > 0) : [e.name];
      }),
    );
    expect(names).toEqual(expect.arrayContaining([...wanted]));
  });

  test.each(all.filter((e) => e.type === 'gauge').map((e) => [`${e.name} ${JSON.stringify(e.labels)}`, e] as const))('gauge %s: every period, exact labels, base units', async (_, e) => {
    const samples = await gaugeSamples(e.name, e.labels);
    const want = expectedSamples(e, e.stat ?? 'Average', e.scale ?? 1);
    expect(samples.map(([t]) => t)).toEqual(want.map(([t]) => t));
    samples.forEach(([, v], i) => expect(v).toBeCloseTo(want[i]?.[1] ?? NaN, 9));
    expect(want.length).toBeGreaterThan(0);
  });

  test.each(all.filter((e) => e.type === 'counter').map((e) => [`${e.name} ${JSON.stringify(e.labels)}`, e] as const))('counter %s: the running total of every period Sum', async (_, e) => {
    expect(await counterAt(e.name, e.labels)).toBeCloseTo(total(e, 'Sum', 1), 9);
  });

  test.each(all.filter((e) => e.type === 'summary').map((e) => [`${e.name} ${JSON.stringify(e.labels)}`, e] as const))('summary %s: _sum in seconds, _count, quantiles', async (_, e) => {
    const scale = e.scale ?? 1;
    expect(await counterAt(`${e.name}_sum`, e.labels)).toBeCloseTo(total(e, 'Sum', scale), 6);
    expect(await counterAt(`${e.name}_count`, e.labels)).toBe(total(e, 'SampleCount', 1));
    for (const q of e.quantiles ?? [0.5, 0.9, 0.99]) {
      const samples = await gaugeSamples(e.name, e.labels, { quantile: String(q) });
      const want = expectedSamples(e, `p${Math.round(q * 100)}`, scale);
      expect(samples.map(([t, v]) => [t, Number(v.toPrecision(12))])).toEqual(want.map(([t, v]) => [t, Number(v?.toPrecision(12))]));
    }
    if ((e.quantiles ?? [0.5]).length === 0) expect(await prometheus.query(selector(e.name, e.labels), last)).toEqual([]);
  });

  test.each(all.filter((e) => e.type === 'histogram').map((e) => [`${e.name} ${JSON.stringify(e.labels)}`, e] as const))('histogram %s: _sum in seconds, _count, each bucket the running total of TC(:edge)', async (_, e) => {
    expect(await counterAt(`${e.name}_sum`, e.labels)).toBeCloseTo(total(e, 'Sum', e.scale ?? 1), 6);
    const count = total(e, 'SampleCount', 1);
    expect(await counterAt(`${e.name}_count`, e.labels)).toBe(count);
    const buckets = catalog.resolve(e.namespace, e.metric).series.filter((t) => t.constLabels.le !== undefined);
    expect(buckets.length).toBeGreaterThan(5);
    for (const bucket of buckets) {
      const le = bucket.constLabels.le as string;
      const want = le === '+Inf' ? count : total(e, bucket.stat, 1);
      expect([le, await counterAt(`${e.name}_bucket`, e.labels, { le })]).toEqual([le, expect.closeTo(want, 6)]);
    }
    expect(await prometheus.query(selector(e.name, e.labels), last)).toEqual([]);
  });

  test('bridge --dry-run declares each family with its type and catalog HELP, and promtool check metrics passes', () => {
    for (const e of all) {
      expect(dryRun).toContain(`# TYPE ${e.name} ${e.type}\n`);
      expect(dryRun).toMatch(new RegExp(`^# HELP ${e.name} .*CloudWatch ${e.namespace} ${e.metric}`, 'm'));
    }
    expect(dryRun).toMatch(/^# HELP aws_sagemaker_invocations_per_instance_total Per-instance normalised invocations, not a count of requests/m);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: dryRun, encoding: 'utf8' });
    expect({ status: promtool.status, out: promtool.stdout + promtool.stderr }).toEqual({ status: 0, out: '' });
  });
});
