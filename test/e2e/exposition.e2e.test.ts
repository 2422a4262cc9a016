import { spawnSync } from 'node:child_process';
import { Catalog, loadDefaultCatalog } from '../../lambda/bridge/catalog/catalog';
import { allFamilies } from '../../lambda/bridge/families';
import { noAuth, RemoteWriteClient } from '../../lambda/bridge/remote-write/client';
import { encodeMetadataRequest } from '../../lambda/bridge/remote-write/encode';
import { AwsStandIn, defaultFleet } from '../support/aws-stand-in';
import { LocalPrometheus } from '../support/prometheus';
import { runBridge } from '../support/run-bridge';

const MINUTE = 60_000;

describe('Prometheus types and HELP', () => {
  const standIn = new AwsStandIn(defaultFleet('neuron_monitor', 2));
  beforeAll(() => standIn.start());
  afterAll(() => standIn.stop());

  // promtool accepts timestamps in the text format, so the exposition is checked exactly as printed.
  test('bridge --dry-run passes promtool check metrics with no warnings (default profile)', async () => {
    const run = await runBridge(['--dry-run', '--now', String(Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE)], standIn.env());
    expect(run.code).toBe(0);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: run.stdout, encoding: 'utf8' });
    expect({ status: promtool.status, out: promtool.stdout + promtool.stderr }).toEqual({ status: 0, out: '' });
    const types = run.stdout.split('\n').filter((l) => l.startsWith('# TYPE aws_sagemaker_model_latency_seconds'));
    expect(types).toEqual(['# TYPE aws_sagemaker_model_latency_seconds summary']);
    expect(run.stdout).toMatch(/^aws_sagemaker_model_latency_seconds_count\{/m);
    expect(run.stdout).toMatch(/^aws_sagemaker_model_latency_seconds\{.*quantile="0\.99".*\} /m);
    // Every family has exactly one HELP and one TYPE.
    const help = run.stdout.match(/^# HELP \S+/gm) ?? [];
    expect(new Set(help).size).toBe(help.length);
    expect(help.length).toBe((run.stdout.match(/^# TYPE /gm) ?? []).length);
  });

  test('a metadata-only remote-write request is accepted by Prometheus', async () => {
    const prometheus = await new LocalPrometheus().start();
    try {
      const client = new RemoteWriteClient({ url: prometheus.remoteWriteUrl, authorize: noAuth(), timeoutMs: 5000, maxAttempts: 1, deadline: () => Date.now() + 10_000 });
      expect(await client.send(encodeMetadataRequest(allFamilies(new Catalog(loadDefaultCatalog()))))).toEqual({ status: 'ok', attempts: 1 });
    } finally {
      await prometheus.stop();
    }
  });
});
