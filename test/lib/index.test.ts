import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/harness/run-bridge';

/**
 * The library's import path loads no dev-only dependency (tsx, the loader here, and its esbuild aside): cdk-nag, which the
 * repository's own app (bin/) runs, must not be loaded by `import 'inferwatch'`, or a clean install cannot import it.
 */
test('importing the library loads no dev dependency', () => {
  const script = `require(${JSON.stringify(join(REPO_ROOT, 'lib', 'index.ts'))});
const pkg = require(${JSON.stringify(join(REPO_ROOT, 'package.json'))});
const runtime = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
const devOnly = Object.keys(pkg.devDependencies).filter((name) => !runtime.has(name) && name !== 'tsx' && name !== 'esbuild');
const loaded = new Set(Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]));
process.stdout.write(JSON.stringify(devOnly.filter((name) => loaded.has(name))));`;
  const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual([]);
});
