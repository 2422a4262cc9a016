import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../../contract/errors';
import { loadInferwatchConfig, parseInferwatchConfig, type InferwatchConfig } from '../../lib/config/inferwatch-config';
import { buildInferwatch } from '../../lib/inferwatch-app';
import { addNagChecks } from '../../bin/nag-checks';

/**
 * cfn-lint (PyPI) over every synthesized template, linted for the region it deploys to: the regions the example
 * config names, and a GovCloud region where the stacks are allowed (China is refused at synth, tested below as a
 * refusal). Errors fail; so do warnings, unless `.cfnlintrc.yaml` acknowledges them with a reason.
 */
const REPO_ROOT = join(__dirname, '..', '..');
const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint';

function cfnLintVersion(): string | undefined {
  const run = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

const version = cfnLintVersion();
if (version === undefined) {
  if (process.env.CI === 'true') throw new Error(`${CFN_LINT} is not installed, and CI=true: install it (pip install cfn-lint, pinned in .ci/run)`);
  process.stderr.write(`\n*** SKIPPED: cfn-lint is not installed, so no template was linted. pip install cfn-lint to run test/e2e/cfn-lint.e2e.test.ts ***\n\n`);
}
const lintTest = version === undefined ? test.skip : test;

interface Match {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Location: { readonly Path?: ReadonlyArray<string | number> };
  readonly Filename: string;
}

/** Synthesizes the app for `config` and lints each stack's template for the stack's region; returns what is not fine. */
function lint(config: InferwatchConfig): { regions: string[]; findings: string[] } {
  const outdir = mkdtempSync(join(tmpdir(), 'inferwatch-cfn-lint-'));
  try {
    const app = addNagChecks(new App({ outdir }));
    buildInferwatch(app, config);
    const stacks = app.synth().stacks;
    const findings: string[] = [];
    const regions = new Set<string>();
    for (const stack of stacks) {
      const region = stack.environment.region;
      regions.add(region);
      // --config-file: the acknowledged warnings and their reasons, from the repository root whatever the cwd.
      const run = spawnSync(CFN_LINT, ['--config-file', join(REPO_ROOT, '.cfnlintrc.yaml'), '--format', 'json', '--regions', region, '--', stack.templateFullPath], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (run.error) throw run.error;
      const matches = (run.stdout.trim() ? JSON.parse(run.stdout) : []) as Match[];
      for (const m of matches.filter((m) => m.Level === 'Error' || m.Level === 'Warning')) {
        findings.push(`${stack.stackName} (${region}) ${m.Level} ${m.Rule.Id} at ${(m.Location.Path ?? []).join('/')}: ${m.Message}`);
      }
      // Exit 2 is an error, 4 a warning (bit flags); anything above 31 is cfn-lint itself failing.
      if (run.status === null || run.status > 31) throw new Error(`cfn-lint failed on ${stack.stackName}: ${run.stderr}`);
    }
    return { regions: [...regions].sort(), findings };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe(`cfn-lint ${version ?? '(not installed)'} on every synthesized template`, () => {
  lintTest('the example config: every region it names, no error, no unacknowledged warning', () => {
    const config = loadInferwatchConfig(join(REPO_ROOT, 'inferwatch.config.example.yaml'));
    const named = [config.monitoring.region, ...config.workloads.map((w) => w.region)].filter((r): r is string => r !== undefined);
    const { regions, findings } = lint(config);
    expect(regions).toEqual([...new Set(named)].sort());
    expect(findings).toEqual([]);
  });

  lintTest('GovCloud (aws-us-gov), where AMP is offered and AMG is not: with Grafana off, no error, no unacknowledged warning', () => {
    const config = parseInferwatchConfig({
      monitoring: { account: '111111111111', region: 'us-gov-west-1', grafana: { enabled: false }, workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789', workspaceFingerprint: 'kms=customer-managed' },
      workloads: [{}, { region: 'us-gov-east-1' }],
    });
    const { regions, findings } = lint(config);
    expect(regions).toEqual(['us-gov-east-1', 'us-gov-west-1']);
    expect(findings).toEqual([]);
  });

  test('China (aws-cn) is refused at synth, before any template exists: AMP is offered in no China region', () => {
    for (const region of ['cn-north-1', 'cn-northwest-1']) {
      const config = parseInferwatchConfig({ monitoring: { account: '111111111111', region, grafana: { enabled: false } } });
      expect(() => buildInferwatch(new App(), config)).toThrow(ConfigError);
      expect(() => buildInferwatch(new App(), config)).toThrow(/Amazon Managed Service for Prometheus is not offered in monitoring.region ".*" \(partition aws-cn\)/);
    }
  });
});
