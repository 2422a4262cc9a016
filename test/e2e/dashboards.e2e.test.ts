import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { forHost, renderCollectorConfig } from '../../lib/neuron-collector/render';
import { AwsStandIn, defaultFleet } from '../support/aws-stand-in';
import { LocalPrometheus } from '../support/prometheus';
import { answerKey, compareAnswers, periodsIn } from '../support/demo-queries';
import { runBridge } from '../support/run-bridge';

const MINUTE = 60_000;
const FIXTURES = join(__dirname, '..', 'fixtures');
/** The neuron-monitor fixture's host: TorchServe's series get its id from the collector config. */
const HOST = 'i-0823d657f57057590';

/** Queries that are right to be empty on the stand-in's data, and why. */
const EMPTY_IS_RIGHT: Record<string, string> = {};

/** Grafana's variables as a dashboard viewer with "All" selected would send them. */
function interpolate(expr: string): string {
  return expr
    .replace(/\$__rate_interval/g, '5m')
    .replace(/\$__range/g, '1h')
    .replace(/\$(account_id|region|endpoint_name|instance_id|model_name)\b/g, '.*');
}

describe('dashboards against bridge data in a real Prometheus', () => {
  const standIn = new AwsStandIn(defaultFleet());
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-dash-'));
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 90 * MINUTE;
  const servers: Server[] = [];
  const panels = allDashboards().flatMap((d) => (d.panels ?? []).map((p) => ({ dashboard: d.title, panel: p as { title?: string; type: string; targets?: Array<{ expr?: string; legendFormat?: string }> } })));

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
    const config = join(work, 'c.yaml');
    // The latency panels still read the summary quantiles until they move to histogram_quantile (issue 15, item 4).
    writeFileSync(config, `accountId: "123456789012"\ninitialLookback: 45m\nlatency: summary\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
    // Two cycles: write results reach the self-metrics one cycle later.
    for (const now of [t0, t0 + 5 * MINUTE]) {
      const run = await runBridge(['--once', '--config', config, '--state-dir', join(work, 'state'), '--now', String(now)], standIn.env());
      if (run.code !== 0) throw new Error(run.stderr);
    }
    // Then a host as the collector sees it: neuron-monitor and TorchServe, scraped with the collector's rendered config.
    const rendered = renderCollectorConfig({
      scrapeIntervalSeconds: 2,
      exporterPort: await serve('neuron-monitor/exporter-running.prom'),
      torchServe: { port: await serve('torchserve/metrics.prom'), path: '/metrics' },
      accountId: '123456789012',
      region: 'us-east-2',
      remoteWriteUrl: 'https://aps-workspaces.us-east-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      workspaceRegion: 'us-east-2',
    });
    prometheus.reload(toYaml(parseYaml(forHost(rendered, HOST)).receivers.prometheus.config));
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

  test('the three dashboards default to the provisioned data source and filter by account and region', () => {
    expect(allDashboards().map((d) => d.uid)).toEqual(['inferwatch-sagemaker', 'inferwatch-neuron', 'inferwatch-bridge']);
    for (const d of allDashboards()) {
      const names = (d.templating?.list ?? []).map((v) => v.name);
      expect(names.slice(0, 3)).toEqual(['datasource', 'account_id', 'region']);
    }
    expect(panels.length).toBeGreaterThan(15);
  });

  test('every panel query is valid PromQL and returns data', async () => {
    const failures: string[] = [];
    for (const { dashboard, panel } of panels) {
      for (const target of panel.targets ?? []) {
        if (!target.expr) continue;
        const where = `${dashboard} / ${panel.title} / ${target.legendFormat}`;
        try {
          // Bridge data sits around t0, scraped data in the last seconds: the range ends exactly at now to see both.
          const now = Date.now();
          const result = await prometheus.queryRange(interpolate(target.expr), now - Math.ceil((now - t0) / MINUTE + 60) * MINUTE, now, 60);
          if (result.length === 0 && !(target.legendFormat && EMPTY_IS_RIGHT[target.legendFormat])) failures.push(`${where}: no data`);
        } catch (error) {
          failures.push(`${where}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  /** A panel's first query, as the dashboard viewer with "All" selected sends it. */
  const panelQuery = (title: string) => interpolate(panels.find((p) => p.panel.title === title)?.panel.targets?.[0]?.expr ?? `missing panel ${title}`);

  test('panels give the right answers on bridge data, not merely some data', async () => {
    // The bridge's last cycle ran at t0 + 5 min: evaluate there, as a dashboard refreshed then would.
    const at = t0 + 5 * MINUTE;
    const periods = periodsIn(at, 15);
    const rates = await prometheus.query(panelQuery('Invocations per second'), at);
    const cpu = await prometheus.query(panelQuery('CPU, memory and disk'), at);
    const variants = standIn.fleet.endpoints.flatMap((e) => e.variants.map((v) => ({ endpoint: e.name, variant: v.name })));
    const dims = (endpoint: string, variant: string) => [
      { Name: 'EndpointName', Value: endpoint },
      { Name: 'VariantName', Value: variant },
    ];
    const key = (m: Record<string, string>) => answerKey({ endpoint_name: m.endpoint_name ?? '', variant_name: m.variant_name ?? '' });
    const trueRates = new Map(variants.map(({ endpoint, variant }) => [key({ endpoint_name: endpoint, variant_name: variant }), periods.reduce((n, p) => n + (standIn.valueAt('AWS/SageMaker', 'Invocations', dims(endpoint, variant), 'Sum', p) ?? 0), 0) / (periods.length * 60)]));
    expect(compareAnswers(trueRates, new Map(rates.map((s) => [key(s.metric), s.value])))).toEqual([]);
    // The newest CPU sample is the last period of the last cycle: its window ended at the settle delay (2 min) before it ran.
    const lastPeriod = Math.floor((at - 2 * MINUTE) / MINUTE) * MINUTE - MINUTE;
    const trueCpu = new Map(variants.map(({ endpoint, variant }) => [key({ endpoint_name: endpoint, variant_name: variant }), (standIn.valueAt('/aws/sagemaker/Endpoints', 'CPUUtilization', dims(endpoint, variant), 'Average', lastPeriod) ?? NaN) * 0.01]));
    expect(compareAnswers(trueCpu, new Map(cpu.map((s) => [key(s.metric), s.value])))).toEqual([]);
  });

  test('every variable query finds values', async () => {
    for (const d of allDashboards()) {
      for (const v of d.templating?.list ?? []) {
        if (v.type !== 'query') continue;
        const match = /^label_values\((\w+)\{(.*)\}, (\w+)\)$/.exec(String(v.query));
        expect(match).not.toBeNull();
        const [, metric, selector, label] = match as unknown as [string, string, string, string];
        const values = await prometheus.query(`count by (${label}) (last_over_time(${metric}{${interpolate(selector)}}[3h]))`, Date.now());
        expect({ variable: `${d.uid}/${v.name}`, found: values.length > 0 }).toEqual({ variable: `${d.uid}/${v.name}`, found: true });
      }
    }
  });
});
