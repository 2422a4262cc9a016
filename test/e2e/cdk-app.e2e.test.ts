import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** The real CDK CLI, as a user runs it from the clone: `npx cdk synth …` reads cdk.json's app. */
function cdkSynth(args: string[], outdir: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', ...args, '-o', outdir, '-q', '--no-notices', '--no-version-reporting'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    timeout: 240_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('rollout-config errors under cdk synth', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-synth-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const SYNTAX = 'monitoring:\n  account: "111111111111"\n  region: [eu-west-1\nworkloads:\n  - {}\n';
  const SYNTAX_LINE = (file: string): string =>
    `inferwatch: invalid configuration: YAML syntax error in ${file} line 4, column 1 (after key "monitoring.region"): Flow sequence in block collection must be sufficiently indented and end with a ]\n`;

  test('a YAML syntax error: the app prints one line naming the file, line and key, and exits 2', () => {
    const config = join(work, 'syntax.yaml');
    writeFileSync(config, SYNTAX);
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bin/app.ts')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config }), CDK_OUTDIR: join(work, 'direct.out') },
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 2, stderr: SYNTAX_LINE(config) });
  });

  test.each([
    ['a YAML syntax error', SYNTAX, SYNTAX_LINE],
    ['a schema error', 'workloads:\n  - bridge:\n      shards: 0\n', () => 'inferwatch: invalid configuration: config key "workloads[0].bridge.shards": Too small: expected number to be >=1\n'],
    ['a missing file', undefined, (file: string) => `inferwatch: invalid configuration: cannot read config file ${file}: ENOENT: no such file or directory, open '${file}'\n`],
  ])('%s under `cdk synth`: that one line, no stack trace, the app exits 2', (_name, text, expected) => {
    const config = join(work, `${_name.replace(/\W+/g, '-')}.yaml`);
    if (text !== undefined) writeFileSync(config, text);
    const run = cdkSynth(['-c', `config=${config}`], join(work, 'cdk.out'));
    // The CDK CLI exits 1 whatever its app's code, and names the app's: the 2 is bin/app.ts's, as `inferwatch config check` gives.
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`${expected(config)}npx tsx bin/app.ts: Subprocess exited with error 2\n`);
  }, 60_000);
});

/**
 * A rollout to other accounts starts without the workspace id: phase 1 deploys the monitoring stack alone, phase 2
 * records its WorkspaceId output and deploys the workloads. Both through the real CLI and cdk.json.
 */
test('two-phase rollout: the monitoring stack synthesizes alone without monitoring.workspaceId; the workloads say what to set, then synthesize with it', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-phases-'));
  try {
    const phase1 = 'monitoring:\n  account: "111111111111"\n  region: eu-west-1\nworkloads:\n  - {}\n  - account: "222222222222"\n    region: eu-west-1\n';
    const config = join(work, 'inferwatch.config.yaml');
    writeFileSync(config, phase1);

    const monitoringOnly = cdkSynth(['Inferwatch-Monitoring', '-c', `config=${config}`], join(work, 'phase1.out'));
    expect(monitoringOnly.status).toBe(0);
    const monitoring = JSON.parse(readFileSync(join(work, 'phase1.out', 'Inferwatch-Monitoring.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>; Outputs: Record<string, unknown> };
    // Phase 1 deploys what phase 2 needs: the workspace, its id as an output, and the writer role the other account assumes.
    expect(Object.keys(monitoring.Outputs)).toEqual(expect.arrayContaining(['WorkspaceId', 'WorkspaceFingerprint']));
    const writer = Object.values(monitoring.Resources).find((r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === 'inferwatch-remote-writer');
    expect(JSON.stringify(writer?.Properties.AssumeRolePolicyDocument)).toContain('222222222222');

    const all = cdkSynth(['-c', `config=${config}`], join(work, 'phase1-all.out'));
    expect(all.status).toBe(1);
    expect(all.stdout + all.stderr).toContain(
      'config key "monitoring.workspaceId" is not set, and this workload (222222222222/eu-west-1) is outside the monitoring account and region: phase 1, deploy Inferwatch-Monitoring alone (npx cdk deploy Inferwatch-Monitoring); phase 2, set monitoring.workspaceId',
    );

    writeFileSync(config, phase1.replace('  region: eu-west-1\nworkloads', '  region: eu-west-1\n  workspaceId: ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789\n  workspaceFingerprint: kms=customer-managed\nworkloads'));
    const phase2 = cdkSynth(['-c', `config=${config}`], join(work, 'phase2.out'));
    expect({ status: phase2.status, stderr: phase2.stderr.split('\n').filter((l) => /error/i.test(l)) }).toEqual({ status: 0, stderr: [] });
    const workload = readFileSync(join(work, 'phase2.out', 'Inferwatch-Workload-222222222222-eu-west-1.template.json'), 'utf8');
    expect(workload).toContain('ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789');
    expect(workload).toContain(':iam::111111111111:role/inferwatch-remote-writer');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 480_000);
