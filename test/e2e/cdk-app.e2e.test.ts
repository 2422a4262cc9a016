import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/harness/run-bridge';

/** `cdk synth` runs bin/app.ts; a config mistake must read like the bridge's: one line, the full key, exit 2. */
test('the CDK app reports a config error in one line naming the full key, and exits 2', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-app-'));
  try {
    const config = join(work, 'inferwatch.config.yaml');
    writeFileSync(config, 'workloads:\n  - region: eu-west-1\n  - region: eu-west-2\n    bridge:\n      config:\n        settle: -5\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bin/app.ts')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config }), CDK_OUTDIR: join(work, 'cdk.out') },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('inferwatch: invalid configuration: config key "workloads[1].bridge.config.settle": must not be negative\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the CDK app refuses a monitoring region without AMP in one line naming the service, and exits 2', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-app-'));
  try {
    const config = join(work, 'inferwatch.config.yaml');
    writeFileSync(config, 'monitoring:\n  account: "111111111111"\n  region: cn-north-1\n  grafana:\n    enabled: false\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bin/app.ts')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config }), CDK_OUTDIR: join(work, 'cdk.out') },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      'inferwatch: invalid configuration: config key "monitoring.region": Amazon Managed Service for Prometheus is not offered in monitoring.region "cn-north-1" (partition aws-cn); choose a region where it is (lib/config/service-regions.yaml lists them)\n',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
