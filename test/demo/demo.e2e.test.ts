import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { demoCharts, pngProblems } from '../../demo/demo-charts';
import { DEMO_QUERIES } from '../../demo/demo-queries';
import { REPO_ROOT } from '../support/harness/run-bridge';

/** The README's quick start: `npm run demo` must keep working. `--once` runs it to completion. */
test('npm run demo -- --once feeds a local Prometheus, answers the PromQL it suggests, fires the incident\'s alerts (the LLM one too) and draws the main panels', async () => {
  // The default output: demo/out/, which git ignores, so the quick start leaves the clone clean (docs/img is not touched).
  const pngDir = join(REPO_ROOT, 'demo', 'out');
  rmSync(pngDir, { recursive: true, force: true });
  const tracked = () => spawnSync('git', ['status', '--porcelain', '--', 'docs/img', 'demo'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout;
  const before = tracked();
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'demo/demo.ts'), '--once'], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  expect(stderr).toMatch(/inferwatch: wrote \d+ samples/);
  expect(stdout).toMatch(/# requests per second by endpoint\n.*\n\s+endpoint_name="churn-predictor"\s+\d+\.\d+/);
  expect(stdout).toMatch(/# busiest NeuronCore\n.*\n\s+instance_id="i-0823d657f57057590"\s+0\.(8[6-9]|90)\d*/);
  // Every suggested query was checked against the stand-in's truth, and passed.
  expect(stdout.match(/✓ matches the stand-in/g)).toHaveLength(DEMO_QUERIES.length);
  expect(stdout).not.toContain('✗');
  // The story: one endpoint idle, and the incident fires the project's own alerts, each shown with its runbook.
  expect(stdout).toMatch(/# requests per second by endpoint\n(.*\n)*?\s+endpoint_name="fleet-002"\s+0\s+\(true: 0\)/);
  expect(stdout).toMatch(/🔥 SageMakerEndpointHigh5xxRatio \(critical\): churn-predictor answers [\d.]+% of requests with 5XX\n\s+runbook: Check the endpoint's log group/);
  expect(stdout).toMatch(/🔥 SageMakerModelLatencyP99High \(warning\): p99 model latency of fleet-001\/AllTraffic is [\d.]+s\n\s+runbook: Compare with OverheadLatency/);
  // The LLM incident: the chat endpoint's time to first token, read from the native histograms the PromQL stand-in serves.
  expect(stdout).toMatch(/🔥 SageMakerLlmTimeToFirstTokenP99High \(warning\): p99 time to first token of llm-chat\/llama-3-8b-chat is [\d.]+s\n\s+runbook: Look at the queue/);
  // Every main panel drawn, each a readable image with lines on it, and the README shows each one.
  expect(readdirSync(pngDir).sort()).toEqual(demoCharts().map((c) => c.file).sort());
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  for (const { file } of demoCharts()) {
    const png = readFileSync(join(pngDir, file));
    expect({ file, bigEnough: statSync(join(pngDir, file)).size > 10_000, problems: pngProblems(png) }).toEqual({ file, bigEnough: true, problems: [] });
    expect(readme).toContain(`](docs/img/${file})`);
  }
  expect(tracked()).toBe(before);
  expect(spawnSync('git', ['check-ignore', '-q', join(pngDir, demoCharts()[0]?.file ?? '')], { cwd: REPO_ROOT }).status).toBe(0);
});
