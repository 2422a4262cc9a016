/**
 * `npm run demo`: a local Prometheus fed by the real bridge CLI from simulated SageMaker and Neuron traffic
 * (the CloudWatch/SageMaker stand-in). Prints PromQL to try, then keeps one cycle a minute going until Ctrl-C.
 * `npm run demo -- --once` runs one cycle, prints the answers and exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsStandIn, defaultFleet } from './aws-stand-in';
import { ensurePrometheus, freePort, LocalPrometheus } from './prometheus';
import { spawnBridge } from './run-bridge';

const QUERIES: Array<[string, string]> = [
  ['requests per second by endpoint', 'sum by (endpoint_name) (rate(aws_sagemaker_invocations_total[5m]))'],
  ['share of 5XX errors', 'sum(rate(aws_sagemaker_invocation_5xx_errors_total[15m])) / sum(rate(aws_sagemaker_invocations_total[15m]))'],
  ['p99 model latency, seconds', 'max by (endpoint_name) (aws_sagemaker_model_latency_seconds{quantile="0.99"})'],
  ['mean model latency, seconds', 'sum by (endpoint_name) (rate(aws_sagemaker_model_latency_seconds_sum[5m])) / sum by (endpoint_name) (rate(aws_sagemaker_model_latency_seconds_count[5m]))'],
  ['CPU per variant (1 = one core)', 'aws_sagemaker_endpoint_cpu_utilization_ratio'],
  ['instances running vs desired', 'aws_sagemaker_variant_instances'],
  ['busiest NeuronCore', 'max by (instance_id) (neuroncore_utilization_ratio)'],
  ['invocations in the last hour', 'sum by (endpoint_name) (increase(aws_sagemaker_invocations_total[1h]))'],
  ['bridge lag, seconds', 'inferwatch_bridge_lag_seconds'],
  ['metrics GetMetricData billed', 'inferwatch_bridge_cloudwatch_metrics_requested_total'],
];

async function waitFor(prometheus: LocalPrometheus, promql: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await prometheus.query(promql, Date.now())).length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no data for ${promql} after ${timeoutMs / 1000}s`);
}

function formatSample(metric: Record<string, string>, value: number): string {
  const labels = Object.entries(metric)
    .filter(([k]) => !['__name__', 'region', 'account_id'].includes(k))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return `      ${labels || '(total)'}  ${Number.isInteger(value) ? value : value.toFixed(4)}`;
}

async function main(): Promise<void> {
  const once = process.argv.includes('--once');
  ensurePrometheus((line) => process.stdout.write(`${line}\n`));
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-demo-'));
  const standIn = await new AwsStandIn(defaultFleet('neuron_monitor', 3)).start();
  const prometheus = new LocalPrometheus();
  // Prometheus' usual port when it is free (Debian's package may already run one there).
  await prometheus.start((await isFree(9090)) ? 9090 : await freePort());
  const config = join(work, 'inferwatch.yaml');
  writeFileSync(config, `# written by npm run demo\naccountId: "123456789012"\ninitialLookback: 45m\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\nstate:\n  type: file\n  directory: ${join(work, 'state')}\n`);

  process.stdout.write(`inferwatch demo
  Prometheus          ${prometheus.url}  (remote-write receiver on)
  CloudWatch/SageMaker stand-in ${standIn.url}  (5 endpoints, 6 variants, one inf1 host)
  bridge config       ${config}
  running: inferwatch bridge ${once ? '--once ' : ''}--config ${config}\n\n`);

  const bridge = spawnBridge([...(once ? ['--once'] : []), '--config', config], standIn.env());
  bridge.child.stderr?.on('data', (d: Buffer) => process.stderr.write(d.toString().split('\n').filter((l) => l.startsWith('inferwatch:')).map((l) => `  ${l}\n`).join('')));
  const cleanup = async () => {
    bridge.child.kill('SIGTERM');
    await bridge.done;
    await prometheus.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(0)));

  try {
    if (once) {
      const run = await bridge.done;
      if (run.code !== 0) throw new Error(`bridge exited with ${run.code}:\n${run.stderr}`);
    }
    await waitFor(prometheus, 'inferwatch_bridge_lag_seconds', 60_000);
    process.stdout.write('\nPromQL to try (answers from this Prometheus now):\n');
    for (const [title, promql] of QUERIES) {
      const result = await prometheus.query(promql, Date.now());
      process.stdout.write(`\n  # ${title}\n  ${promql}\n`);
      for (const sample of result.slice(0, 6)) process.stdout.write(`${formatSample(sample.metric, sample.value)}\n`);
      if (result.length > 6) process.stdout.write(`      ... ${result.length - 6} more\n`);
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  if (once) {
    await cleanup();
    return;
  }
  process.stdout.write(`\nOpen ${prometheus.url}/graph and paste any of these. One bridge cycle runs per minute; Ctrl-C stops everything.\n`);
}

async function isFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
    return false;
  } catch {
    return true;
  }
}

main().catch((error: Error) => {
  process.stderr.write(`demo failed: ${error.message}\n`);
  process.exit(1);
});
