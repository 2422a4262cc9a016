import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPO_ROOT } from '../support/harness/run-bridge';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const quiet = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

/** The README's `npx inferwatch …` from a clone after `npm ci`: no build step. */
test('npx inferwatch runs from a clone without a build', () => {
  const run = spawnSync('npx', ['--no-install', 'inferwatch', 'bridge', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', env: quiet });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('Usage: inferwatch bridge [options]');
  const version = spawnSync('npx', ['--no-install', 'inferwatch', '--version'], { cwd: REPO_ROOT, encoding: 'utf8', env: quiet });
  expect(version.stdout).toBe(`${VERSION}\n`);
});

describe('the packed package', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-pack-'));
  let tarball: string;
  let installed: string;

  beforeAll(() => {
    // npm pack runs prepack (the build): the tarball carries dist/, the Lambda bundles and the data files, no sources.
    execFileSync('npm', ['pack', '--pack-destination', work, REPO_ROOT], { cwd: work, env: quiet, stdio: 'ignore' });
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) as string);
    // An installed copy next to the repository's node_modules: the dependencies without a registry.
    const app = join(work, 'app');
    installed = join(app, 'node_modules', 'inferwatch');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
    for (const dep of readdirSync(join(REPO_ROOT, 'node_modules'))) {
      if (dep !== '.bin' && dep !== 'inferwatch') symlinkSync(join(REPO_ROOT, 'node_modules', dep), join(app, 'node_modules', dep));
    }
  }, 120_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('carries the build, the Lambda bundles and the catalog, and no TypeScript sources', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/bin/inferwatch.js',
        'package/dist/lib/index.js',
        'package/dist/lib/index.d.ts',
        'package/dist/cli/main.js',
        'package/dist/lambda/bridge/catalog/default-catalog.yaml',
        'package/dist/lambda-bundles/bridge/index.js',
        'package/dist/lambda-bundles/bridge/default-catalog.yaml',
        'package/dist/lambda-bundles/grafana-provisioner/index.js',
        'package/dist/lib/prometheus-workspace/inferwatch.rules.yaml',
        'package/dist/lib/prometheus-workspace/inferwatch.alerts.yaml',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  test('npx ./inferwatch-*.tgz bridge --help, its dependencies from the npm cache', () => {
    // A fresh directory name each run: npx caches installs by spec.
    const dir = mkdtempSync(join(work, 'npx-'));
    copyFileSync(tarball, join(dir, basename(tarball)));
    // --prefer-offline: the cache npm ci filled serves every tarball; only metadata it lacks is asked of the registry.
    const run = spawnSync('npx', ['--yes', '--prefer-offline', `./${basename(tarball)}`, 'bridge', '--help'], { cwd: dir, encoding: 'utf8', env: quiet, timeout: 90_000 });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toContain('Usage: inferwatch bridge [options]');
  }, 120_000);

  test('the installed command runs the compiled CLI', () => {
    expect(existsSync(join(installed, 'cli', 'main.ts'))).toBe(false);
    const run = spawnSync(process.execPath, [join(installed, 'bin', 'inferwatch.js'), 'bridge', '--now', '0'], { encoding: 'utf8', env: quiet });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('expected an ISO 8601 time');
  });

  test('a CDK app of its own adds a CloudWatchBridge from the package: typed, synthesized, cdk-nag clean', () => {
    const app = join(work, 'app');
    writeFileSync(
      join(app, 'app.ts'),
      `import { App, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CloudWatchBridge, type CloudWatchBridgeProps, PrometheusWorkspace } from 'inferwatch';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Mine', { env: { account: '111111111111', region: 'eu-west-1' } });
const workspace = new PrometheusWorkspace(stack, 'Prometheus', { alias: 'mine', logRetention: logs.RetentionDays.ONE_MONTH });
const props: CloudWatchBridgeProps = { workspaceId: workspace.workspaceId, workspaceArn: workspace.workspaceArn, logRetention: logs.RetentionDays.ONE_MONTH, bridgeConfig: { period: 60 } };
new CloudWatchBridge(stack, 'Bridge', props);
// cdk-nag 3 checks as validation plugins: any unacknowledged finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
app.synth();
`,
    );
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: true, noEmit: true, types: ['node'] }, files: ['app.ts'] }));
    const typecheck = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8' });
    expect(typecheck.stdout + typecheck.stderr).toBe('');
    const synth = spawnSync(process.execPath, ['--import', 'tsx', join(app, 'app.ts'), join(app, 'cdk.out')], { cwd: app, encoding: 'utf8', env: quiet });
    expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 0, stderr: '' });
    const template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Mine.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Handler?: string } }> };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler');
    expect(functions.length).toBeGreaterThan(0);
    // The bridge's code is the bundle built into the package, with its catalog and its config beside it.
    const assets = readdirSync(join(app, 'cdk.out')).filter((d) => d.startsWith('asset.'));
    const bridgeAssets = assets.filter((d) => existsSync(join(app, 'cdk.out', d, 'index.js')) && existsSync(join(app, 'cdk.out', d, 'default-catalog.yaml')));
    expect(bridgeAssets).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(app, 'cdk.out', bridgeAssets[0] as string, 'bridge-config.json'), 'utf8'))).toEqual({ period: 60 });
  }, 120_000);
});
