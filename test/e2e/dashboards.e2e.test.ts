import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDashboards } from '../../lib/grafana-workspace/dashboards';
import { AwsStandIn, defaultFleet } from '../support/aws-stand-in';
import { LocalPrometheus } from '../support/prometheus';
import { runBridge } from '../support/run-bridge';

const MINUTE = 60_000;

/** Queries that are right to be empty on the stand-in's data, and why. */
const EMPTY_IS_RIGHT: Record<string, string> = {};

/** Grafana's variables as a dashboard viewer with "All" selected would send them. */
function interpolate(expr: string): string {
  return expr
    .replace(/\$__rate_interval/g, '5m')
    .replace(/\$__range/g, '1h')
    .replace(/\$(account_id|region|endpoint_name|instance_id)\b/g, '.*');
}

describe('dashboards against bridge data in a real Prometheus', () => {
  const standIn = new AwsStandIn(defaultFleet());
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-dash-'));
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 90 * MINUTE;
  const panels = allDashboards().flatMap((d) => (d.panels ?? []).map((p) => ({ dashboard: d.title, panel: p as { title?: string; type: string; targets?: Array<{ expr?: string; legendFormat?: string }> } })));

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    const config = join(work, 'c.yaml');
    writeFileSync(config, `accountId: "123456789012"\ninitialLookback: 1h\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
    // Two cycles: write results reach the self-metrics one cycle later.
    for (const now of [t0, t0 + 5 * MINUTE]) {
      const run = await runBridge(['--once', '--config', config, '--state-dir', join(work, 'state'), '--now', String(now)], standIn.env());
      if (run.code !== 0) throw new Error(run.stderr);
    }
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
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
          const result = await prometheus.queryRange(interpolate(target.expr), t0 - 60 * MINUTE, t0 + 10 * MINUTE, 60);
          if (result.length === 0 && !(target.legendFormat && EMPTY_IS_RIGHT[target.legendFormat])) failures.push(`${where}: no data`);
        } catch (error) {
          failures.push(`${where}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test('every variable query finds values', async () => {
    for (const d of allDashboards()) {
      for (const v of d.templating?.list ?? []) {
        if (v.type !== 'query') continue;
        const match = /^label_values\((\w+)\{(.*)\}, (\w+)\)$/.exec(String(v.query));
        expect(match).not.toBeNull();
        const [, metric, selector, label] = match as unknown as [string, string, string, string];
        const values = await prometheus.query(`count by (${label}) (last_over_time(${metric}{${interpolate(selector)}}[2h]))`, t0 + 10 * MINUTE);
        expect({ variable: `${d.uid}/${v.name}`, found: values.length > 0 }).toEqual({ variable: `${d.uid}/${v.name}`, found: true });
      }
    }
  });
});
