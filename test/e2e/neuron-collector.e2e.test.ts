import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { forHost, renderCollectorConfig } from '../../lib/neuron-collector/render';
import { LocalPrometheus } from '../support/prometheus';

/** Real output of neuron-monitor-prometheus.py on an inf1.xlarge (copies of shared/fixtures, checked unedited). */
const FIXTURES = join(__dirname, '..', 'fixtures', 'neuron-monitor');
const DROPPED = /^(python_gc_.*|python_info|process_.*|.*_created)$/;
const ACCOUNT = '123456789012';
const INSTANCE = 'i-0823d657f57057590';

interface ExposedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the text exposition format (what the exporter serves). */
function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = JSON.parse(`"${pair[2]}"`) as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

function identity(name: string, labels: Record<string, string>): string {
  const kept = Object.entries(labels)
    .filter(([key, value]) => value !== '' && !['__name__', 'job', 'instance', 'account_id'].includes(key))
    .sort(([a], [b]) => a.localeCompare(b));
  return `${name}{${kept.map(([k, v]) => `${k}=${v}`).join(',')}}`;
}

describe.each(['exporter-running.prom', 'exporter-idle.prom'])('collector scrape config against %s', (fixture) => {
  const text = readFileSync(join(FIXTURES, fixture), 'utf8');
  const exposed = parseExposition(text);
  const kept = exposed.filter((s) => !DROPPED.test(s.name));
  const prometheus = new LocalPrometheus();
  let exporter: Server;

  beforeAll(async () => {
    exporter = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
    });
    await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
    const rendered = renderCollectorConfig({
      scrapeIntervalSeconds: 2,
      exporterPort: (exporter.address() as AddressInfo).port,
      accountId: ACCOUNT,
      region: 'us-east-2',
      remoteWriteUrl: 'https://aps-workspaces.us-east-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      workspaceRegion: 'us-east-2',
    });
    // Exactly the receiver's scrape config, relabelling included, as the SSM step writes it on the host.
    await prometheus.start(undefined, [], toYaml(parseYaml(forHost(rendered, INSTANCE)).receivers.prometheus.config));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const up = await prometheus.query(`up{job="neuron-monitor", instance="${INSTANCE}", account_id="${ACCOUNT}"} == 1`, Date.now());
      if (up.length === 1 && (await prometheus.query('count({job="neuron-monitor", __name__!~"up|scrape_.*"})', Date.now()))[0]?.value === kept.length) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('Prometheus did not scrape the fixture within 30 s');
  });

  afterAll(async () => {
    await prometheus.stop();
    await new Promise<void>((resolve) => (exporter ? exporter.close(() => resolve()) : resolve()));
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
});
