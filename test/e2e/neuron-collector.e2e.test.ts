import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { forHost, prometheusScrapeConfig, renderCollectorConfig } from '../../lib/neuron-collector/render';
import { freePort, LocalPrometheus } from '../support/harness/prometheus';
import { FIXTURES, TORCHSERVE_FIXTURES, DROPPED, ACCOUNT, REGION, INSTANCE, TORCHSERVE_ARRIVALS, TORCHSERVE_DROPPED, parseExposition, identity, serve, portOf } from './collector-expectations';

describe.each([
  ['exporter-running.prom', 'metrics.prom'],
  ['exporter-idle.prom', 'metrics-filtered.prom'],
])('collector scrape config against %s and TorchServe %s', (fixture, torchServeFixture) => {
  const text = readFileSync(join(FIXTURES, fixture), 'utf8');
  const exposed = parseExposition(text);
  const kept = exposed.filter((s) => !DROPPED.test(s.name));
  const torchServeExposed = parseExposition(readFileSync(join(TORCHSERVE_FIXTURES, torchServeFixture), 'utf8'));
  const sources = new Set(torchServeExposed.map((s) => s.name));
  const arrivals = TORCHSERVE_ARRIVALS.filter((a) => sources.has(a.source));
  const prometheus = new LocalPrometheus();
  let exporter: Server;
  let torchServe: Server;

  beforeAll(async () => {
    exporter = await serve(text);
    torchServe = await serve(readFileSync(join(TORCHSERVE_FIXTURES, torchServeFixture), 'utf8'));
    const rendered = renderCollectorConfig({
      scrapeIntervalSeconds: 2,
      exporterPort: portOf(exporter),
      torchServe: { port: portOf(torchServe), path: '/metrics' },
      // Nothing listens there: a server the host does not run.
      extraScrapeTargets: [{ job: 'triton', port: await freePort() }],
      accountId: ACCOUNT,
      region: REGION,
      remoteWriteUrl: 'https://aps-workspaces.us-east-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      workspaceRegion: REGION,
    });
    // Exactly the receiver's scrape config, relabelling included, as the SSM step writes it on the host.
    await prometheus.start(undefined, [], toYaml(prometheusScrapeConfig(forHost(rendered, INSTANCE))));
    const deadline = Date.now() + 30_000;
    const count = async (selector: string) => (await prometheus.query(`count(${selector})`, Date.now()))[0]?.value;
    while (Date.now() < deadline) {
      const up = await prometheus.query(`up{job=~"neuron-monitor|torchserve", instance="${INSTANCE}", account_id="${ACCOUNT}"} == 1`, Date.now());
      if (
        up.length === 2 &&
        (await count('{job="neuron-monitor", __name__!~"up|scrape_.*"}')) === kept.length &&
        (await count('{job="torchserve", __name__!~"up|scrape_.*"}')) === arrivals.length &&
        (await count('up{job="triton"}')) === 1
      )
        return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('Prometheus did not scrape the fixtures within 30 s');
  });

  afterAll(async () => {
    await prometheus.stop();
    for (const server of [exporter, torchServe]) await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  test('about half the exporter output is dropped by the relabelling', () => {
    expect(kept.length).toBeGreaterThan(10);
    expect(exposed.length - kept.length).toBeGreaterThan(exposed.length / 3);
  });

  test('every neuron, execution and system series arrives with its labels and value, plus account_id', async () => {
    const scraped = await prometheus.query('{job="neuron-monitor", __name__!~"up|scrape_.*"}', Date.now());
    const got = new Map(scraped.map((s) => [identity(s.metric.__name__ as string, s.metric), s]));
    const want = new Map(kept.map((s) => [identity(s.name, s.labels), s]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, sample] of want) expect(got.get(key)?.value).toBeCloseTo(sample.value, 9);
    for (const s of scraped) expect(s.metric).toMatchObject({ account_id: ACCOUNT, region: 'us-east-2', instance: INSTANCE, instance_id: INSTANCE, instance_type: 'inf1.xlarge' });
    const families = new Set(kept.map((s) => s.name));
    for (const family of ['system_vcpu_usage_ratio', 'system_memory_used_bytes', 'hardware_ecc_events_total', 'instance_info']) expect(families).toContain(family);
    if (fixture === 'exporter-running.prom') {
      for (const family of ['neuroncore_utilization_ratio', 'execution_latency_seconds', 'execution_errors_total', 'execution_status_total', 'neuron_runtime_memory_used_bytes']) expect(families).toContain(family);
      const core0 = await prometheus.query('neuroncore_utilization_ratio{neuroncore="0"}', Date.now());
      expect(core0[0]?.value).toBeCloseTo(0.8633101879976985, 12);
    }
  });

  test('python_gc_*, python_info, process_* and *_created do not arrive', async () => {
    const leaked = await prometheus.query('{job="neuron-monitor", __name__=~"python_.*|process_.*|.*_created"}', Date.now());
    expect(leaked.map((s) => s.metric.__name__)).toEqual([]);
    expect(exposed.some((s) => s.name.endsWith('_created'))).toBe(true);
  });

  test('the TorchServe table above covers every family the fixture serves', () => {
    for (const family of sources) expect({ family, covered: TORCHSERVE_ARRIVALS.some((a) => a.source === family) || TORCHSERVE_DROPPED.includes(family) }).toEqual({ family, covered: true });
    expect(torchServeExposed.length).toBe(arrivals.length + torchServeExposed.filter((s) => TORCHSERVE_DROPPED.includes(s.name)).length);
  });

  test('every TorchServe series arrives renamed, with exactly the expected labels and its value', async () => {
    const scraped = await prometheus.query('{job="torchserve", __name__!~"up|scrape_.*"}', Date.now());
    const target = { job: 'torchserve', account_id: ACCOUNT, region: REGION, instance: INSTANCE, instance_id: INSTANCE };
    const byKey = (metric: Record<string, string>) => JSON.stringify(Object.entries(metric).sort(([a], [b]) => a.localeCompare(b)));
    const got = new Map(scraped.map((s) => [byKey(s.metric), s.value]));
    const want = new Map(arrivals.map((a) => [byKey({ __name__: a.name, ...target, ...a.labels }), a.value]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, value] of want) expect({ key, value: got.get(key) }).toEqual({ key, value });
  });

  test("TorchServe's host gauges, its hostnames and its Level label do not arrive", async () => {
    const leaked = await prometheus.query(`{job="torchserve", __name__=~"${TORCHSERVE_DROPPED.join('|')}|Requests.*|[A-Z].*"}`, Date.now());
    expect(leaked.map((s) => s.metric.__name__)).toEqual([]);
    for (const label of ['Hostname', 'hostname', 'Level', 'ModelName', 'WorkerName']) expect(await prometheus.query(`{job="torchserve", ${label}!=""}`, Date.now())).toEqual([]);
    if (torchServeFixture === 'metrics.prom') expect(torchServeExposed.filter((s) => TORCHSERVE_DROPPED.includes(s.name))).toHaveLength(7);
  });

  test('a server the host does not run is up == 0 under its job, with the host labels', async () => {
    const up = await prometheus.query('up{job="triton"}', Date.now());
    expect(up).toEqual([{ metric: { __name__: 'up', job: 'triton', account_id: ACCOUNT, region: REGION, instance: INSTANCE, instance_id: INSTANCE }, value: 0 }]);
  });
});

/** The parts of neuron-monitor's JSON report the exporter's per-core memory gauges come from. */
interface MonitorReport {
  readonly neuron_runtime_data: ReadonlyArray<{
    readonly neuron_runtime_tag: string;
    readonly report: { readonly memory_used: { readonly neuron_runtime_used_bytes: { readonly usage_breakdown: { readonly neuroncore_memory_usage: Record<string, Record<string, number>> } } } };
  }>;
}

/** The five kinds neuron-monitor-prometheus.py (Neuron 2.x) serves as neuroncore_memory_usage_<kind>, one gauge per core. */
const CORE_MEMORY_KINDS = ['constants', 'model_code', 'model_shared_scratchpad', 'runtime_memory', 'tensors'];

/**
 * What a Neuron 2.x exporter serves beside the captured families, from the same report: per core and kind, a gauge with
 * the runtime's labels, `neuroncore`, and `memory_location` left "None" (the exporter sets the label and never fills it).
 */
function coreMemoryGauges(exposition: string, report: MonitorReport): string {
  const runtime = report.neuron_runtime_data[0];
  if (!runtime) throw new Error('the report has no runtime');
  const latency = parseExposition(exposition).find((s) => s.name === 'execution_latency_seconds');
  if (!latency) throw new Error('the exposition has no execution_latency_seconds to take the runtime labels from');
  const labels = Object.fromEntries(Object.entries(latency.labels).filter(([name]) => name !== 'percentile'));
  const lines: string[] = [];
  for (const kind of CORE_MEMORY_KINDS) {
    lines.push(`# HELP neuroncore_memory_usage_${kind} NeuronCore memory utilization for ${kind}`, `# TYPE neuroncore_memory_usage_${kind} gauge`);
    for (const [core, usage] of Object.entries(runtime.report.memory_used.neuron_runtime_used_bytes.usage_breakdown.neuroncore_memory_usage)) {
      const all: Record<string, string> = { ...labels, memory_location: 'None', neuroncore: core };
      const text = Object.keys(all)
        .sort()
        .map((k) => `${k}="${all[k]}"`)
        .join(',');
      lines.push(`neuroncore_memory_usage_${kind}{${text}} ${usage[kind]}`);
    }
  }
  return `${exposition}${lines.join('\n')}\n`;
}

/** What the exporter before Neuron 2.x served for the same data: the execution_* families were inference_*. */
function pre2Names(exposition: string): string {
  return exposition.replace(/^(# (?:HELP|TYPE) )?execution_(\w+)( Execution)?/gm, (_m, comment: string | undefined, rest: string, help: string | undefined) => `${comment ?? ''}inference_${rest}${help ? ' Inference' : ''}`);
}

describe('collector scrape config against a Neuron 2.x exporter with per-core memory gauges, and a pre-2.x exporter', () => {
  const captured = readFileSync(join(FIXTURES, 'exporter-running.prom'), 'utf8');
  const report = JSON.parse(readFileSync(join(FIXTURES, 'report-running.json'), 'utf8')) as MonitorReport;
  const current = coreMemoryGauges(captured, report);
  const older = pre2Names(captured);
  const prometheus = new LocalPrometheus();
  const servers: Server[] = [];

  beforeAll(async () => {
    const hosts = [
      { text: current, instance: INSTANCE },
      { text: older, instance: 'i-0000000000000pre2' },
    ];
    const jobs = [];
    for (const host of hosts) {
      const server = await serve(host.text);
      servers.push(server);
      const rendered = renderCollectorConfig({
        scrapeIntervalSeconds: 2,
        exporterPort: portOf(server),
        accountId: ACCOUNT,
        region: REGION,
        remoteWriteUrl: 'https://aps-workspaces.us-east-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
        workspaceRegion: REGION,
      });
      const config = prometheusScrapeConfig(forHost(rendered, host.instance)) as unknown as { global: unknown; scrape_configs: Array<{ job_name: string }> };
      // Two hosts in one Prometheus: the same neuron-monitor job as each host renders it, told apart by instance.
      jobs.push({ global: config.global, job: { ...config.scrape_configs.find((j) => j.job_name === 'neuron-monitor'), job_name: `neuron-monitor-${jobs.length}` } });
    }
    await prometheus.start(undefined, [], toYaml({ global: jobs[0]?.global, scrape_configs: jobs.map((j) => j.job) }));
    const want = parseExposition(current).filter((s) => !DROPPED.test(s.name)).length + parseExposition(older).filter((s) => !DROPPED.test(s.name)).length;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const got = (await prometheus.query('count({job=~"neuron-monitor-.*", __name__!~"up|scrape_.*"})', Date.now()))[0]?.value;
      if (got === want) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('Prometheus did not scrape both exporters within 30 s');
  });

  afterAll(async () => {
    await prometheus.stop();
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the five neuroncore_memory_usage_* gauges arrive for every core, with the values of the report', async () => {
    const usage = report.neuron_runtime_data[0]?.report.memory_used.neuron_runtime_used_bytes.usage_breakdown.neuroncore_memory_usage ?? {};
    expect(Object.keys(usage)).toHaveLength(4);
    for (const kind of CORE_MEMORY_KINDS) {
      const scraped = await prometheus.query(`neuroncore_memory_usage_${kind}{instance="${INSTANCE}"}`, Date.now());
      const got = Object.fromEntries(scraped.map((s) => [s.metric.neuroncore, s.value]));
      expect({ kind, got }).toEqual({ kind, got: Object.fromEntries(Object.entries(usage).map(([core, u]) => [core, u[kind]])) });
      for (const s of scraped) expect(s.metric).toMatchObject({ account_id: ACCOUNT, instance_id: INSTANCE, runtime_tag: '15439', memory_location: 'None' });
    }
    expect((await prometheus.query(`neuroncore_memory_usage_constants{instance="${INSTANCE}", neuroncore="0"}`, Date.now()))[0]?.value).toBe(61766864);
  });

  test('a pre-2.x host: inference_* arrive as execution_*, each series with its labels and value; no inference_* series is left', async () => {
    const oldSamples = parseExposition(older).filter((s) => s.name.startsWith('inference_') && !DROPPED.test(s.name));
    expect(new Set(oldSamples.map((s) => s.name))).toEqual(new Set(['inference_errors_total', 'inference_status_total', 'inference_latency_seconds']));
    const scraped = await prometheus.query('{instance="i-0000000000000pre2", __name__=~"execution_.*"}', Date.now());
    const got = new Map(scraped.map((s) => [identity(s.metric.__name__ as string, s.metric), s.value]));
    const want = new Map(oldSamples.map((s) => [identity(s.name.replace(/^inference_/, 'execution_'), s.labels), s.value]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, value] of want) expect(got.get(key)).toBeCloseTo(value, 12);
    expect(await prometheus.query('{__name__=~"inference_.*"}', Date.now())).toEqual([]);
    const p99 = await prometheus.query('execution_latency_seconds{percentile="p99"}', Date.now());
    expect(p99.map((s) => s.metric.instance).sort()).toEqual(['i-0000000000000pre2', INSTANCE].sort());
  });
});
