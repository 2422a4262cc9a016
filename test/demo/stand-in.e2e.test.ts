import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { STAND_IN_WORKSPACE } from '../../demo/stand-in';
import { REPO_ROOT, runCli } from '../support/harness/run-bridge';

/** `npm run stand-in`, as a newcomer uses it: start it, export what it prints, run the commands it suggests. */
test('npm run stand-in starts the AWS stand-in alone, and the bridge, doctor and cost it suggests work against it', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'demo/stand-in.ts')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('Ctrl-C stops everything.')) resolve();
      });
      void closed.then((code) => reject(new Error(`the stand-in exited with ${code}: ${stderr}`)));
    });
    const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['AWS_ENDPOINT_URL_CLOUDWATCH', 'AWS_ENDPOINT_URL_SAGEMAKER', 'AWS_ENDPOINT_URL_AMP', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']));
    // The suggested command lines, run as printed (npx inferwatch is the CLI run here).
    const suggested = [...stdout.matchAll(/^npx inferwatch (.*)$/gm)].map((m) => (m[1] as string).replace(/ \| head.*$/, '').split(' '));
    expect(suggested.map((args) => args[0])).toEqual(['bridge', 'bridge', 'doctor', 'cost']);
    const runs = [];
    for (const args of suggested) runs.push(await runCli(args, env));
    expect(runs.map((r) => ({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }))).toEqual(runs.map(() => ({ code: 0, stderr: '' })));
    expect(runs[0]?.stdout).toContain('# TYPE aws_sagemaker_invocations_total counter');
    expect(runs[1]?.stderr).toMatch(/inferwatch: wrote \d+ samples/);
    expect(runs[2]?.stdout).toContain(`✓ workspace ${STAND_IN_WORKSPACE}: ACTIVE`);
    expect(runs[2]?.stdout).not.toContain('✗');
    expect(runs[3]?.stdout).toMatch(/discovered \d+ CloudWatch metrics/);
    const prometheus = /stored in the Prometheus at (\S+)/.exec(stdout)?.[1];
    const answer = (await (await fetch(`${prometheus}/api/v1/query?query=count(aws_sagemaker_invocations_total)`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
    expect(Number(answer.data.result[0]?.value[1])).toBeGreaterThan(0);
  } finally {
    child.kill('SIGINT');
  }
  expect(await closed).toBe(0);
});
