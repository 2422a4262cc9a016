import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { parseInferwatchConfig } from '../../lib/config/inferwatch-config';
import { buildInferwatch } from '../../lib/inferwatch-app';
import { REPO_ROOT } from '../support/harness/run-bridge';

/** The README's troubleshooting section: each quoted message, in order, exactly as the code prints it today. */
const work = mkdtempSync(join(tmpdir(), 'iw-troubleshooting-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const quiet: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
delete quiet.INFERWATCH_CONFIG;
delete quiet.INFERWATCH_CONFIG_FILE;
delete quiet.INFERWATCH_REMOTE_WRITE_URL;

function quoted(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Troubleshooting\n'), readme.indexOf('\n## ', readme.indexOf('## Troubleshooting\n') + 1));
  return [...section.matchAll(/```text\n([\s\S]*?)\n```/g)].map((m) => m[1] as string);
}

/** What `npx cdk synth` runs (bin/app.ts) prints to stderr, from a directory holding this inferwatch.config.yaml. */
function synthError(config: string): string {
  const dir = mkdtempSync(join(work, 'app-'));
  writeFileSync(join(dir, 'inferwatch.config.yaml'), config);
  const tsx = pathToFileURL(require.resolve('tsx', { paths: [REPO_ROOT] })).href;
  const run = spawnSync(process.execPath, ['--import', tsx, join(REPO_ROOT, 'bin', 'app.ts')], { cwd: dir, encoding: 'utf8', env: { ...quiet, CDK_OUTDIR: join(dir, 'cdk.out') } });
  expect(run.status).toBe(2);
  return run.stderr.trimEnd();
}

function bridgeError(): string {
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'inferwatch.js'), 'bridge', '--once', '--state-dir', join(work, 'state')], { cwd: work, encoding: 'utf8', env: quiet });
  expect(run.status).toBe(2);
  return run.stderr.trimEnd();
}

/** The phase-1 stack's error, which the CDK CLI prints as it is. */
function pendingError(): string {
  const { pending } = buildInferwatch(new App(), parseInferwatchConfig({ monitoring: { account: '111111111111', region: 'eu-west-1' }, workloads: [{ account: '222222222222', region: 'eu-west-1' }] }));
  return String(Annotations.fromStack(pending[0] as never).findError('*', Match.anyValue())[0]?.entry.data);
}

test('the five troubleshooting messages are what the code prints', () => {
  expect(quoted()).toEqual([
    bridgeError(),
    pendingError(),
    synthError('monitoring:\n  account: "111111111111"\n  region: [eu-west-1\nworkloads:\n  - {}\n'),
    synthError('workloads:\n  - account: "222222222222"\n'),
    synthError('monitoring:\n  account: "111111111111"\n  region: us-gov-west-1\n'),
  ]);
}, 120_000);
