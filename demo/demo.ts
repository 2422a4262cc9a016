/**
 * `npm run demo`: a local Prometheus fed by the real bridge CLI from simulated SageMaker and Neuron traffic
 * (the CloudWatch/SageMaker stand-in, every endpoint shape). Prints PromQL to try with its answers, each checked
 * against the stand-in's own numbers (within 5%; the demo fails otherwise), draws the dashboards' main panels to
 * PNG (demo/out/, ignored by git, or `--png-dir DIR`), then keeps one cycle a minute going until Ctrl-C.
 * The simulated fleet tells a story (demo-alerts.ts, test/support/stand-ins/scenario.ts): traffic follows the time of
 * day, one endpoint is idle, and an incident runs (one variant 50x slower, another answering 40% 5XX). Two vLLM
 * endpoints are served by the CloudWatch PromQL stand-in and read by the bridge's PromQL source (demo-llm.ts); in the
 * incident the chat endpoint's time to first token jumps. The demo's
 * Prometheus evaluates the project's recording rules and alerts, and the demo prints the alerts that fire, with
 * their runbooks; it fails when the incident's alerts do not fire.
 * `npm run demo -- --once` runs one cycle, prints and checks the answers and the alerts, draws the panels and exits.
 * `npm run docs:images` (`--once --docs-images`) draws them into docs/img/ instead, with the hash of the panels that
 * drew them beside them (docs/img/panels.json), which a test compares with the dashboards' code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDashboards } from '../lib/grafana-workspace/dashboards';
import { AwsStandIn } from '../test/support/stand-ins/aws-stand-in';
import { defaultFleet } from '../test/support/stand-ins/fleet';
import { demoScenario, expectedAlerts, formatAlerts, rulesConfig, scenarioLines, waitForAlerts } from './demo-alerts';
import { demoCharts, IMAGES_RECORD, imagesRecord, panelSeries, panelsOf, renderCharts } from './demo-charts';
import { demoLlmFleet, expectedLlmAlerts, llmLines, promqlConfig, startLlmFleet } from './demo-llm';
import { applyScenario } from '../test/support/stand-ins/scenario';
import { answerKey, compareAnswers, DEMO_QUERIES, TOLERANCE, type Answers } from './demo-queries';
import { ensurePrometheus, freePort, LocalPrometheus } from '../test/support/harness/prometheus';
import { REPO_ROOT, runBridge, spawnBridge } from '../test/support/harness/run-bridge';

/** The demo's data starts this far back: 25 minutes before the charts' 45, so their first rates have full windows. */
const HISTORY_START_MINUTES = 70;
const CHART_MINUTES = 45;
/** Minutes back of the cycles a 10-minute schedule would have run before the live bridge takes over. */
const HISTORY_CYCLES = [40, 30, 20, 10] as const;

async function waitFor(prometheus: LocalPrometheus, promql: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await prometheus.query(promql, Date.now())).length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no data for ${promql} after ${timeoutMs / 1000}s`);
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

/** What the bridge said about its cycles on stderr: the truth of the lag and of the billed metrics depends on it. */
class BridgeReports {
  windowEnd: number | undefined;
  lagSeconds = NaN;
  metricsRequested = 0;

  read(line: string): void {
    const window = / for (\S+) \.\. (\S+);/.exec(line);
    const queries = /, (\d+) queries in /.exec(line);
    if (!window || !queries) return;
    this.windowEnd = Date.parse(window[2] as string);
    this.lagSeconds = (Date.now() - this.windowEnd) / 1000;
    this.metricsRequested += Number(queries[1]);
  }
}

/** The last 45 minutes as the bridge's schedule would have run them, so its own metrics have a history to draw. */
async function runHistory(config: string, standIn: AwsStandIn, reports: BridgeReports): Promise<void> {
  const started = Date.now();
  for (const minutesAgo of HISTORY_CYCLES) {
    const run = await runBridge(['--once', '--config', config, '--now', String(started - minutesAgo * 60_000)], standIn.env());
    if (run.code !== 0) throw new Error(`bridge --now (${minutesAgo} minutes ago) exited with ${run.code}:\n${run.stderr}`);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('inferwatch:'));
    for (const line of lines) reports.read(line);
    process.stderr.write(lines.map((l) => `  ${l}\n`).join(''));
  }
}

async function main(): Promise<void> {
  const once = process.argv.includes('--once');
  const pngDir = outputDirectory(process.argv);
  ensurePrometheus((line) => process.stdout.write(`${line}\n`));
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-demo-'));
  const scenario = demoScenario(Date.now());
  const standIn = await new AwsStandIn({ ...defaultFleet('neuron_monitor', 3, { shapes: true }), scenario: applyScenario(scenario) }).start();
  const llm = await startLlmFleet(demoLlmFleet(scenario), standIn.env().AWS_REGION ?? 'us-east-2');
  const prometheus = new LocalPrometheus();
  // Prometheus' usual port when it is free (Debian's package may already run one there).
  await prometheus.start((await isFree(9090)) ? 9090 : await freePort());
  const config = join(work, 'inferwatch.yaml');
  // Latency as histograms and summaries both: the p99 panels draw from the histograms where the bridge writes them, the
  // suggested PromQL reads the summaries' own p99, which the stand-in's truth is.
  writeFileSync(config, `# written by npm run demo\naccountId: "123456789012"\nlatency: both\ninitialLookback: ${HISTORY_START_MINUTES - HISTORY_CYCLES[0]}m\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\nstate:\n  type: file\n  directory: ${join(work, 'state')}\n${promqlConfig(llm.promql.url)}`);

  process.stdout.write(`inferwatch demo
  Prometheus          ${prometheus.url}  (remote-write receiver on)
  CloudWatch/SageMaker stand-in ${standIn.url}  (${standIn.fleet.endpoints.length} endpoints of every shape, one inf1 host)
${scenarioLines(scenario)}
${llmLines(llm.fleet, llm.promql.url)}
  bridge config       ${config}
  running: inferwatch bridge --once --config ${config} --now <every 10 minutes of the last 40>, then
           inferwatch bridge ${once ? '--once ' : ''}--config ${config}\n\n`);

  const reports = new BridgeReports();
  await runHistory(config, standIn, reports);
  // Rules only now: their results at the present would make Prometheus refuse the history above as out of bounds.
  prometheus.reload(rulesConfig(join(work, 'inferwatch-rules.yaml')));
  const bridge = spawnBridge([...(once ? ['--once'] : []), '--config', config], standIn.env());
  bridge.child.stderr?.on('data', (d: Buffer) => {
    const lines = d.toString().split('\n').filter((l) => l.startsWith('inferwatch:'));
    for (const line of lines) reports.read(line);
    process.stderr.write(lines.map((l) => `  ${l}\n`).join(''));
  });
  const cleanup = async () => {
    bridge.child.kill('SIGTERM');
    await bridge.done;
    await Promise.all([prometheus.stop(), standIn.stop(), llm.stop()]);
    rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(0)));

  try {
    if (once) {
      const run = await bridge.done;
      if (run.code !== 0) throw new Error(`bridge exited with ${run.code}:\n${run.stderr}`);
    }
    await waitFor(prometheus, 'inferwatch_bridge_lag_seconds', 60_000);
    process.stdout.write(`\nPromQL to try (answers from this Prometheus now, each checked against the stand-in within ${TOLERANCE * 100}%):\n`);
    const wrong: string[] = [];
    for (const { title, promql, truth } of DEMO_QUERIES) {
      const at = Date.now();
      if (reports.windowEnd === undefined) throw new Error('the bridge reported no cycle window');
      const expected = truth({ standIn, at, lastPeriod: reports.windowEnd - 60_000, lagSeconds: reports.lagSeconds, metricsRequested: reports.metricsRequested });
      const actual: Answers = new Map((await prometheus.query(promql, at)).map((sample) => [answerKey(sample.metric), sample.value]));
      const problems = compareAnswers(expected, actual);
      wrong.push(...problems.map((p) => `${title}: ${p}`));
      process.stdout.write(`\n  # ${title}\n  ${promql}\n`);
      for (const [key, value] of [...actual].slice(0, 6)) process.stdout.write(`      ${key}  ${formatValue(value)}  (true: ${formatValue(expected.get(key) ?? NaN)})\n`);
      if (actual.size > 6) process.stdout.write(`      ... ${actual.size - 6} more\n`);
      process.stdout.write(problems.length === 0 ? `      ✓ matches the stand-in\n` : problems.map((p) => `      ✗ ${p}\n`).join(''));
    }
    if (wrong.length > 0) throw new Error(`${wrong.length} answer(s) differ from the stand-in's truth by more than ${TOLERANCE * 100}%:\n  ${wrong.join('\n  ')}`);
    const firing = await waitForAlerts(prometheus.url, [...expectedAlerts(scenario), ...expectedLlmAlerts(llm.fleet)], 90_000);
    process.stdout.write(`\nFiring alerts (the project's rules and alerts, evaluated by this Prometheus):\n${formatAlerts(firing)}`);
    const end = Date.now();
    const charts = await renderCharts(prometheus, allDashboards(), pngDir, end - CHART_MINUTES * 60_000, end, demoCharts());
    // Every LLM panel has data, drawn or not: each one's series are what the PromQL source writes.
    for (const panel of panelsOf(allDashboards()).filter((p) => p.dashboard.uid === 'inferwatch-llm')) await panelSeries(prometheus, panel, end - CHART_MINUTES * 60_000, end, 30);
    if (process.argv.includes('--docs-images')) writeFileSync(join(pngDir, IMAGES_RECORD), `${JSON.stringify(imagesRecord(allDashboards()), null, 2)}\n`);
    process.stdout.write(`\nThe dashboards' main panels, drawn from this Prometheus:\n${charts.map((f) => `  ${f}\n`).join('')}`);
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

/** Where the PNGs go: demo/out/ (ignored), docs/img/ with --docs-images (committed), or --png-dir DIR. */
function outputDirectory(argv: readonly string[]): string {
  if (argv.includes('--docs-images')) return join(REPO_ROOT, 'docs', 'img');
  const pngArg = argv.indexOf('--png-dir');
  if (pngArg < 0) return join(REPO_ROOT, 'demo', 'out');
  const dir = argv[pngArg + 1];
  if (!dir) throw new Error('--png-dir needs a directory');
  return dir;
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
