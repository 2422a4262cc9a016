import { spawnSync } from 'node:child_process';
import { Catalog, loadDefaultCatalog } from '../../lambda/bridge/catalog/catalog';
import { allFamilies } from '../../lambda/bridge/families';
import { noAuth, RemoteWriteClient } from '../../lambda/bridge/remote-write/client';
import { encodeMetadataRequest } from '../../lambda/bridge/remote-write/encode';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;

describe('Prometheus types and HELP', () => {
  const standIn = new AwsStandIn(defaultFleet('neuron_monitor', 2));
  beforeAll(() => standIn.start());
  afterAll(() => standIn.stop());

  // promtool accepts timestamps in the text format, so the exposition is checked exactly as printed.
  const dryRun = async (latency: string) => {
    const run = await runBridge(['--dry-run', '--now', String(Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE)], { ...standIn.env(), INFERWATCH_CONFIG: JSON.stringify({ latency }) });
    expect(run.code).toBe(0);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: run.stdout, encoding: 'utf8' });
    expect({ status: promtool.status, out: promtool.stdout + promtool.stderr }).toEqual({ status: 0, out: '' });
    // Every family has exactly one HELP and one TYPE.
    const help = run.stdout.match(/^# HELP \S+/gm) ?? [];
    expect(new Set(help).size).toBe(help.length);
    expect(help.length).toBe((run.stdout.match(/^# TYPE /gm) ?? []).length);
    return { text: run.stdout, types: run.stdout.split('\n').filter((l) => /^# TYPE aws_sagemaker_model_latency_/.test(l)) };
  };

  test('bridge --dry-run passes promtool check metrics with no warnings: latency summary', async () => {
    const { text, types } = await dryRun('summary');
    expect(types).toEqual(['# TYPE aws_sagemaker_model_latency_seconds summary']);
    expect(text).toMatch(/^aws_sagemaker_model_latency_seconds_count\{/m);
    expect(text).toMatch(/^aws_sagemaker_model_latency_seconds\{.*quantile="0\.99".*\} /m);
    expect(text).not.toContain('_bucket{');
  });

  test('bridge --dry-run passes promtool check metrics with no warnings: latency histogram (the default), buckets in le order', async () => {
    const { text, types } = await dryRun('histogram');
    expect(types).toEqual(['# TYPE aws_sagemaker_model_latency_seconds histogram']);
    expect(text).not.toMatch(/quantile="/);
    // One variant's buckets at one timestamp: every edge, in le order, cumulative.
    const lines = text.split('\n').filter((l) => l.startsWith('aws_sagemaker_model_latency_seconds_bucket{endpoint_name="image-classifier"'));
    const last = Math.max(...lines.map((l) => Number(l.split(' ')[2])));
    const at = lines.filter((l) => Number(l.split(' ')[2]) === last).map((l) => [/le="([^"]+)"/.exec(l)?.[1], Number(l.split(' ')[1])] as const);
    expect(at.map(([le]) => le)).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    expect(at.every(([, v], i) => i === 0 || v >= (at[i - 1]?.[1] ?? 0))).toBe(true);
    const count = text.split('\n').find((l) => l.startsWith('aws_sagemaker_model_latency_seconds_count{endpoint_name="image-classifier"') && l.endsWith(` ${last}`));
    expect(Number(count?.split(' ')[1])).toBe(at[at.length - 1]?.[1]);
  });

  test('bridge --dry-run passes promtool check metrics with no warnings: latency both, quantiles in their own summary family', async () => {
    const { text, types } = await dryRun('both');
    expect(types).toEqual(['# TYPE aws_sagemaker_model_latency_seconds histogram', '# TYPE aws_sagemaker_model_latency_quantile_seconds summary']);
    expect(text).toMatch(/^aws_sagemaker_model_latency_quantile_seconds\{.*quantile="0\.99".*\} /m);
    expect(text).toMatch(/^aws_sagemaker_model_latency_seconds_bucket\{.*le="\+Inf".*\} /m);
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
