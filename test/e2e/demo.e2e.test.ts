import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DEMO_QUERIES } from '../support/demo-queries';
import { REPO_ROOT } from '../support/run-bridge';

/** The README's quick start: `npm run demo` must keep working. `--once` runs it to completion. */
test('npm run demo -- --once feeds a local Prometheus and answers the PromQL it suggests', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/support/demo.ts'), '--once'], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  expect(stderr).toMatch(/inferwatch: wrote \d+ samples/);
  expect(stdout).toMatch(/# requests per second by endpoint\n.*\n\s+endpoint_name="churn-predictor"\s+\d+\.\d+/);
  expect(stdout).toMatch(/# busiest NeuronCore\n.*\n\s+instance_id="i-0823d657f57057590"\s+0\.(8[6-9]|90)\d*/);
  // Every suggested query was checked against the stand-in's truth, and passed.
  expect(stdout.match(/✓ matches the stand-in/g)).toHaveLength(DEMO_QUERIES.length);
  expect(stdout).not.toContain('✗');
});
