import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeSupportNotice, SDK_NOTICE_OPT_OUT } from '../../cli/node-support';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';
import { REPO_ROOT } from '../support/harness/run-bridge';

const CLI = join(REPO_ROOT, 'cli/main.ts');
const MINUTE = 60_000;

/**
 * Runs the CLI through bash, so a pipeline is a real one; a hang is killed (and fails the test) after `timeoutMs`.
 * Asynchronous: the stand-in answers from this process.
 */
async function sh(script: string, env: Record<string, string>, timeoutMs = 60_000) {
  const child = spawn('bash', ['-o', 'pipefail', '-c', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, CLI: `${process.execPath} --import tsx ${CLI}` },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

describe('the CLI at the edges of its process: state directory, closed stdout, Node version', () => {
  const standIn = new AwsStandIn(defaultFleet('neuron_monitor', 1));
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-edges-'));
  const now = String(Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE);
  let env: Record<string, string>;

  beforeAll(async () => {
    await standIn.start();
    env = standIn.env();
  });

  afterAll(async () => {
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test.each([['/proc/iw'], ['/proc/iw/deeper/state'], ['/dev/null/state']])('an unusable state directory (%s) fails at once in one line, exit 2, before any AWS call', async (dir) => {
    const calls = standIn.calls.length;
    const run = await sh(`$CLI bridge --once --remote-write-url http://127.0.0.1:1/api/v1/write --state-dir ${dir} --now ${now}`, env, 20_000);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 2, signal: null });
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^inferwatch: invalid configuration: state directory ${dir} is not usable \\(.+\\): nothing was read from CloudWatch`))]);
    expect(standIn.calls.length).toBe(calls);
  });

  test.each([
    ['bridge --dry-run | head -n 1', `$CLI bridge --dry-run --log-level error --now ${now} | head -n 1`],
    // head -c 0 leaves before the command writes a byte: every write meets a closed pipe.
    ['cost | head -c 0', '$CLI cost --variants 100 --neuron-hosts 10 | head -c 0'],
    ['bridge --dry-run | head -c 0', `$CLI bridge --dry-run --log-level error --now ${now} | head -c 0`],
  ])('%s: a closed stdout ends the command quietly, exit 0', async (_name, script) => {
    const run = await sh(script, env);
    expect({ code: run.code, stderr: run.stderr.split('\n').filter((line) => !line.startsWith('inferwatch: would write')).join('\n').trim() }).toEqual({ code: 0, stderr: '' });
  });

  test('on Node 20 an AWS command prints one line about the SDK\'s Node 22 plan, instead of the SDK\'s notice; none when opted out', async () => {
    expect(Number(process.versions.node.split('.')[0])).toBeLessThan(22);
    const unset = await sh(`$CLI bridge --dry-run --now ${now} > /dev/null`, { ...env, [SDK_NOTICE_OPT_OUT]: '' });
    expect(unset.code).toBe(0);
    expect(unset.stderr).not.toContain('NodeVersionSupportWarning');
    const notes = unset.stderr.split('\n').filter((line) => /node/i.test(line));
    expect(notes).toEqual([expect.stringMatching(/^inferwatch: note: Node v20\.\d+\.\d+ works, but AWS SDK releases after the first week of January 2027 need Node 22 or later/)]);
    const optedOut = await sh(`$CLI bridge --dry-run --now ${now} > /dev/null`, { ...env, [SDK_NOTICE_OPT_OUT]: 'true' });
    expect(optedOut.code).toBe(0);
    expect(optedOut.stderr.split('\n').filter((line) => /node/i.test(line))).toEqual([]);
  });
});

describe('nodeSupportNotice', () => {
  test('a line on Node < 22 for commands that call AWS, none otherwise; the SDK\'s own notice is always turned off', () => {
    const argv = (...args: string[]) => ['node', 'inferwatch', ...args];
    const cases = [
      ['v20.20.2', argv('bridge', '--once'), true],
      ['v20.20.2', argv('doctor', '--workspace', 'ws-1'), true],
      ['v20.20.2', argv('cost', '--discover'), true],
      ['v20.20.2', argv('cost', '--variants', '3'), false],
      ['v20.20.2', argv('config', 'check'), false],
      ['v22.0.0', argv('bridge', '--once'), false],
      ['v24.11.1', argv('doctor'), false],
    ] as const;
    for (const [version, args, prints] of cases) {
      const env: NodeJS.ProcessEnv = {};
      const line = nodeSupportNotice(version, env, args);
      expect({ version, args, prints: line !== undefined }).toEqual({ version, args, prints });
      expect(env[SDK_NOTICE_OPT_OUT]).toBe(version.startsWith('v20') ? 'true' : undefined);
    }
    expect(nodeSupportNotice('v20.20.2', { [SDK_NOTICE_OPT_OUT]: 'true' }, argv('bridge'))).toBeUndefined();
  });
});
