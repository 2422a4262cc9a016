import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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
  const app = join(work, 'app');
  let tarball: string;
  let installed: string;

  beforeAll(() => {
    // npm pack runs prepack (the build): the tarball carries dist/, the Lambda bundles and the data files, no sources.
    execFileSync('npm', ['pack', '--pack-destination', work, REPO_ROOT], { cwd: work, env: quiet, stdio: 'ignore' });
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) as string);
    // A user's empty app: the tarball and whatever it declares, installed by npm from the registry (the npm cache
    // answers for what it holds), nothing linked from the repository. The peers come with it (npm 7 and later).
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-cdk-app', version: '1.0.0', private: true }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, env: quiet, stdio: 'ignore', timeout: 400_000 });
    installed = join(app, 'node_modules', 'inferwatch');
  }, 480_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('installs on its own: a real copy, its peers beside it, no dev dependency and nothing from the repository', () => {
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    for (const dir of readdirSync(join(app, 'node_modules'))) expect(realpathSync(join(app, 'node_modules', dir)).startsWith(REPO_ROOT)).toBe(false);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { private?: boolean; peerDependencies: Record<string, string> };
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(existsSync(join(app, 'node_modules', 'aws-cdk-lib', 'package.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'constructs', 'package.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'cdk-nag'))).toBe(false);
  });

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
        'package/dist/lib/config/service-regions.yaml',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // The repository's own CDK app (bin/app.ts, which runs cdk-nag) is not part of the library.
    expect(files.filter((f) => f.startsWith('package/dist/bin/'))).toEqual([]);
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
    const run = spawnSync(process.execPath, [join(app, 'node_modules', '.bin', 'inferwatch'), 'bridge', '--now', '0'], { encoding: 'utf8', env: quiet });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('expected an ISO 8601 time');
  });

  test('every export of the repository\'s lib/index.ts is exported by the installed package', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the sources' export list, to compare
    const expected = Object.keys(require('../../lib/index') as object).sort();
    const run = spawnSync(process.execPath, ['-e', "process.stdout.write(JSON.stringify(Object.keys(require('inferwatch')).sort()))"], { cwd: app, encoding: 'utf8', env: quiet });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(30);
  });

  test('a CDK app of its own, type-checked, builds every construct from the package and the whole rollout, and synthesizes', () => {
    writeFileSync(join(app, 'app.ts'), APP);
    // The repository's compiler, as a tool only: the app's imports resolve in the app's own node_modules.
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'commonjs', target: 'ES2022', skipLibCheck: true, types: [], outDir: 'out' }, files: ['app.ts'] }));
    const compile = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8' });
    expect(compile.stdout + compile.stderr).toBe('');
    const synth = spawnSync(process.execPath, [join(app, 'out', 'app.js')], { cwd: app, encoding: 'utf8', env: quiet, timeout: 240_000 });
    expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 0, stderr: '' });
    const out = join(app, 'cdk.out');
    expect(readdirSync(out).filter((f) => f.endsWith('.template.json')).sort()).toEqual([
      'Inferwatch-Monitoring.template.json',
      'Inferwatch-Workload-222222222222-eu-west-1.template.json',
      'Inferwatch-Workload.template.json',
      'Mine.template.json',
    ]);
    const mine = JSON.parse(readFileSync(join(out, 'Mine.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    const types = new Set(Object.values(mine.Resources).map((r) => r.Type));
    for (const type of ['AWS::APS::Workspace', 'AWS::Grafana::Workspace', 'AWS::Lambda::Function', 'AWS::SSM::Association', 'AWS::SNS::Topic', 'AWS::Scheduler::Schedule']) expect(types).toContain(type);
    // The bridge's code is the bundle built into the package, with its catalog and its config beside it.
    const assets = readdirSync(out).filter((d) => d.startsWith('asset.'));
    const bridgeAssets = assets.filter((d) => existsSync(join(out, d, 'index.js')) && existsSync(join(out, d, 'default-catalog.yaml')));
    expect(bridgeAssets.length).toBeGreaterThan(0);
    expect(bridgeAssets.map((d) => JSON.parse(readFileSync(join(out, d, 'bridge-config.json'), 'utf8')) as unknown)).toContainEqual({ period: 60 });
  }, 300_000);
});

/** A user's app: each construct the package exports, then the whole rollout from a config object, in one assembly. */
const APP = `import { App, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import {
  AlertTopic,
  allDashboards,
  buildInferwatch,
  CloudWatchBridge,
  type CloudWatchBridgeProps,
  GrafanaWorkspace,
  NeuronCollector,
  parseInferwatchConfig,
  PrometheusWorkspace,
} from 'inferwatch';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Mine', { env: { account: '111111111111', region: 'eu-west-1' } });
const workspace = new PrometheusWorkspace(stack, 'Prometheus', { alias: 'mine', logRetention: logs.RetentionDays.ONE_MONTH });
const props: CloudWatchBridgeProps = { workspaceId: workspace.workspaceId, workspaceArn: workspace.workspaceArn, logRetention: logs.RetentionDays.ONE_MONTH, bridgeConfig: { period: 60 } };
new CloudWatchBridge(stack, 'Bridge', props);
new GrafanaWorkspace(stack, 'Grafana', { prometheus: workspace, dashboards: allDashboards() });
new NeuronCollector(stack, 'Neuron', { remoteWriteUrl: workspace.remoteWriteUrl, workspaceRegion: 'eu-west-1', workspaceArn: workspace.workspaceArn });
new AlertTopic(stack, 'Alerts', { emails: ['ops@example.com'] });

buildInferwatch(
  app,
  parseInferwatchConfig({
    monitoring: { account: '111111111111', region: 'eu-west-1', workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789', workspaceFingerprint: 'kms=customer-managed' },
    workloads: [{}, { account: '222222222222', region: 'eu-west-1' }],
  }),
);
app.synth();
`;
