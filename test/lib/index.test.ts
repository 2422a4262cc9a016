import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..');

/**
 * The constructs and the CDK app load in a fresh process (as `cdk synth` does) without any AWS SDK client: an SDK
 * client in `lib/` means a construct reached into `lambda/` (or `cli/`), where only `contract/` is allowed.
 */
test('loading lib/index and the app loads no @aws-sdk/client-* module', () => {
  const script = [
    `require(${JSON.stringify(join(REPO_ROOT, 'lib', 'index.ts'))});`,
    `require(${JSON.stringify(join(REPO_ROOT, 'lib', 'inferwatch-app.ts'))});`,
    `const loaded = Object.keys(require.cache).filter((path) => /[\\\\/]@aws-sdk[\\\\/]client-/.test(path));`,
    `process.stdout.write(JSON.stringify([...new Set(loaded.map((path) => /@aws-sdk[\\\\/](client-[^\\\\/]+)/.exec(path)[1]))]));`,
  ].join('\n');
  const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual([]);
});
